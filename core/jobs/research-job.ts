import type { Job } from 'agenda';
import type { Logger } from '../observability/logger.js';
import { metrics } from '../observability/metrics.js';
import { ENGINE_CHECKPOINTS } from '../research/checkpoints.js';
import { ResearchError, type ResearchEngine, type ResearchResult } from '../research/contract.js';
import type { Redis } from '../storage/index.js';
import { PermanentDeliveryError, type DeliveryResolver } from '../tasks/delivery.js';
import { taskOf as toTask, type FinalOutcome, type TaskDoc, type TaskStore } from '../tasks/store.js';
import type { Task } from '../tasks/types.js';
import { RetryLater, type ResearchJobData } from './agenda.js';
import { ProgressCoalescer, progressChannel } from './progress.js';
import type { JobsEnv, JobsTuning, LedgerPort } from './types.js';

// The research job as a state machine over the task document: whatever state a crash left the task in,
// running the handler again moves it forward (run → store result → settle credits → deliver) and every
// step that must happen once is guarded by a conditional update in the TaskStore.

export type RunnerDeps = {
  store: TaskStore;
  ledger: LedgerPort;
  engine: ResearchEngine;
  deliveries: DeliveryResolver;
  redis: Redis;
  logger: Logger;
  env: JobsEnv;
  tuning: JobsTuning;
};

export type AbortReason = 'cancel' | 'shutdown';

const GENERIC_FAILURE = 'the research service ran into an unexpected problem';

function resultOf(task: Task): ResearchResult | undefined {
  if (!task.report || !task.usage) return undefined;
  return { report: task.report.json, markdown: task.report.markdown, usage: task.usage };
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function failureSentence(reason: string, cost: number, attempts?: number): string {
  const tries = attempts && attempts > 1 ? ` after ${attempts} attempts` : '';
  const sentence = reason.replace(/[.\s]+$/, '');
  return `The research could not be finished${tries}: ${sentence}. Your ${cost} credits were returned; nothing was charged. Try again in a few minutes.`;
}

export function cancelSentence(cost: number): string {
  return `The research was cancelled. Your ${cost} credits were returned; nothing was charged.`;
}

export class ResearchRunner {
  /** Abort controllers of the jobs running in this process, by task id. */
  readonly running = new Map<string, AbortController>();

  constructor(private readonly deps: RunnerDeps) {}

  /** Publishes the task's live state for live views; fire and forget (a Redis outage must not stall the job). */
  publish(task: Task): void {
    this.deps.redis.publish(progressChannel(task.id, this.deps.tuning.progressPrefix), JSON.stringify(task)).catch((err: unknown) => {
      this.deps.logger.debug({ taskId: task.id, err: messageOf(err) }, 'progress publish failed');
    });
  }

  coalescer(task: Task): ProgressCoalescer {
    return new ProgressCoalescer(async (t) => {
      const delivery = this.deps.deliveries(t);
      if (!delivery) return;
      try {
        await delivery.progress(t);
      } catch (err) {
        if (err instanceof PermanentDeliveryError) await this.deps.store.recordDeliveryProblem(task.id, err.message);
        else this.deps.logger.warn({ taskId: task.id, err: messageOf(err) }, 'progress delivery failed');
      }
    }, this.deps.tuning.progressIntervalMs);
  }

  /** Agenda's handler for one research job. */
  async handle(job: Job<ResearchJobData>): Promise<void> {
    const { taskId } = job.attrs.data;
    const { store, logger } = this.deps;
    const log = logger.child({ taskId });
    const doc = await store.getDoc(taskId);
    if (!doc) {
      log.warn('research job for a task that does not exist; dropping it');
      return;
    }
    const progress = this.coalescer(toTask(doc));
    if ((doc.status === 'queued' || doc.status === 'running') && !doc.cancelRequested) {
      const started = await store.markStarted(taskId);
      if (started) await this.run(job, started, progress, log);
    } else if (doc.status === 'queued' || doc.status === 'running') {
      await this.finishCancelled(taskId);
    }
    const after = await store.getDoc(taskId);
    if (after?.cancelRequested && (after.status === 'queued' || after.status === 'running')) await this.finishCancelled(taskId);
    await this.settle(taskId, progress);
  }

  private async run(job: Job<ResearchJobData>, doc: TaskDoc, progress: ProgressCoalescer, log: Logger): Promise<void> {
    const { store, engine, env, tuning } = this.deps;
    const taskId = doc.id;
    const startedTask = await store.addCheckpoint(taskId, 'started');
    if (startedTask) {
      const queued = startedTask.checkpoints.find((c) => c.id === 'queued');
      if (queued) metrics.pickupSeconds.observe((Date.now() - queued.at.getTime()) / 1000);
      this.publish(startedTask);
      progress.offer(startedTask);
    }
    const abort = new AbortController();
    this.running.set(taskId, abort);
    const heartbeat = setInterval(() => {
      job.touch().catch((err: unknown) => log.warn({ err: messageOf(err) }, 'job heartbeat failed'));
    }, Math.max(200, Math.floor(env.JOB_LOCK_LIFETIME_MS / 3)));
    const cancelPoll = setInterval(() => {
      store
        .isCancelRequested(taskId)
        .then((yes) => yes && abort.abort('cancel' satisfies AbortReason))
        .catch(() => undefined);
    }, tuning.cancelPollMs);
    try {
      const result = await engine.run(
        { runId: taskId, idea: doc.idea, depth: doc.depth },
        {
          signal: abort.signal,
          onCheckpoint: async (id, at) => {
            const t = await store.addCheckpoint(taskId, id, at);
            if (t) {
              this.publish(t);
              progress.offer(t);
            }
          },
        },
      );
      // A run resumed after a crash does not report the nodes it finished before; record them now.
      for (const id of ENGINE_CHECKPOINTS) await store.addCheckpoint(taskId, id);
      const stored = await store.storeResult(taskId, result);
      if (stored) metrics.researches.inc({ status: 'succeeded', depth: doc.depth });
    } catch (err) {
      const reason = abort.signal.aborted ? (abort.signal.reason as AbortReason) : undefined;
      if (reason === 'shutdown') {
        progress.close();
        throw new RetryLater(0, 'worker shut down before the research finished');
      }
      if (reason === 'cancel' || (await store.isCancelRequested(taskId))) return;
      await this.recordFailure(doc, err, log);
    } finally {
      clearInterval(heartbeat);
      clearInterval(cancelPoll);
      this.running.delete(taskId);
    }
  }

  /** Transient failures are retried with exponential backoff up to JOB_MAX_ATTEMPTS; the rest end the task. */
  private async recordFailure(doc: TaskDoc, err: unknown, log: Logger): Promise<void> {
    const { store, env, tuning } = this.deps;
    const permanent = err instanceof ResearchError && !err.retryable;
    const detail = err instanceof ResearchError ? err.detail : messageOf(err);
    const userReason = err instanceof ResearchError ? err.userMessage : GENERIC_FAILURE;
    const failures = await store.recordFailure(doc.id, detail);
    if (!permanent && failures < env.JOB_MAX_ATTEMPTS) {
      const delayMs = tuning.retryBaseMs * 2 ** (failures - 1);
      log.warn({ err: detail, failures, delayMs }, 'research failed; retrying');
      throw new RetryLater(delayMs, detail);
    }
    log.error({ err: detail, failures, permanent }, 'research failed for good');
    const outcome: FinalOutcome = {
      status: 'failed',
      error: { userMessage: failureSentence(userReason, doc.cost, permanent ? undefined : failures), detail },
      refunded: doc.cost,
    };
    if (await store.finish(doc.id, outcome)) metrics.researches.inc({ status: 'failed', depth: doc.depth });
  }

  async finishCancelled(taskId: string): Promise<void> {
    const doc = await this.deps.store.getDoc(taskId);
    if (!doc) return;
    const by = doc.cancelRequested?.by ?? 'unknown';
    const outcome: FinalOutcome = {
      status: 'cancelled',
      error: { userMessage: cancelSentence(doc.cost), detail: `cancelled by ${by}` },
      refunded: doc.cost,
    };
    if (await this.deps.store.finish(taskId, outcome)) metrics.researches.inc({ status: 'cancelled', depth: doc.depth });
  }

  /**
   * Moves a finished task to fully settled: credits captured (success) or released (failure, cancel), then
   * the final message delivered once. Safe to call any number of times from any process.
   */
  async settle(taskId: string, progress?: ProgressCoalescer): Promise<void> {
    const { store, ledger, tuning } = this.deps;
    let doc = await store.getDoc(taskId);
    if (!doc || doc.status === 'queued' || doc.status === 'running') return;
    if (!doc.credits?.captured && !doc.credits?.released) {
      try {
        if (doc.status === 'succeeded') await ledger.capture({ taskId, actor: `worker:${tuning.workerName}` });
        else await ledger.release({ taskId, actor: `worker:${tuning.workerName}`, reason: doc.status === 'cancelled' ? 'cancelled' : 'research failed' });
      } catch (err) {
        throw new RetryLater(tuning.retryBaseMs, `credit settlement failed: ${messageOf(err)}`);
      }
      await store.markCredits(taskId, doc.status === 'succeeded' ? 'captured' : 'released');
    }
    if (doc.deliveredAt) return;
    const lease = Math.max(2 * this.deps.env.JOB_LOCK_LIFETIME_MS, 1000);
    const claimed = await store.claimDelivery(taskId, tuning.workerName, lease);
    if (!claimed) {
      doc = await store.getDoc(taskId);
      if (doc?.deliveredAt) return;
      // Another worker is delivering (or died while doing so): look again when its claim has expired.
      throw new RetryLater(lease, 'final delivery claimed by another worker');
    }
    await this.deliverFinal(claimed, progress ?? this.coalescer(toTask(claimed)));
  }

  private async deliverFinal(doc: TaskDoc, progress: ProgressCoalescer): Promise<void> {
    const { store, logger } = this.deps;
    const task = toTask(doc);
    const delivery = this.deps.deliveries(task);
    let problem: string | undefined;
    if (!delivery) {
      problem = `no ${task.origin.platform} delivery in this process`;
    } else if (task.status === 'succeeded') {
      const result = resultOf(task);
      problem = result ? await this.withRetries(task, () => delivery.succeeded(task, result)) : 'the stored task has no report';
    } else {
      await progress.flush(task);
      problem = await this.withRetries(task, () => delivery.failed(task));
    }
    if (problem) logger.warn({ taskId: task.id, problem }, 'final delivery failed for good');
    if (task.status === 'succeeded' && !problem) await store.addCheckpoint(task.id, 'delivered');
    const final = await store.markDelivered(task.id, problem);
    if (!final) return;
    const finalTask = toTask(final);
    this.publish(finalTask);
    if (task.status === 'succeeded' && delivery) await progress.flush(finalTask);
    else progress.close();
    if (task.status === 'succeeded') this.deps.logger.info({ taskId: task.id }, 'research delivered');
  }

  /** Runs a delivery call, retrying transient errors; returns why it failed for good, if it did. */
  private async withRetries(task: Task, call: () => Promise<void>): Promise<string | undefined> {
    const attempts = this.deps.tuning.deliveryAttempts;
    for (let i = 1; ; i++) {
      try {
        await call();
        return undefined;
      } catch (err) {
        if (err instanceof PermanentDeliveryError) return err.message;
        if (i >= attempts) return `gave up after ${attempts} attempts: ${messageOf(err)}`;
        this.deps.logger.warn({ taskId: task.id, err: messageOf(err), attempt: i }, 'delivery failed; retrying');
        await new Promise((r) => setTimeout(r, Math.min(200 * 2 ** i, 5000)));
      }
    }
  }
}
