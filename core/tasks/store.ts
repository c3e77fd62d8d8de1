import type { Collection } from 'mongodb';
import type { CheckpointId } from '../research/checkpoints.js';
import type { ResearchResult } from '../research/contract.js';
import type { Mongo } from '../storage/index.js';
import {
  INTERNAL_FIELDS,
  taskOf,
  type EventDoc,
  type GuardDoc,
  type NewTask,
  type Outcome,
  type TaskDoc,
} from './doc.js';
import { createMissingIndexes, insertOnce, type NamedIndex } from './ferretdb.js';
import { newTaskId } from './ids.js';
import { keywordsOf } from './keywords.js';
import { projectTask, recordsOf, withRecordedCheckpoints, type TaskRecords } from './projection.js';
import { buildSearchFilter, MAX_PAGE_SIZE, sortOf, type TaskPage, type TaskSearch } from './search.js';
import type { Origin, Task, TaskCheckpoint, TaskStatus } from './types.js';

// The `tasks` collection, with two insert-only companions. FerretDB 1.24 applies an update as read, modify,
// write of the whole document without a lock, on its SQLite and PostgreSQL handlers alike: concurrent
// conditional updates can all "win" and concurrent updates of different fields can lose each other
// (docs/decisions/040, 045). An insert against a unique `_id` is atomic on FerretDB and MongoDB alike, so
// every decision that must happen once is an insert:
//   task_guards  `<taskId>:outcome` (succeeded/failed/cancelled, decided once), `<taskId>:cancel`,
//                `<taskId>:delivery:<n>` (claims on the final delivery), `<taskId>:delivered`
//   task_events  `<taskId>:<checkpoint>` (each checkpoint once, in completion order; `received` is the
//                creation itself and lives on the document only)
// The task document is the readable projection of those records; whoever settles a task writes it last, and
// a single-task read lays the records over it (FerretDB can lose a concurrent update: projection.ts).
// Writes are counted per research in core/jobs/writes.test.ts (decision 046).

export const TASKS_COLLECTION = 'tasks';

const TASK_INDEXES: NamedIndex[] = [
  { key: { requestKey: 1 }, name: 'requestKey_unique', unique: true },
  { key: { workspaceId: 1, createdAt: -1 }, name: 'workspace_time' },
  { key: { status: 1, createdAt: -1 }, name: 'status_time' },
  { key: { depth: 1, createdAt: -1 }, name: 'depth_time' },
  { key: { createdAt: -1 }, name: 'time' },
  { key: { keywords: 1 }, name: 'keywords' },
  { key: { score: -1 }, name: 'score' },
];

function toTask(doc: TaskDoc | null): Task | undefined {
  return doc ? taskOf(doc) : undefined;
}

export class TaskStore {
  readonly collection: Collection<TaskDoc>;
  readonly guards: Collection<GuardDoc>;
  readonly events: Collection<EventDoc>;
  private readonly now: () => Date;
  /** Checkpoint writes of one task are serialised in this process so a slower write never regresses the list. */
  private readonly checkpointChains = new Map<string, Promise<unknown>>();
  private seq = 0;

  constructor(mongo: Mongo, opts: { collection?: string; now?: () => Date } = {}) {
    const name = opts.collection ?? TASKS_COLLECTION;
    this.collection = mongo.db.collection<TaskDoc>(name);
    this.guards = mongo.db.collection<GuardDoc>(`${name}_guards`);
    this.events = mongo.db.collection<EventDoc>(`${name}_events`);
    this.now = opts.now ?? (() => new Date());
  }

  /** Creates the indexes that are missing, one per command (FerretDB: ferretdb.ts). */
  async ensureIndexes(): Promise<void> {
    await createMissingIndexes(this.collection, TASK_INDEXES);
    await createMissingIndexes(this.events, [{ key: { taskId: 1, at: 1 }, name: 'task_time' }]);
  }

  async get(id: string): Promise<Task | undefined> {
    const doc = await this.getDoc(id);
    return doc ? taskOf(doc) : undefined;
  }

  /** The document exactly as stored, for code that brings it up to date with the records. */
  async getStored(id: string): Promise<TaskDoc | undefined> {
    return (await this.collection.findOne({ _id: id })) ?? undefined;
  }

  /** The task with its internal fields, the insert-only records laid over the document (see projection.ts). */
  async getDoc(id: string): Promise<TaskDoc | undefined> {
    return (await this.getDocAndRecords(id))?.doc;
  }

  /** `getDoc` with the records it laid over the document (the outcome and cancel request among them). */
  async getDocAndRecords(id: string): Promise<{ doc: TaskDoc; records: TaskRecords } | undefined> {
    const [doc, events, guards] = await Promise.all([
      this.collection.findOne({ _id: id }),
      this.checkpointsOf(id),
      this.guards.find({ _id: { $in: [`${id}:outcome`, `${id}:delivered`, `${id}:cancel`] } }).toArray(),
    ]);
    if (!doc) return undefined;
    const records = recordsOf(id, events, guards);
    return { doc: projectTask(doc, records), records };
  }

  async getByRequestKey(requestKey: string): Promise<Task | undefined> {
    return toTask(await this.collection.findOne({ requestKey }));
  }

  /**
   * Creates the task with its `received` checkpoint, or returns the one already made for `requestKey`
   * (the unique index decides between concurrent creates). An id collision draws again, longer after a few.
   */
  async create(input: NewTask): Promise<{ task: Task; created: boolean }> {
    const existing = await this.getByRequestKey(input.requestKey);
    if (existing) return { task: existing, created: false };
    const at = this.now();
    for (let attempt = 0; attempt < 12; attempt++) {
      const id = newTaskId(attempt < 6 ? 4 : 6);
      const doc: TaskDoc = {
        _id: id,
        id,
        ...input,
        status: 'queued',
        checkpoints: [{ id: 'received', at }],
        checkpointIds: ['received'],
        keywords: keywordsOf(input.idea),
        attempts: 0,
        createdAt: at,
      };
      if (await insertOnce(this.collection, doc)) return { task: toTask(doc)!, created: true };
      const same = await this.getByRequestKey(input.requestKey);
      if (same) return { task: same, created: false };
    }
    throw new Error('could not allocate a task id after 12 attempts');
  }

  /** Deletes a task that never got credits (the reservation failed), so a retry of the same request starts clean. */
  async discardUnreserved(id: string): Promise<boolean> {
    const res = await this.collection.deleteOne({ _id: id, checkpointIds: { $ne: 'credits_reserved' } });
    if (res.deletedCount === 1) await this.events.deleteMany({ taskId: id });
    return res.deletedCount === 1;
  }

  /** How many of a workspace's tasks reached the queue (their `queued` checkpoint is recorded). */
  async countQueued(workspaceId: string): Promise<number> {
    const docs = await this.collection.find({ workspaceId }, { projection: { _id: 1 } }).toArray();
    if (docs.length === 0) return 0;
    return this.events.countDocuments({ taskId: { $in: docs.map((d) => d._id) }, id: 'queued' });
  }

  /** Ids of tasks still queued that were created before `before`, oldest first. */
  async queuedBefore(before: Date, limit = 50): Promise<string[]> {
    const docs = await this.collection
      .find({ status: 'queued', createdAt: { $lt: before } }, { projection: { _id: 1 } })
      .sort({ createdAt: 1 })
      .limit(limit)
      .toArray();
    return docs.map((d) => d._id);
  }

  async listByWorkspace(workspaceId: string, limit = 10): Promise<Task[]> {
    const docs = await this.collection
      .find({ workspaceId }, { projection: INTERNAL_FIELDS })
      .sort({ createdAt: -1, _id: 1 })
      .limit(Math.min(Math.max(limit, 1), MAX_PAGE_SIZE))
      .toArray();
    return this.withLiveCheckpoints(docs as unknown as Task[]);
  }

  /**
   * Lays the recorded checkpoints over the queued and running tasks of a list: their documents may not show
   * the newest yet (`queued` is recorded without touching the document). Finished tasks are synced.
   */
  private async withLiveCheckpoints(items: Task[]): Promise<Task[]> {
    const live = items.filter((t) => t.status === 'queued' || t.status === 'running').map((t) => t.id);
    if (live.length === 0) return items;
    const events = await this.events
      .find({ taskId: { $in: live } })
      .sort({ at: 1, seq: 1 })
      .toArray();
    return items.map((t) =>
      withRecordedCheckpoints(
        t,
        events.filter((e) => e.taskId === t.id).map((e) => ({ id: e.id, at: e.at })),
      ),
    );
  }

  async search(q: TaskSearch = {}): Promise<TaskPage> {
    const page = Math.max(1, Math.floor(q.page ?? 1));
    const pageSize = Math.min(MAX_PAGE_SIZE, Math.max(1, Math.floor(q.pageSize ?? 20)));
    const filter = buildSearchFilter(q);
    const [items, total] = await Promise.all([
      this.collection
        .find(filter, { projection: INTERNAL_FIELDS })
        .sort(sortOf(q.sort))
        .skip((page - 1) * pageSize)
        .limit(pageSize)
        .toArray(),
      this.collection.countDocuments(filter),
    ]);
    return { items: await this.withLiveCheckpoints(items as unknown as Task[]), total, page, pageSize };
  }

  /** Stores the message refs a surface posted (Slack `parentTs`/`statusTs`, Discord message ids). */
  async setOriginRefs(id: string, refs: Partial<Origin>): Promise<Task | undefined> {
    const set: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(refs)) if (k !== 'platform' && v !== undefined) set[`origin.${k}`] = v;
    if (Object.keys(set).length === 0) return this.get(id);
    return toTask(await this.collection.findOneAndUpdate({ _id: id }, { $set: set }, { returnDocument: 'after' }));
  }

  // ---- insert-only records ------------------------------------------------------------------------

  private insertGuard(doc: GuardDoc): Promise<boolean> {
    return insertOnce(this.guards, doc);
  }

  private insertEvent(taskId: string, id: CheckpointId, at: Date): Promise<boolean> {
    return insertOnce(this.events, { _id: `${taskId}:${id}`, taskId, id, at, seq: ++this.seq });
  }

  /** The checkpoints recorded for a task, in completion order. */
  async checkpointsOf(taskId: string): Promise<TaskCheckpoint[]> {
    const events = await this.events.find({ taskId }).sort({ at: 1, seq: 1 }).toArray();
    return events.map((e) => ({ id: e.id, at: e.at }));
  }

  /**
   * Records a checkpoint once without touching the task document; reads lay it over the document and the
   * final write (`markDelivered`) copies it on. Returns false for a repeat.
   */
  recordCheckpoint(id: string, checkpoint: CheckpointId, at: Date = this.now()): Promise<boolean> {
    return this.insertEvent(id, checkpoint, at);
  }

  /**
   * Records a checkpoint once (a repeat changes nothing and returns undefined) and appends it to the task
   * document's list, for a checkpoint a list view must show before the worker's final write (submit's).
   */
  addCheckpoint(id: string, checkpoint: CheckpointId, at: Date = this.now()): Promise<Task | undefined> {
    const run = async (): Promise<Task | undefined> => {
      if (!(await this.insertEvent(id, checkpoint, at))) return undefined;
      return toTask(
        await this.collection.findOneAndUpdate(
          { _id: id, checkpointIds: { $ne: checkpoint } },
          { $push: { checkpoints: { id: checkpoint, at }, checkpointIds: checkpoint } },
          { returnDocument: 'after' },
        ),
      );
    };
    const next = (this.checkpointChains.get(id) ?? Promise.resolve()).then(run, run);
    this.checkpointChains.set(id, next);
    void next
      .finally(() => {
        if (this.checkpointChains.get(id) === next) this.checkpointChains.delete(id);
      })
      .catch(() => undefined);
    return next;
  }

  /**
   * queued → running, counting the attempt, in one write (`startedAt` keeps the first start). Not a guard:
   * the outcome record decides what a task became.
   */
  async markStarted(id: string): Promise<void> {
    await this.collection.updateOne(
      { _id: id, status: { $in: ['queued', 'running'] } },
      { $set: { status: 'running' }, $min: { startedAt: this.now() }, $inc: { attempts: 1 } },
    );
  }

  /** Counts a transient failure and returns how many there have been (one worker runs a task at a time). */
  async recordFailure(id: string, detail: string): Promise<number> {
    const doc = await this.collection.findOneAndUpdate(
      { _id: id },
      { $inc: { failures: 1 }, $set: { lastFailure: detail } },
      { returnDocument: 'after' },
    );
    return doc?.failures ?? 1;
  }

  /** Records a cancel request once; undefined when one was already recorded. */
  async requestCancel(id: string, by: string): Promise<{ by: string; at: Date } | undefined> {
    const at = this.now();
    if (!(await this.insertGuard({ _id: `${id}:cancel`, taskId: id, by, at }))) return undefined;
    await this.collection.updateOne({ _id: id }, { $set: { cancelRequested: { by, at } } });
    return { by, at };
  }

  async cancelRequestOf(id: string): Promise<{ by: string; at: Date } | undefined> {
    const g = await this.guards.findOne({ _id: `${id}:cancel` });
    return g ? { by: g.by ?? 'unknown', at: g.at } : undefined;
  }

  async isCancelRequested(id: string): Promise<boolean> {
    return Boolean(await this.cancelRequestOf(id));
  }

  /** Decides how a task ended, once: returns the outcome that won (this one or an earlier one). */
  async decideOutcome(id: string, outcome: Outcome): Promise<{ outcome: Outcome; won: boolean }> {
    if (await this.insertGuard({ _id: `${id}:outcome`, taskId: id, outcome, at: this.now() }))
      return { outcome, won: true };
    return { outcome: (await this.outcomeOf(id))!, won: false };
  }

  async outcomeOf(id: string): Promise<Outcome | undefined> {
    return (await this.guards.findOne({ _id: `${id}:outcome` }))?.outcome;
  }

  /**
   * Writes the decided outcome (and, for a success, the report) onto the task document. Idempotent. `known`
   * is the task as the caller just read it with `getDoc` (its cancel request laid over), saving the reads.
   */
  async applyOutcome(
    id: string,
    outcome: Outcome,
    result?: ResearchResult,
    known?: TaskDoc,
  ): Promise<TaskDoc | undefined> {
    const doc = known ?? (await this.getDoc(id));
    if (!doc) return undefined;
    const set: Record<string, unknown> = { status: outcome.status, finishedAt: doc.finishedAt ?? this.now() };
    if (outcome.status !== 'succeeded') Object.assign(set, { error: outcome.error, refunded: outcome.refunded });
    if (result) {
      Object.assign(set, {
        report: { markdown: result.markdown, json: result.report },
        usage: result.usage,
        score: result.report.score.total,
        keywords: [...new Set([...doc.keywords, ...keywordsOf(result.report.title, result.report.summary)])],
      });
    }
    const cancel = known ? doc.cancelRequested : await this.cancelRequestOf(id);
    if (cancel) set.cancelRequested = cancel;
    return (
      (await this.collection.findOneAndUpdate({ _id: id }, { $set: set }, { returnDocument: 'after' })) ?? undefined
    );
  }

  /** Marks the task's credits settled (a marker for readers; the ledger itself makes settlement exactly-once). */
  async markCredits(id: string, how: 'captured' | 'released'): Promise<void> {
    await this.collection.updateOne({ _id: id }, { $set: { [`credits.${how}`]: this.now() } });
  }

  /**
   * Claims the final delivery for one handler run (`owner` is unique per run). Claims are numbered inserts:
   * a claim older than `leaseMs` belongs to a run presumed dead and is superseded by inserting the next one,
   * which only one contender can do. Returns false while another live run holds it or once it is done.
   */
  async claimDelivery(id: string, owner: string, leaseMs: number): Promise<boolean> {
    const guards = await this.guards.find({ taskId: id }).toArray();
    if (guards.some((g) => g._id === `${id}:delivered`)) return false;
    const claims = guards.filter((g) => g.owner !== undefined);
    const latest = claims.sort((a, b) => b.at.getTime() - a.at.getTime())[0];
    if (latest?.owner === owner) return true;
    if (latest && latest.at.getTime() > this.now().getTime() - leaseMs) return false;
    return this.insertGuard({ _id: `${id}:delivery:${claims.length}`, taskId: id, owner, at: this.now() });
  }

  async isDelivered(id: string): Promise<boolean> {
    return Boolean(await this.guards.findOne({ _id: `${id}:delivered` }));
  }

  /**
   * Records the final delivery (and, when it could never succeed, why), once, then brings the document up
   * to date in the same write: the final status and checkpoints, and the credits settled on the way.
   */
  async markDelivered(
    id: string,
    failedPermanently?: string,
    final: { status?: TaskStatus; checkpoints?: TaskCheckpoint[]; credits?: 'captured' | 'released' } = {},
  ): Promise<TaskDoc | undefined> {
    const at = this.now();
    const guard: GuardDoc = { _id: `${id}:delivered`, taskId: id, at };
    if (failedPermanently) guard.failedPermanently = failedPermanently;
    if (!(await this.insertGuard(guard))) return undefined;
    const set: Record<string, unknown> = { deliveredAt: at };
    if (failedPermanently) set['delivery.failedPermanently'] = failedPermanently;
    if (final.status) set.status = final.status;
    if (final.checkpoints) {
      // What the delivered record proves is shown by every read (projection.ts); the copy is for lists.
      const checkpoints =
        final.status === 'succeeded' && !failedPermanently
          ? [...final.checkpoints.filter((c) => c.id !== 'delivered'), { id: 'delivered' as const, at }]
          : final.checkpoints;
      Object.assign(set, { checkpoints, checkpointIds: checkpoints.map((c) => c.id) });
    }
    if (final.credits) set[`credits.${final.credits}`] = at;
    return (
      (await this.collection.findOneAndUpdate({ _id: id }, { $set: set }, { returnDocument: 'after' })) ?? undefined
    );
  }

  async recordDeliveryProblem(id: string, failedPermanently: string): Promise<void> {
    // A progress edit refused after the final delivery must not replace what the final delivery recorded.
    await this.collection.updateOne(
      { _id: id, deliveredAt: { $exists: false } },
      { $set: { 'delivery.failedPermanently': failedPermanently } },
    );
  }
}
