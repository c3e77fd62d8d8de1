import { randomUUID } from 'node:crypto';
import type { Job } from 'agenda';
import type { Logger } from '../observability/logger.js';
import { metrics } from '../observability/metrics.js';
import { ENGINE_CHECKPOINTS, type CheckpointId } from '../research/checkpoints.js';
import {
  ResearchError,
  needsAdmin,
  type ProviderFailure,
  type ResearchEngine,
  type ResearchResult,
} from '../research/contract.js';
import { failureSummary } from '../research/failures.js';
import type { Redis } from '../storage/index.js';
import { PermanentDeliveryError, type DeliveryResolver } from '../tasks/delivery.js';
import { taskOf, type Outcome, type TaskDoc } from '../tasks/doc.js';
import { withCheckpoint, withRecordedCheckpoints } from '../tasks/projection.js';
import type { TaskStore } from '../tasks/store.js';
import type { Task } from '../tasks/types.js';
import { RetryLater, type ResearchJobData } from './agenda.js';
import { ProgressCoalescer, progressChannel } from './progress.js';
import type { JobsEnv, JobsTuning, LedgerPort } from './types.js';

// The research job as a state machine over the task document: whatever state a crash left the task in,
// running the handler again moves it forward (run → store result → settle credits → deliver) and every
// step that must happen once is guarded by an insert-only record in the TaskStore (decision 040).

export type RunnerDeps = {
  store: TaskStore;
  ledger: LedgerPort;
  engine: ResearchEngine;
  deliveries: DeliveryResolver;
  redis: Redis;
  logger: Logger;
  env: JobsEnv;
  tuning: JobsTuning;
  /**
   * Hands a task's final delivery to a worker when this process has no delivery for its platform (the bot's
   * work thread and the console settle cancels and early failures but hold no platform clients): saves a
   * durable `research-end` job that any worker picks up at once (decision 055).
   */
  handOff?: (taskId: string) => Promise<void>;
};

export type SettleOptions = {
  /** Run the delivery here even when this process has none for the platform (the end job itself). */
  handOff?: boolean;
  /** The outcome and stored document the caller has just written, saving their reads. */
  known?: { outcome: Outcome; doc: TaskDoc };
};

export type AbortReason = 'cancel' | 'shutdown';

/** Why a final delivery failed for good; `exhausted` when retries ran out (the platform kept erroring). */
type DeliveryFailure = { problem: string; exhausted: boolean };

/** Retries of a job whose handler could not reach its stores; beyond this an operator has to look. */
const MAX_INFRA_RETRIES = 30;

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

/**
 * A refusal only an admin can fix (bad key, unknown model, exhausted plan): the requester learns that the
 * bot's setup needs an admin and that trying again will not help — never a key or a setting's value.
 */
export function adminFailureSentence(failure: ProviderFailure, cost: number): string {
  return `The research could not be run: ${failureSummary(failure)}, so the bot's setup needs an admin. Your ${cost} credits were returned; nothing was charged. Please let an admin of this bot know: trying again will not work until they fix it.`;
}

export function cancelSentence(cost: number): string {
  return `The research was cancelled. Your ${cost} credits were returned; nothing was charged.`;
}

export function cancelOutcome(doc: Pick<TaskDoc, 'cost'>, by = 'unknown'): Outcome {
  return {
    status: 'cancelled',
    error: { userMessage: cancelSentence(doc.cost), detail: `cancelled by ${by}` },
    refunded: doc.cost,
  };
}

export class ResearchRunner {
  /** Abort controllers of the jobs running in this process, by task id. */
  readonly running = new Map<string, AbortController>();

  constructor(private readonly deps: RunnerDeps) {}

  /** Publishes the task's live state for live views; fire and forget (a Redis outage must not stall the job). */
  publish(task: Task): void {
    this.deps.redis
      .publish(progressChannel(task.id, this.deps.tuning.progressPrefix), JSON.stringify(task))
      .catch((err: unknown) => {
        this.deps.logger.debug({ taskId: task.id, err: messageOf(err) }, 'progress publish failed');
      });
  }

  coalescer(task: Task): ProgressCoalescer {
    return new ProgressCoalescer(async (t, final, signal) => {
      const delivery = this.deps.deliveries(t);
      // Once the final message is out (a cancel settled elsewhere), a late progress edit would undo it.
      if (!delivery || (!final && (await this.deps.store.isDelivered(task.id)))) return;
      try {
        await delivery.progress(t, signal);
      } catch (err) {
        if (err instanceof PermanentDeliveryError) await this.deps.store.recordDeliveryProblem(task.id, err.message);
        else this.deps.logger.warn({ taskId: task.id, err: messageOf(err) }, 'progress delivery failed');
      }
    }, this.deps.tuning.progressIntervalMs);
  }

  /**
   * Agenda's handler for one research job. Anything unexpected (MongoDB or PostgreSQL unreachable) becomes
   * a retry with a capped backoff, so a task is never left running with no job behind it.
   */
  async handle(job: Job<ResearchJobData>): Promise<void> {
    const invokedAt = new Date();
    const heartbeat = this.heartbeat(job);
    try {
      await this.advance(job, invokedAt);
    } catch (err) {
      if (err instanceof RetryLater) throw err;
      const failCount = job.attrs.failCount ?? 0;
      this.deps.logger.warn(
        { taskId: job.attrs.data.taskId, err: messageOf(err), failCount },
        'research job hit an infrastructure error; retrying',
      );
      if (failCount >= MAX_INFRA_RETRIES) throw err;
      throw new RetryLater(Math.min(this.deps.tuning.retryBaseMs * 2 ** failCount, 60_000), messageOf(err));
    } finally {
      clearInterval(heartbeat);
    }
  }

  /**
   * Agenda's handler for an end job: the final delivery of a task another process settled (decision 055).
   * This worker delivers it, or records why it cannot; it never hands it off again.
   */
  async handleEnd(job: Job<ResearchJobData>): Promise<void> {
    const { taskId } = job.attrs.data;
    try {
      await this.settle(taskId, undefined, { handOff: false });
    } catch (err) {
      if (err instanceof RetryLater) throw err;
      const failCount = job.attrs.failCount ?? 0;
      this.deps.logger.warn(
        { taskId, err: messageOf(err), failCount },
        'end job hit an infrastructure error; retrying',
      );
      if (failCount >= MAX_INFRA_RETRIES) throw err;
      throw new RetryLater(Math.min(this.deps.tuning.retryBaseMs * 2 ** failCount, 60_000), messageOf(err));
    }
  }

  /**
   * Keeps the job's lock fresh (JOB_LOCK_LIFETIME_MS is short so a dead worker's job is taken over fast).
   * Once Agenda has given the lock up, touching stops: another worker may own the job, and the task's
   * insert-only guards keep the overlap harmless.
   */
  private heartbeat(job: Job<ResearchJobData>): NodeJS.Timeout {
    const timer: NodeJS.Timeout = setInterval(
      () => {
        job.touch().catch((err: unknown) => {
          if (job.getCanceledMessage()) clearInterval(timer);
          this.deps.logger.warn({ taskId: job.attrs.data.taskId, err: messageOf(err) }, 'job heartbeat failed');
        });
      },
      Math.max(100, Math.floor(this.deps.env.JOB_LOCK_LIFETIME_MS / 4)),
    );
    return timer;
  }

  private async advance(job: Job<ResearchJobData>, invokedAt: Date): Promise<void> {
    const { taskId } = job.attrs.data;
    const { store, logger } = this.deps;
    const log = logger.child({ taskId });
    const found = await store.getDocAndRecords(taskId);
    if (!found) {
      log.warn('research job for a task that does not exist; dropping it');
      return;
    }
    const { doc, records } = found;
    const decided = records.outcome?.outcome;
    const cancel = records.cancel;
    const progress = this.coalescer(taskOf(doc));
    try {
      let outcome = decided;
      if (!outcome && cancel) outcome = (await store.decideOutcome(taskId, cancelOutcome(doc, cancel.by))).outcome;
      let result: ResearchResult | undefined;
      if (!outcome || (outcome.status === 'succeeded' && !doc.report)) {
        // Not decided yet, or decided a success whose report a crash kept from being stored: (re)run; the
        // engine resumes from its checkpoint for this runId.
        const ran = await this.run(doc, progress, log, invokedAt);
        outcome = ran.outcome;
        result = ran.result;
      }
      const applied = await store.applyOutcome(
        taskId,
        outcome,
        outcome.status === 'succeeded' ? result : undefined,
        doc,
      );
      await this.settle(taskId, progress, applied ? { known: { outcome, doc: applied } } : {});
    } finally {
      // A run that ends without the final delivery (retrying, or overlapping another run whose lock it took
      // over) must not leave a progress edit behind to land after the final message.
      await progress.close();
    }
  }

  private async run(
    doc: TaskDoc,
    progress: ProgressCoalescer,
    log: Logger,
    invokedAt: Date,
  ): Promise<{ outcome: Outcome; result?: ResearchResult }> {
    const { store, engine, tuning } = this.deps;
    const taskId = doc.id;
    // `started` is when the handler was invoked: pickup latency is Agenda's and the channel's, not ours.
    // Checkpoints are insert-only records during the run; live views get the task from memory, and the
    // document gets the list once, in the final write (decision 046).
    await store.markStarted(taskId);
    let current = taskOf(doc);
    const recorded = async (id: CheckpointId, at: Date) => {
      if (!(await store.recordCheckpoint(taskId, id, at))) return false;
      current = withCheckpoint(current, id, at);
      return true;
    };
    if (await recorded('started', invokedAt)) {
      const queued = current.checkpoints.find((c) => c.id === 'queued');
      if (queued) metrics.pickupSeconds.observe((Date.now() - queued.at.getTime()) / 1000);
      this.publish(current);
      progress.offer(current);
    }
    const abort = new AbortController();
    this.running.set(taskId, abort);
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
            if (abort.signal.aborted) return;
            metrics.checkpointSeconds.observe({ checkpoint: id }, (at.getTime() - invokedAt.getTime()) / 1000);
            if (await recorded(id, at)) {
              this.publish(current);
              progress.offer(current);
            }
          },
        },
      );
      // A run resumed after a crash does not report the nodes it finished before; record them now.
      for (const id of ENGINE_CHECKPOINTS)
        if (!current.checkpoints.some((c) => c.id === id)) await recorded(id, new Date());
      const decided = await store.decideOutcome(taskId, { status: 'succeeded' });
      if (decided.won) {
        metrics.researches.inc({ status: 'succeeded', depth: doc.depth });
        metrics.researchSeconds.observe({ depth: doc.depth }, result.usage.durationMs / 1000);
        metrics.reportTavilyCredits.observe({ depth: doc.depth }, result.usage.tavilyCredits);
        metrics.reportLlmTokens.observe(
          { depth: doc.depth },
          result.usage.promptTokens + result.usage.completionTokens,
        );
      }
      return decided.outcome.status === 'succeeded'
        ? { outcome: decided.outcome, result }
        : { outcome: decided.outcome };
    } catch (err) {
      const reason = abort.signal.aborted ? (abort.signal.reason as AbortReason) : undefined;
      if (reason === 'shutdown') {
        throw new RetryLater(0, 'worker shut down before the research finished');
      }
      const cancel = await store.cancelRequestOf(taskId);
      if (reason === 'cancel' || cancel) {
        const decided = await store.decideOutcome(taskId, cancelOutcome(doc, cancel?.by));
        if (decided.won) metrics.researches.inc({ status: 'cancelled', depth: doc.depth });
        return { outcome: decided.outcome };
      }
      return { outcome: await this.recordFailure(doc, err, log) };
    } finally {
      clearInterval(cancelPoll);
      this.running.delete(taskId);
    }
  }

  /**
   * Transient failures are retried with exponential backoff up to JOB_MAX_ATTEMPTS; the rest end the task.
   * A refusal that needs an admin is never retried, whatever the error says (decision 027).
   */
  private async recordFailure(doc: TaskDoc, err: unknown, log: Logger): Promise<Outcome> {
    const { store, env, tuning } = this.deps;
    const failure = err instanceof ResearchError ? err.failure : undefined;
    const admin = needsAdmin(failure);
    const permanent = admin || (err instanceof ResearchError && !err.retryable);
    const detail = err instanceof ResearchError ? err.detail : messageOf(err);
    const userReason = err instanceof ResearchError ? err.userMessage : GENERIC_FAILURE;
    const failures = await store.recordFailure(doc.id, detail);
    if (!permanent && failures < env.JOB_MAX_ATTEMPTS) {
      const delayMs = tuning.retryBaseMs * 2 ** (failures - 1);
      log.warn({ err: detail, failures, delayMs }, 'research failed; retrying');
      throw new RetryLater(delayMs, detail);
    }
    log.error({ err: detail, failures, permanent, failure }, 'research failed for good');
    const userMessage =
      admin && failure
        ? adminFailureSentence(failure, doc.cost)
        : failureSentence(userReason, doc.cost, permanent ? undefined : failures);
    const decided = await store.decideOutcome(doc.id, {
      status: 'failed',
      error: { userMessage, detail, ...(failure ? { failure } : {}) },
      refunded: doc.cost,
    });
    if (decided.won) metrics.researches.inc({ status: 'failed', depth: doc.depth });
    return decided.outcome;
  }

  /**
   * Moves a task whose outcome is decided to fully settled: the outcome written on the task, credits released
   * (failure, cancel) before the final message says so, the final message delivered once, and a success's
   * credits captured only once its report reached the thread (released when it could not: decision 056).
   * Safe to call any number of times from any process; throws RetryLater while another run holds the
   * delivery. A process with no delivery for the task's platform hands the delivery to a worker.
   */
  async settle(taskId: string, progress?: ProgressCoalescer, opts: SettleOptions = {}): Promise<void> {
    const { store, tuning } = this.deps;
    const outcome = opts.known?.outcome ?? (await store.outcomeOf(taskId));
    if (!outcome) return;
    // The stored document, not the projection: the projection already shows the outcome it may lack.
    let doc = opts.known?.doc ?? (await store.getStored(taskId));
    if (!doc) return;
    if (doc.status !== outcome.status) doc = (await store.applyOutcome(taskId, outcome)) ?? doc;
    // Released before the final message says so; the marker on the task rides on the delivered record.
    const released =
      outcome.status === 'succeeded'
        ? undefined
        : await this.closeHold(taskId, 'released', outcome.status === 'cancelled' ? 'cancelled' : 'research failed');
    // The engine's checkpoints only serve a rerun, and a decided task with its report stored never reruns.
    if (outcome.status !== 'succeeded' || doc.report) await this.forgetRun(taskId);
    if (await store.isDelivered(taskId)) {
      // A run that died between recording the delivery and closing the hold: close it as the delivery went.
      if (outcome.status === 'succeeded') await this.settleSuccessCredits(taskId, doc.delivery?.failedPermanently);
      else if (released) await store.markCredits(taskId, released);
      return;
    }
    if (!this.deps.deliveries(taskOf(doc)) && opts.handOff !== false && this.deps.handOff) {
      if (released) await store.markCredits(taskId, released);
      await this.deps.handOff(taskId);
      return;
    }
    const lease = Math.max(2 * this.deps.env.JOB_LOCK_LIFETIME_MS, 1000);
    if (!(await store.claimDelivery(taskId, `${tuning.workerName}:${randomUUID()}`, lease))) {
      if (await store.isDelivered(taskId)) {
        if (released) await store.markCredits(taskId, released);
        return;
      }
      // Another run is delivering (or died while doing so): look again once its claim has expired.
      throw new RetryLater(lease, 'final delivery claimed by another run');
    }
    const fresh = withRecordedCheckpoints(taskOf(doc), await store.checkpointsOf(taskId));
    await this.deliverFinal({ ...fresh, status: outcome.status }, progress ?? this.coalescer(fresh), released);
  }

  /** Closes the task's hold and marks the task so. */
  private async settleCredits(taskId: string, how: 'captured' | 'released', reason: string): Promise<void> {
    const closed = await this.closeHold(taskId, how, reason);
    if (closed) await this.deps.store.markCredits(taskId, closed);
  }

  /**
   * Closes the task's hold once, whichever way; a hold another run already closed is left as it is. Returns
   * how the hold ended (the marker the task should carry), or undefined when it could not be read.
   */
  private async closeHold(
    taskId: string,
    how: 'captured' | 'released',
    reason: string,
  ): Promise<'captured' | 'released' | undefined> {
    const { ledger, tuning } = this.deps;
    const actor = `worker:${tuning.workerName}`;
    try {
      const hold = await ledger.getHold(taskId);
      if (hold?.status === 'held') {
        if (how === 'captured') await ledger.capture({ taskId, actor });
        else await ledger.release({ taskId, actor, reason });
      }
    } catch (err) {
      // The opposite close by a concurrent run (a report that reached the thread on a second try) wins.
      const now = await ledger.getHold(taskId).catch(() => undefined);
      if (!now || now.status === 'held')
        throw new RetryLater(tuning.retryBaseMs, `credit settlement failed: ${messageOf(err)}`);
    }
    const hold = await ledger.getHold(taskId).catch(() => undefined);
    return hold && hold.status !== 'held' ? hold.status : undefined;
  }

  /** A success is paid for only when its report reached the requester. */
  private settleSuccessCredits(taskId: string, problem: string | undefined): Promise<void> {
    return problem
      ? this.settleCredits(taskId, 'released', 'report not delivered')
      : this.settleCredits(taskId, 'captured', 'delivered');
  }

  /** Best effort: checkpoints left behind cost space, not correctness. */
  private async forgetRun(taskId: string): Promise<void> {
    try {
      await this.deps.engine.forget?.(taskId);
    } catch (err) {
      this.deps.logger.warn({ taskId, err: messageOf(err) }, 'could not drop the research checkpoints');
    }
  }

  private async deliverFinal(
    task: Task,
    progress: ProgressCoalescer,
    released?: 'captured' | 'released',
  ): Promise<void> {
    const { store, logger } = this.deps;
    const delivery = this.deps.deliveries(task);
    // A progress edit still on its way would land after the final message and undo it.
    await progress.close();
    let failure: DeliveryFailure | undefined;
    if (!delivery) {
      failure = { problem: `no ${task.origin.platform} delivery in this process`, exhausted: false };
    } else if (task.status === 'succeeded') {
      const result = resultOf(task);
      failure = result
        ? await this.withRetries(task, () => delivery.succeeded(task, result))
        : { problem: 'the stored task has no report', exhausted: false };
    } else {
      await progress.flush(task);
      failure = await this.withRetries(task, () => delivery.failed(task));
    }
    const problem = failure?.problem;
    if (problem) logger.warn({ taskId: task.id, problem }, 'final delivery failed for good');
    // The platform kept erroring rather than refusing: the requester hears it wherever still works (059).
    if (failure?.exhausted && delivery?.undelivered)
      await delivery.undelivered(task, failure.problem).catch((err: unknown) => {
        logger.warn({ taskId: task.id, err: messageOf(err) }, 'could not tell the requester the end did not show');
      });
    // A success is paid for only when its report reached the requester (decision 056).
    const credits =
      task.status === 'succeeded'
        ? await this.closeHold(
            task.id,
            problem ? 'released' : 'captured',
            problem ? 'report not delivered' : 'delivered',
          )
        : released;
    // One write records the delivery, the final checkpoints (with `delivered`) and the credit marker (decision 046).
    const final = await store.markDelivered(task.id, problem, {
      status: task.status,
      checkpoints: task.checkpoints,
      ...(credits ? { credits } : {}),
    });
    if (!final) {
      if (credits) await store.markCredits(task.id, credits);
      return;
    }
    const finalTask = taskOf(final);
    this.publish(finalTask);
    if (task.status === 'succeeded' && delivery) await progress.flush(finalTask);
    if (task.status === 'succeeded') this.deps.logger.info({ taskId: task.id }, 'research delivered');
  }

  /**
   * Runs a delivery call, retrying transient errors; returns why it failed for good, if it did, and whether
   * that was retries running out (`exhausted`) rather than a refusal.
   */
  private async withRetries(task: Task, call: () => Promise<void>): Promise<DeliveryFailure | undefined> {
    const attempts = this.deps.tuning.deliveryAttempts;
    for (let i = 1; ; i++) {
      try {
        await call();
        return undefined;
      } catch (err) {
        if (err instanceof PermanentDeliveryError) return { problem: err.message, exhausted: false };
        if (i >= attempts) return { problem: `gave up after ${attempts} attempts: ${messageOf(err)}`, exhausted: true };
        this.deps.logger.warn({ taskId: task.id, err: messageOf(err), attempt: i }, 'delivery failed; retrying');
        await new Promise((r) => setTimeout(r, Math.min(200 * 2 ** i, 5000)));
      }
    }
  }
}
