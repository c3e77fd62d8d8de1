// The research job layer: submit, run, deliver, cancel and retry research tasks on Agenda 6 (MongoDB
// storage, Redis notifications for instant pickup). Process entry points compose createJobs with storage,
// the ledger, the engine and the platform deliveries. Decisions: docs/decisions/040–045.
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { DEPTH_PROFILES, isDepth } from '../research/depth.js';
import { checkIdea } from '../research/idea.js';
import { namespacedChannel, type Redis } from '../storage/redis.js';
import { withCheckpoint } from '../tasks/projection.js';
import { TaskStore } from '../tasks/store.js';
import type { Task } from '../tasks/types.js';
import {
  createAgenda,
  END_JOB,
  END_JOBS_AT_ONCE,
  RESEARCH_JOB,
  retryLaterBackoff,
  RetryLater,
  type ResearchJobData,
} from './agenda.js';
import { PROGRESS_PREFIX, progressChannel, reviveTask } from './progress.js';
import { cancelOutcome, messageOf } from './outcomes.js';
import { ResearchJobHandler } from './research-job.js';
import { TaskSettler } from './settle.js';
import {
  JobsError,
  type Actor,
  type CreateJobsOptions,
  type Jobs,
  type JobsTuning,
  type SubmitOptions,
  type SubmitRequest,
  type SubmitResult,
} from './types.js';

export type {
  Actor,
  CreateJobsOptions,
  Jobs,
  JobsEnv,
  JobsTuning,
  LedgerPort,
  SubmitOptions,
  SubmitRequest,
  SubmitResult,
} from './types.js';
export { JobsError } from './types.js';
export { progressChannel, reviveTask, ProgressCoalescer } from './progress.js';
export { RESEARCH_JOB, RetryLater } from './agenda.js';

export const DEFAULT_TUNING: Omit<JobsTuning, 'workerName'> = {
  processEveryMs: 5000,
  notify: true,
  collection: 'agendaJobs',
  channel: 'pmf:agenda',
  progressPrefix: PROGRESS_PREFIX,
  retryBaseMs: 5000,
  progressIntervalMs: 1000,
  cancelPollMs: 5000,
  deliveryAttempts: 4,
  orphanAfterMs: 5 * 60_000,
  orphanSweepEveryMs: 60_000,
};

const MAX_REQUEST_KEY = 300;

/** How long a repeat of a request waits for the original's reserve before answering with it anyway. */
const ORIGINAL_SETTLES_MS = 10_000;
/** How often a stopping worker looks whether its last research has left (the drain ends then, not at its timeout). */
const DRAIN_POLL_MS = 50;

function isCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

function validate(req: SubmitRequest): SubmitRequest {
  const idea = checkIdea(req.idea);
  if (!idea.ok) throw new JobsError('invalid', idea.message);
  if (!isDepth(req.depth))
    throw new JobsError('invalid', `Unknown depth "${String(req.depth)}": use essential, standard or deep.`);
  if (!req.requestKey || req.requestKey.length > MAX_REQUEST_KEY)
    throw new JobsError('invalid', 'A request key (1–300 characters) is required.');
  if (!req.workspaceId) throw new JobsError('invalid', 'A workspace is required.');
  return { ...req, idea: idea.idea };
}

/** One Redis connection in subscriber mode shared by every live view of this process. */
function createProgressHub(redis: Redis) {
  let sub: Redis | undefined;
  const listeners = new Map<string, Set<(task: Task) => void>>();
  const connection = (): Redis => {
    if (sub) return sub;
    sub = redis.duplicate();
    sub.on('error', () => undefined);
    sub.on('message', (channel: string, message: string) => {
      const set = listeners.get(channel);
      if (!set) return;
      const task = reviveTask(message);
      for (const fn of set) fn(task);
    });
    return sub;
  };
  return {
    async subscribe(channel: string, onTask: (task: Task) => void): Promise<() => Promise<void>> {
      let set = listeners.get(channel);
      if (!set) {
        set = new Set();
        listeners.set(channel, set);
        await connection().subscribe(channel);
      }
      set.add(onTask);
      return async () => {
        const current = listeners.get(channel);
        if (!current?.delete(onTask) || current.size > 0) return;
        listeners.delete(channel);
        await sub?.unsubscribe(channel).catch(() => undefined);
      };
    },
    close(): void {
      listeners.clear();
      sub?.disconnect();
      sub = undefined;
    },
  };
}

export function createJobs(opts: CreateJobsOptions): Jobs {
  const { env, storage, ledger, engine, deliveries, logger } = opts;
  const tuned: JobsTuning = {
    ...DEFAULT_TUNING,
    workerName: `${hostname()}:${process.pid}:${randomUUID().slice(0, 6)}`,
    ...opts.tuning,
  };
  // Channels ignore the Redis database number and the connection's key prefix: they carry the install's
  // namespace explicitly (Agenda's wake-up channel, its `:state` twin, the cancel and progress channels).
  const tuning: JobsTuning = {
    ...tuned,
    channel: namespacedChannel(storage.redis, tuned.channel),
    progressPrefix: namespacedChannel(storage.redis, tuned.progressPrefix),
  };
  const log = logger.child({ component: 'jobs', worker: tuning.workerName });
  const store = new TaskStore(storage.mongo);
  const { agenda, channel } = createAgenda(storage.mongo, storage.redis, env, tuning, (err) =>
    log.warn({ err: err.message }, 'job notification channel error'),
  );
  agenda.on('error', (err: Error) => log.warn({ err: err.message }, 'agenda error'));
  /** Publishes the task's live state for live views; fire and forget (a Redis outage must not stall the job). */
  const publish = (task: Task): void => {
    storage.redis
      .publish(progressChannel(task.id, tuning.progressPrefix), JSON.stringify(task))
      .catch((err: unknown) => {
        log.debug({ taskId: task.id, err: messageOf(err) }, 'progress publish failed');
      });
  };
  const settler = new TaskSettler({
    store,
    ledger,
    deliveries,
    publish,
    logger: log,
    env,
    tuning,
    // Saved in MongoDB, so the end survives this process; the Redis channel wakes a worker at once.
    handOff: async (taskId) => {
      await agenda.now<ResearchJobData>(END_JOB, { taskId });
    },
    forget: async (taskId) => {
      await engine.forget?.(taskId);
    },
  });
  const runner = new ResearchJobHandler({ store, engine, settler, publish, logger: log, env, tuning });
  const hub = createProgressHub(storage.redis);
  const cancelChannel = `${tuning.channel}:cancel`;
  let cancelSub: Redis | undefined;
  let workerStarted = false;
  let orphanTimer: NodeJS.Timeout | undefined;
  let readyPromise: Promise<void> | undefined;

  /** Indexes, Agenda's backend, and (in a process that only submits) the channel that wakes the workers. */
  const ready = (): Promise<void> =>
    (readyPromise ??= (async () => {
      await Promise.all([store.ensureIndexes(), agenda.ready]);
      if (channel && !workerStarted && channel.state !== 'connected') await channel.connect();
    })());

  /**
   * The task already made for this request, once its submission got past the reserve. A task seen between
   * its creation and its reserve may still be discarded (no credits, or an id the ledger already knew), so a
   * repeat waits for that to settle instead of answering "already under way" with a task that will vanish.
   */
  async function originalOf(requestKey: string): Promise<Task | undefined> {
    const deadline = Date.now() + ORIGINAL_SETTLES_MS;
    for (;;) {
      const found = await store.getByRequestKey(requestKey);
      const settled = !found || found.status !== 'queued' || found.checkpoints.some((c) => c.id !== 'received');
      if (settled || Date.now() > deadline) return found;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async function submit(raw: SubmitRequest, options: SubmitOptions = {}, retryOf?: string): Promise<SubmitResult> {
    const req = validate(raw);
    await ready();
    const cost = DEPTH_PROFILES[req.depth].credits;
    // A request that cannot be paid for is refused before anything is written for it (decision 013). A repeat
    // of a request already accepted is answered as such first, whatever the balance now.
    const earlier = await originalOf(req.requestKey);
    if (earlier) return { task: earlier, created: false };
    await ledger.refuseEarly(req.workspaceId, cost);
    let task: Task | undefined;
    for (let attempt = 1; !task; attempt++) {
      const made = await store.create({ ...req, cost, ...(retryOf ? { retryOf } : {}) });
      if (!made.created) {
        const original = await originalOf(req.requestKey);
        if (original) return { task: original, created: false };
        // The original was discarded (its reserve failed) between our insert and this read: start over.
        if (attempt >= 3) throw new Error(`submission ${req.requestKey} kept meeting a discarded original`);
        continue;
      }
      try {
        await ledger.reserve({
          workspaceId: req.workspaceId,
          cost,
          taskId: made.task.id,
          depth: req.depth,
          actor: req.requester.id,
          idempotencyKey: req.requestKey,
        });
        task = made.task;
      } catch (err) {
        // Nothing was spent: forget the task so that the same request, retried later, starts clean.
        await store.discardUnreserved(made.task.id);
        // The ledger already holds credits for a task with this id (tasks lost from MongoDB, or databases
        // shared by tests): draw another id.
        if (!isCode(err, 'idempotency_conflict') || attempt >= 3) throw err;
      }
    }
    const taskId = task.id;
    let current = (await store.addCheckpoint(taskId, 'credits_reserved')) ?? task;
    if (options.announce) {
      try {
        current = (await store.setOriginRefs(taskId, await options.announce(current))) ?? current;
      } catch (err) {
        await settler.failBeforeQueue(
          taskId,
          'the bot could not post its messages in this channel',
          `announce failed: ${String(err)}`,
        );
        throw err;
      }
    }
    // `queued` is an insert-only event written alongside the job, not an update of the task document: once
    // the job is saved a worker may already be updating the task, and FerretDB can lose one of two
    // concurrent updates of a document. The worker's next checkpoint copies it onto the document.
    const queuedAt = new Date();
    const [queued, enqueued] = await Promise.allSettled([
      store.recordCheckpoint(taskId, 'queued', queuedAt),
      agenda.now<ResearchJobData>(RESEARCH_JOB, { taskId }),
    ]);
    if (enqueued.status === 'rejected') {
      const err: unknown = enqueued.reason;
      await settler.failBeforeQueue(taskId, 'the job queue is unavailable', `enqueue failed: ${String(err)}`);
      throw err;
    }
    if (queued.status === 'rejected')
      log.warn({ taskId, err: String(queued.reason) }, 'the queued checkpoint could not be recorded');
    else current = withCheckpoint(current, 'queued', queuedAt);
    publish(current);
    log.info({ taskId, workspaceId: req.workspaceId, depth: req.depth }, 'research queued');
    return { task: current, created: true };
  }

  async function loadForActor(taskId: string, actor: Actor) {
    const doc = await store.getDoc(taskId);
    if (!doc) throw new JobsError('not_found', `There is no research ${taskId}.`);
    if (!actor.isAdmin && actor.id !== doc.requester.id) {
      throw new JobsError('forbidden', `Only the person who asked for ${taskId} or an admin can do that.`);
    }
    return doc;
  }

  async function hasJob(taskId: string): Promise<boolean> {
    const found = await storage.mongo.db
      .collection(tuning.collection)
      .countDocuments({ name: RESEARCH_JOB, 'data.taskId': taskId }, { limit: 1 });
    return found > 0;
  }

  /** Ends one task a crash left queued with no job; true when it did. Safe to run from several workers. */
  async function endOrphan(taskId: string): Promise<boolean> {
    if (await store.outcomeOf(taskId)) {
      await settler.settle(taskId);
      return true;
    }
    if (await hasJob(taskId)) return false;
    const hold = await ledger.getHold(taskId);
    if (!hold) return store.discardUnreserved(taskId);
    await settler.failBeforeQueue(
      taskId,
      'it was interrupted before it could be queued',
      'no job was saved for this task',
    );
    return true;
  }

  async function sweepOrphans(): Promise<number> {
    const ids = await store.queuedBefore(new Date(Date.now() - tuning.orphanAfterMs));
    let ended = 0;
    for (const taskId of ids) {
      try {
        if (await endOrphan(taskId)) ended++;
      } catch (err) {
        if (!(err instanceof RetryLater)) log.warn({ taskId, err: String(err) }, 'ending an orphaned task');
      }
    }
    if (ended > 0) log.warn({ ended }, 'ended tasks a crash left without a job');
    return ended;
  }

  /**
   * Agenda's own drain waits for the whole timeout whenever the last job's "complete" event comes before the
   * job leaves its running list (it does while the finished job is still being removed, removeOnComplete), so
   * a worker whose researches were all delivered would wait WORKER_DRAIN_TIMEOUT_MS anyway. The timeout is an
   * upper bound: the drain is ended as soon as nothing runs here any more.
   */
  async function drainAgenda(): Promise<{ timedOut: boolean }> {
    const idle = new AbortController();
    const watch = (async () => {
      while (!idle.signal.aborted) {
        await new Promise((r) => setTimeout(r, DRAIN_POLL_MS));
        if (runner.running.size > 0 || idle.signal.aborted) continue;
        const stats = await agenda.getRunningStats().catch(() => undefined);
        if (stats && stats.runningJobs === 0) idle.abort();
      }
    })();
    const result = await agenda.drain({
      timeout: env.WORKER_DRAIN_TIMEOUT_MS,
      signal: idle.signal,
      closeConnection: false,
    });
    idle.abort();
    await watch;
    return { timedOut: result.timedOut };
  }

  const jobs: Jobs = {
    tasks: store,

    submitResearch: (req, options) => submit(req, options),

    async cancelResearch(taskId, actor) {
      await ready();
      const doc = await loadForActor(taskId, actor);
      const before = await store.outcomeOf(taskId);
      if (before?.status === 'cancelled') return (await store.get(taskId))!;
      if (before)
        throw new JobsError(
          'not_cancellable',
          `${taskId} has already ${before.status === 'succeeded' ? 'finished' : 'failed'}; there is nothing to cancel.`,
        );
      await store.requestCancel(taskId, actor.id);
      // A running worker hears this at once (and polls for it as a fallback).
      await storage.redis.publish(cancelChannel, taskId).catch(() => undefined);
      const { outcome } = await store.decideOutcome(taskId, cancelOutcome(doc, actor.id));
      if (outcome.status !== 'cancelled') {
        throw new JobsError('not_cancellable', `${taskId} finished before it could be cancelled.`);
      }
      // Settle here so the requester hears at once instead of when a worker frees up; a process that cannot
      // deliver to the task's platform hands the final messages to a worker through an end job. Either way
      // the queued research job has nothing left to do.
      try {
        await settler.settle(taskId);
        if (doc.status === 'queued') await agenda.cancel({ name: RESEARCH_JOB, data: { taskId } });
      } catch (err) {
        if (!(err instanceof RetryLater)) log.warn({ taskId, err: String(err) }, 'settling a cancelled task');
      }
      return (await store.get(taskId))!;
    },

    async retryResearch(taskId, actor, options?: SubmitOptions) {
      const doc = await loadForActor(taskId, actor);
      if (doc.status !== 'failed')
        throw new JobsError(
          'not_retryable',
          `Only a failed research can be retried; ${taskId} ${doc.status === 'succeeded' ? 'succeeded' : `is ${doc.status}`}.`,
        );
      const req: SubmitRequest = {
        requestKey: `retry:${taskId}`,
        workspaceId: doc.workspaceId,
        requester: doc.requester,
        origin: doc.origin,
        idea: doc.idea,
        depth: doc.depth,
      };
      return (await submit(req, options, taskId)).task;
    },

    sweepOrphans,

    async startWorker() {
      if (workerStarted) return;
      await ready();
      workerStarted = true;
      // The submit side may have connected the channel; Agenda's start connects its own subscription.
      if (channel?.state === 'connected') await channel.disconnect();
      agenda.define<ResearchJobData>(RESEARCH_JOB, (job) => runner.handle(job), {
        concurrency: env.WORKER_CONCURRENCY,
        lockLimit: env.WORKER_CONCURRENCY,
        lockLifetime: env.JOB_LOCK_LIFETIME_MS,
        backoff: retryLaterBackoff,
        // A finished job has settled its task, which keeps the whole story; left in place, finished jobs make
        // every lock query slower on FerretDB, which answers it by scanning the collection.
        removeOnComplete: true,
      });
      agenda.define<ResearchJobData>(END_JOB, (job) => runner.handleEnd(job), {
        concurrency: END_JOBS_AT_ONCE,
        lockLimit: END_JOBS_AT_ONCE,
        lockLifetime: env.JOB_LOCK_LIFETIME_MS,
        backoff: retryLaterBackoff,
        removeOnComplete: true,
      });
      cancelSub = storage.redis.duplicate();
      cancelSub.on('error', () => undefined);
      cancelSub.on('message', (_channel: string, id: string) => runner.running.get(id)?.abort('cancel'));
      await cancelSub.subscribe(cancelChannel);
      await agenda.start();
      // The first sweep waits orphanAfterMs, so that short-lived workers sharing a database (tests, one-off
      // runs) never end each other's tasks; a long-running worker sweeps every orphanSweepEveryMs.
      const sweep = () => {
        sweepOrphans().catch((err: unknown) => log.warn({ err: String(err) }, 'orphan sweep failed'));
        orphanTimer = setTimeout(sweep, tuning.orphanSweepEveryMs).unref();
      };
      orphanTimer = setTimeout(sweep, Math.max(tuning.orphanAfterMs, tuning.orphanSweepEveryMs)).unref();
      log.info(
        { concurrency: env.WORKER_CONCURRENCY, lockLifetimeMs: env.JOB_LOCK_LIFETIME_MS },
        'research worker started',
      );
    },

    async stop() {
      clearTimeout(orphanTimer);
      // Agenda connects and builds its indexes from its constructor: a process stopped right after it started
      // must let that finish before its owner closes the MongoDB client under it.
      await agenda.ready.catch(() => undefined);
      if (workerStarted) {
        workerStarted = false;
        const result = await drainAgenda();
        if (result.timedOut) {
          log.warn({ running: runner.running.size }, 'drain timed out; handing running researches back to the queue');
          for (const abort of runner.running.values()) abort.abort('shutdown');
          const deadline = Date.now() + 5000;
          while (runner.running.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        }
        cancelSub?.disconnect();
        cancelSub = undefined;
      } else if (channel?.state === 'connected') {
        await channel.disconnect();
      }
      hub.close();
      readyPromise = undefined;
    },

    subscribeProgress: (taskId, onTask) => hub.subscribe(progressChannel(taskId, tuning.progressPrefix), onTask),
  };
  return jobs;
}
