import { randomUUID } from 'node:crypto';
import type { Logger } from '../observability/logger.js';
import type { ResearchResult } from '../research/contract.js';
import { PermanentDeliveryError, type DeliveryResolver } from '../tasks/delivery.js';
import { withRecordedCheckpoints } from '../tasks/projection.js';
import { taskOf, type Outcome, type TaskDoc } from '../tasks/doc.js';
import type { TaskStore } from '../tasks/store.js';
import type { Task } from '../tasks/types.js';
import { RetryLater } from './agenda.js';
import { failureSentence, messageOf } from './outcomes.js';
import { ProgressCoalescer } from './progress.js';
import type { JobsEnv, JobsTuning, LedgerPort } from './types.js';

// Ending a task whose outcome is decided, from any process: the credits closed, the engine's saved run
// dropped (by a worker: only it has the engine), the final message delivered once, or handed to a worker
// when this process cannot reach the task's platform. The submit side settles cancels and failures before
// the queue; the worker settles what its researches decided. Settling again, from here or elsewhere, finds
// each step done: the outcome, the delivery claim and the delivered mark are insert-only records in the
// TaskStore (decision 040), and the hold closes once in the ledger.

export type SettlerDeps = {
  store: TaskStore;
  ledger: LedgerPort;
  deliveries: DeliveryResolver;
  /** Publishes a task's live state to the live views (the progress hub). */
  publish: (task: Task) => void;
  logger: Logger;
  env: JobsEnv;
  tuning: JobsTuning;
  /**
   * Hands a task's final delivery to a worker when this process has no delivery for its platform (the bot's
   * work thread and the console settle cancels and early failures but hold no platform clients): saves a
   * durable `research-end` job that any worker picks up at once (decision 055).
   */
  handOff?: (taskId: string) => Promise<void>;
  /**
   * Drops the research engine's saved run of a task (ResearchEngine.forget). Only a worker has the engine;
   * elsewhere the worker that ran the task drops it when it settles the task itself.
   */
  forget?: (taskId: string) => Promise<void>;
};

export type SettleOptions = {
  /** Run the delivery here even when this process has none for the platform (the end job itself). */
  handOff?: boolean;
  /** The outcome and stored document the caller has just written, saving their reads. */
  known?: { outcome: Outcome; doc: TaskDoc };
};

/** Why a final delivery failed for good; `exhausted` when retries ran out (the platform kept erroring). */
type DeliveryFailure = { problem: string; exhausted: boolean };

function resultOf(task: Task): ResearchResult | undefined {
  if (!task.report || !task.usage) return undefined;
  return { report: task.report.json, markdown: task.report.markdown, usage: task.usage };
}

export class TaskSettler {
  constructor(private readonly deps: SettlerDeps) {}

  /** The progress deliveries of one task, coalesced (at most one per progressIntervalMs, never backwards). */
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

  /** Ends a task that failed between its reserve and its job (announce or enqueue failed, or a crash). */
  async failBeforeQueue(taskId: string, reason: string, detail: string): Promise<void> {
    const { store, logger } = this.deps;
    const doc = await store.getDoc(taskId);
    if (!doc) return;
    await store.decideOutcome(taskId, {
      status: 'failed',
      error: { userMessage: failureSentence(reason, doc.cost), detail },
      refunded: doc.cost,
    });
    await this.settle(taskId).catch((err: unknown) =>
      logger.warn({ taskId, err: String(err) }, 'settling a task that failed before it was queued'),
    );
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
      await this.deps.forget?.(taskId);
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
    this.deps.publish(finalTask);
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
