import type { Job } from 'agenda';
import type { Logger } from '../observability/logger.js';
import { metrics } from '../observability/metrics.js';
import { ENGINE_CHECKPOINTS, type CheckpointId } from '../research/checkpoints.js';
import { ResearchError, needsAdmin, type ResearchEngine, type ResearchResult } from '../research/contract.js';
import { withCheckpoint } from '../tasks/projection.js';
import { taskOf, type Outcome, type TaskDoc } from '../tasks/doc.js';
import type { TaskStore } from '../tasks/store.js';
import type { Task } from '../tasks/types.js';
import { RetryLater, type ResearchJobData } from './agenda.js';
import { adminFailureSentence, cancelOutcome, failureSentence, messageOf } from './outcomes.js';
import type { ProgressCoalescer } from './progress.js';
import type { TaskSettler } from './settle.js';
import type { JobsEnv, JobsTuning } from './types.js';

// Agenda's handlers on a worker: the research job as a state machine over the task document, and the end
// job. Whatever state a crash left the task in, running the handler again moves it forward (run → store
// result → settle credits → deliver) and every step that must happen once is guarded by an insert-only
// record in the TaskStore (decision 040). Settling itself is TaskSettler's (settle.ts).

export type ResearchJobDeps = {
  store: TaskStore;
  engine: ResearchEngine;
  settler: TaskSettler;
  /** Publishes a task's live state to the live views (the progress hub). */
  publish: (task: Task) => void;
  logger: Logger;
  env: JobsEnv;
  tuning: JobsTuning;
};

type AbortReason = 'cancel' | 'shutdown';

/** Retries of a job whose handler could not reach its stores; beyond this an operator has to look. */
const MAX_INFRA_RETRIES = 30;

const GENERIC_FAILURE = 'the research service ran into an unexpected problem';

export class ResearchJobHandler {
  /** Abort controllers of the jobs running in this process, by task id. */
  readonly running = new Map<string, AbortController>();

  constructor(private readonly deps: ResearchJobDeps) {}

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
      await this.deps.settler.settle(taskId, undefined, { handOff: false });
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
    const progress = this.deps.settler.coalescer(taskOf(doc));
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
      await this.deps.settler.settle(taskId, progress, applied ? { known: { outcome, doc: applied } } : {});
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
      this.deps.publish(current);
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
              this.deps.publish(current);
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
}
