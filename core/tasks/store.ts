import { MongoServerError, type Collection, type Filter, type Sort } from 'mongodb';
import type { CheckpointId } from '../research/checkpoints.js';
import type { ResearchResult } from '../research/contract.js';
import type { Depth } from '../research/depth.js';
import type { Mongo } from '../storage/index.js';
import { newTaskId } from './ids.js';
import { keywordsOf, parseKeywordQuery, prefixPattern } from './keywords.js';
import type { Origin, Platform, Task, TaskStatus } from './types.js';

// The `tasks` collection. Every state change that must happen once (start, finish, final delivery, credit
// settlement) is one conditional update whose filter says "only if not already done", so two workers that
// briefly overlap on the same job cannot both do it: the loser's update matches nothing.

export const TASKS_COLLECTION = 'tasks';

/** What the store keeps beside the public Task: search keywords, the score as a top-level indexed field,
 *  the caller's request key and the exactly-once guards. */
export type TaskDoc = Task & {
  _id: string;
  requestKey: string;
  keywords: string[];
  /** The ids of `checkpoints`: FerretDB 1.24 mis-evaluates `{'checkpoints.id': {$ne: …}}` on arrays of
   *  sub-documents, so the once-only guard filters on this array of strings instead. */
  checkpointIds: string[];
  score?: number;
  jobId?: string;
  /** Research attempts started (a worker taking over after a crash counts too). */
  attempts: number;
  /** Transient failures so far; the job gives up after JOB_MAX_ATTEMPTS. */
  failures?: number;
  lastFailure?: string;
  /** The worker that currently owns the final delivery, so an overlapping worker does not deliver twice. */
  deliveryClaim?: { owner: string; at: Date };
  /** Set once the final message (report, failure or cancellation) has been delivered or given up on. */
  deliveredAt?: Date;
  credits?: { captured?: Date; released?: Date };
};

export type NewTask = {
  requestKey: string;
  workspaceId: string;
  requester: { id: string; name?: string };
  origin: Origin;
  idea: string;
  depth: Depth;
  cost: number;
  retryOf?: string;
};

export type TaskSort = 'newest' | 'oldest' | 'score_desc' | 'score_asc';

export type TaskSearch = {
  /** Search-box text: whole words must match a keyword, a last word still being typed matches as a prefix. */
  text?: string;
  depth?: Depth;
  status?: TaskStatus;
  platform?: Platform;
  workspaceId?: string;
  from?: Date;
  to?: Date;
  scoreMin?: number;
  scoreMax?: number;
  sort?: TaskSort;
  /** 1-based. */
  page?: number;
  /** Default 20, at most 100. */
  pageSize?: number;
};

export type TaskPage = { items: Task[]; total: number; page: number; pageSize: number };

export type FinalOutcome = { status: 'failed' | 'cancelled'; error: { userMessage: string; detail: string }; refunded: number };

const ACTIVE: TaskStatus[] = ['queued', 'running'];
const MAX_PAGE_SIZE = 100;
const INTERNAL_FIELDS = {
  _id: 0, requestKey: 0, keywords: 0, checkpointIds: 0, score: 0, deliveryClaim: 0, failures: 0, lastFailure: 0, jobId: 0, attempts: 0, deliveredAt: 0, credits: 0,
} as const;

function isDuplicateKey(err: unknown): err is MongoServerError {
  return err instanceof MongoServerError && err.code === 11000;
}

/** The public Task of a stored document (search and guard fields left out). */
export function taskOf(doc: TaskDoc): Task {
  const { _id, requestKey, keywords, checkpointIds, score, deliveryClaim, failures, lastFailure, jobId, attempts, deliveredAt, credits, ...task } = doc;
  void _id, void requestKey, void keywords, void checkpointIds, void score, void deliveryClaim, void failures, void lastFailure;
  void jobId, void attempts, void deliveredAt, void credits;
  return task;
}

function toTask(doc: TaskDoc | null): Task | undefined {
  return doc ? taskOf(doc) : undefined;
}

export function buildSearchFilter(q: TaskSearch): Filter<TaskDoc> {
  const and: Filter<TaskDoc>[] = [];
  if (q.workspaceId) and.push({ workspaceId: q.workspaceId });
  if (q.depth) and.push({ depth: q.depth });
  if (q.status) and.push({ status: q.status });
  if (q.platform) and.push({ 'origin.platform': q.platform });
  if (q.from) and.push({ createdAt: { $gte: q.from } });
  if (q.to) and.push({ createdAt: { $lt: q.to } });
  if (q.scoreMin !== undefined) and.push({ score: { $gte: q.scoreMin } });
  if (q.scoreMax !== undefined) and.push({ score: { $lte: q.scoreMax } });
  if (q.text) {
    const words = parseKeywordQuery(q.text);
    for (const w of words.exact) and.push({ keywords: w });
    if (words.prefix) and.push({ keywords: { $regex: prefixPattern(words.prefix) } });
  }
  return and.length ? { $and: and } : {};
}

function sortOf(sort: TaskSort = 'newest'): Sort {
  switch (sort) {
    case 'oldest':
      return { createdAt: 1, _id: 1 };
    case 'score_desc':
      return { score: -1, createdAt: -1, _id: 1 };
    case 'score_asc':
      return { score: 1, createdAt: -1, _id: 1 };
    default:
      return { createdAt: -1, _id: 1 };
  }
}

export class TaskStore {
  readonly collection: Collection<TaskDoc>;
  private readonly now: () => Date;

  constructor(mongo: Mongo, opts: { collection?: string; now?: () => Date } = {}) {
    this.collection = mongo.db.collection<TaskDoc>(opts.collection ?? TASKS_COLLECTION);
    this.now = opts.now ?? (() => new Date());
  }

  async ensureIndexes(): Promise<void> {
    await this.collection.createIndexes([
      { key: { requestKey: 1 }, name: 'requestKey_unique', unique: true },
      { key: { workspaceId: 1, createdAt: -1 }, name: 'workspace_time' },
      { key: { status: 1, createdAt: -1 }, name: 'status_time' },
      { key: { depth: 1, createdAt: -1 }, name: 'depth_time' },
      { key: { createdAt: -1 }, name: 'time' },
      { key: { keywords: 1 }, name: 'keywords' },
      { key: { score: -1 }, name: 'score' },
    ]);
  }

  async get(id: string): Promise<Task | undefined> {
    return toTask(await this.collection.findOne({ _id: id }));
  }

  /** The stored document with its internal guards (for the job layer and tests). */
  async getDoc(id: string): Promise<TaskDoc | undefined> {
    return (await this.collection.findOne({ _id: id })) ?? undefined;
  }

  async getByRequestKey(requestKey: string): Promise<Task | undefined> {
    return toTask(await this.collection.findOne({ requestKey }));
  }

  /**
   * Creates the task with its `received` checkpoint, or returns the one already made for `requestKey`.
   * Ids are drawn at random; an id collision (duplicate `_id`) draws again, a longer id after a few tries.
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
      try {
        await this.collection.insertOne(doc);
        return { task: toTask(doc)!, created: true };
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        const same = await this.getByRequestKey(input.requestKey);
        if (same) return { task: same, created: false };
      }
    }
    throw new Error('could not allocate a task id after 12 attempts');
  }

  /** Deletes a task that never got credits (the reservation failed), so a retry of the same request starts clean. */
  async discardUnreserved(id: string): Promise<boolean> {
    const res = await this.collection.deleteOne({ _id: id, checkpointIds: { $ne: 'credits_reserved' } });
    return res.deletedCount === 1;
  }

  async listByWorkspace(workspaceId: string, limit = 10): Promise<Task[]> {
    const docs = await this.collection
      .find({ workspaceId }, { projection: INTERNAL_FIELDS })
      .sort({ createdAt: -1, _id: 1 })
      .limit(Math.min(Math.max(limit, 1), MAX_PAGE_SIZE))
      .toArray();
    return docs as unknown as Task[];
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
    return { items: items as unknown as Task[], total, page, pageSize };
  }

  /** Stores the message refs a surface posted (Slack `parentTs`/`statusTs`, Discord message ids). */
  async setOriginRefs(id: string, refs: Partial<Origin>): Promise<Task | undefined> {
    const set: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(refs)) if (k !== 'platform' && v !== undefined) set[`origin.${k}`] = v;
    if (Object.keys(set).length === 0) return this.get(id);
    return toTask(await this.collection.findOneAndUpdate({ _id: id }, { $set: set }, { returnDocument: 'after' }));
  }

  /** Appends a checkpoint once; a repeat (a resumed run reporting it again) changes nothing. */
  async addCheckpoint(id: string, checkpoint: CheckpointId, at: Date = this.now()): Promise<Task | undefined> {
    const doc = await this.collection.findOneAndUpdate(
      { _id: id, checkpointIds: { $ne: checkpoint } },
      { $push: { checkpoints: { id: checkpoint, at }, checkpointIds: checkpoint } },
      { returnDocument: 'after' },
    );
    return toTask(doc);
  }

  async setJobId(id: string, jobId: string): Promise<void> {
    await this.collection.updateOne({ _id: id }, { $set: { jobId } });
  }

  /** queued → running (or a takeover of a running task). Undefined when the task is finished or cancelled. */
  async markStarted(id: string): Promise<TaskDoc | undefined> {
    const at = this.now();
    const first = await this.collection.findOneAndUpdate(
      { _id: id, status: 'queued', cancelRequested: { $exists: false } },
      { $set: { status: 'running', startedAt: at }, $inc: { attempts: 1 } },
      { returnDocument: 'after' },
    );
    if (first) return first;
    return (
      (await this.collection.findOneAndUpdate(
        { _id: id, status: 'running', cancelRequested: { $exists: false } },
        { $inc: { attempts: 1 } },
        { returnDocument: 'after' },
      )) ?? undefined
    );
  }

  /** running → succeeded with the report, unless a cancel or another worker got there first. */
  async storeResult(id: string, result: ResearchResult): Promise<TaskDoc | undefined> {
    const at = this.now();
    const doc = await this.collection.findOneAndUpdate(
      { _id: id, status: 'running', cancelRequested: { $exists: false } },
      {
        $set: {
          status: 'succeeded',
          report: { markdown: result.markdown, json: result.report },
          usage: result.usage,
          score: result.report.score.total,
          finishedAt: at,
        },
        $addToSet: { keywords: { $each: keywordsOf(result.report.title, result.report.summary) } },
      },
      { returnDocument: 'after' },
    );
    return doc ?? undefined;
  }

  /** queued/running → failed or cancelled, once. */
  async finish(id: string, outcome: FinalOutcome): Promise<TaskDoc | undefined> {
    const doc = await this.collection.findOneAndUpdate(
      { _id: id, status: { $in: ACTIVE } },
      { $set: { status: outcome.status, error: outcome.error, refunded: outcome.refunded, finishedAt: this.now() } },
      { returnDocument: 'after' },
    );
    return doc ?? undefined;
  }

  /** Marks a queued or running task for cancellation, once. For a queued task this also ends it at once. */
  async requestCancel(id: string, by: string): Promise<TaskDoc | undefined> {
    const at = this.now();
    const doc = await this.collection.findOneAndUpdate(
      { _id: id, status: { $in: ACTIVE }, cancelRequested: { $exists: false } },
      { $set: { cancelRequested: { by, at } } },
      { returnDocument: 'after' },
    );
    return doc ?? undefined;
  }

  /** Counts a transient failure and returns how many there have been. */
  async recordFailure(id: string, detail: string): Promise<number> {
    const doc = await this.collection.findOneAndUpdate(
      { _id: id },
      { $inc: { failures: 1 }, $set: { lastFailure: detail } },
      { returnDocument: 'after', projection: { failures: 1 } },
    );
    return doc?.failures ?? 1;
  }

  async isCancelRequested(id: string): Promise<boolean> {
    const doc = await this.collection.findOne({ _id: id }, { projection: { cancelRequested: 1, status: 1 } });
    return Boolean(doc?.cancelRequested) || doc?.status === 'cancelled';
  }

  /** Marks the credits of a task settled once; false if they already were (captured or released). */
  async markCredits(id: string, how: 'captured' | 'released'): Promise<boolean> {
    const res = await this.collection.updateOne(
      { _id: id, 'credits.captured': { $exists: false }, 'credits.released': { $exists: false } },
      { $set: { [`credits.${how}`]: this.now() } },
    );
    return res.modifiedCount === 1;
  }

  /**
   * Claims the final delivery for `owner`. A claim older than `leaseMs` belongs to a worker presumed dead
   * and may be taken over; a delivered task can never be claimed again.
   */
  async claimDelivery(id: string, owner: string, leaseMs: number): Promise<TaskDoc | undefined> {
    const at = this.now();
    const doc = await this.collection.findOneAndUpdate(
      {
        _id: id,
        deliveredAt: { $exists: false },
        $or: [
          { deliveryClaim: { $exists: false } },
          { 'deliveryClaim.owner': owner },
          { 'deliveryClaim.at': { $lt: new Date(at.getTime() - leaseMs) } },
        ],
      },
      { $set: { deliveryClaim: { owner, at } } },
      { returnDocument: 'after' },
    );
    return doc ?? undefined;
  }

  /** Records the final delivery (and, when it could never succeed, why), once. */
  async markDelivered(id: string, failedPermanently?: string): Promise<TaskDoc | undefined> {
    const set: Record<string, unknown> = { deliveredAt: this.now() };
    if (failedPermanently) set['delivery.failedPermanently'] = failedPermanently;
    const doc = await this.collection.findOneAndUpdate(
      { _id: id, deliveredAt: { $exists: false } },
      { $set: set },
      { returnDocument: 'after' },
    );
    return doc ?? undefined;
  }

  async recordDeliveryProblem(id: string, failedPermanently: string): Promise<void> {
    await this.collection.updateOne({ _id: id }, { $set: { 'delivery.failedPermanently': failedPermanently } });
  }
}
