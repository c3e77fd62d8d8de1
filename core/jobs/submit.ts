// The submit side of the job layer: submit, cancel and retry researches, and read their tasks and live
// progress. It needs no research engine: it writes the task, reserves its credits, saves the job for a
// worker and settles what it ends itself (a cancel, a failure before the queue). The bot's work thread and
// the console build only this side (createJobs); a worker builds it beneath its own (worker.ts).
import { DEPTH_PROFILES, isDepth } from '../research/depth.js';
import { checkIdea } from '../research/idea.js';
import { withCheckpoint } from '../tasks/projection.js';
import type { Task } from '../tasks/types.js';
import { RESEARCH_JOB, RetryLater, type ResearchJobData } from './agenda.js';
import { cancelOutcome } from './outcomes.js';
import { openJobQueue, type JobQueue } from './queue.js';
import {
  JobsError,
  type Actor,
  type CreateJobsOptions,
  type Jobs,
  type SubmitOptions,
  type SubmitRequest,
  type SubmitResult,
} from './types.js';

const MAX_REQUEST_KEY = 300;

/** How long a repeat of a request waits for the original's reserve before answering with it anyway. */
const ORIGINAL_SETTLES_MS = 10_000;

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

/** The job layer of a process that submits researches and runs none (the bot's work thread, the console). */
export function createJobs(opts: CreateJobsOptions): Jobs {
  return submitSideOf(openJobQueue(opts));
}

/** The submit side on a queue this process has opened (a worker shares its queue with it). */
export function submitSideOf(queue: JobQueue): Jobs {
  const { storage, ledger, log, store, agenda, channel, hub, settler } = queue;

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
    await queue.ready();
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
    hub.publish(current);
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

  return {
    tasks: store,

    submitResearch: (req, options) => submit(req, options),

    async cancelResearch(taskId, actor) {
      await queue.ready();
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
      await storage.redis.publish(queue.cancelChannel, taskId).catch(() => undefined);
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

    async stop() {
      // Agenda connects and builds its indexes from its constructor: a process stopped right after it started
      // must let that finish before its owner closes the MongoDB client under it.
      await agenda.ready.catch(() => undefined);
      if (channel?.state === 'connected') await channel.disconnect();
      queue.close();
    },

    subscribeProgress: (taskId, onTask) => hub.subscribe(taskId, onTask),
  };
}
