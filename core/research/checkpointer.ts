// A LangGraph checkpointer for MongoDB that addresses every document by `_id` only. FerretDB 1.24 (SQLite)
// pushes only `_id` lookups down to its storage; the stock MongoDBSaver filters and upserts on
// (thread_id, checkpoint_ns, checkpoint_id, task_id, idx), which FerretDB answers by scanning the
// collection — seconds per write once a few runs are stored (decision 031). Same data, same serde.
//
// Documents (collection `research_checkpoints`):
//   head:<thread>:<ns>        { latest }                         — the newest checkpoint id of the thread
//   cp:<thread>:<ns>:<id>     { thread_id, parent, type, checkpoint, metadata }
//   w:<thread>:<ns>:<id>      { thread_id, w: { "<task>~<idx>": { task, path, idx, channel, type, value } } }
import {
  BaseCheckpointSaver,
  compareWritesSortKeys,
  writesSortKey,
  WRITES_IDX_MAP,
  type ChannelVersions,
  type Checkpoint,
  type CheckpointListOptions,
  type CheckpointMetadata,
  type CheckpointTuple,
  type PendingWrite,
  type SerializerProtocol,
} from '@langchain/langgraph-checkpoint';
import type { RunnableConfig } from '@langchain/core/runnables';
import { Binary, type Collection, type Db } from 'mongodb';

type Doc = { _id: string; [k: string]: unknown };
type CheckpointDoc = Doc & {
  thread_id: string;
  ns: string;
  checkpoint_id: string;
  parent?: string;
  type: string;
  checkpoint: Binary;
  metadata: Binary;
};
type WriteEntry = { task: string; path: string; idx: number; channel: string; type: string; value: Binary };
type WritesDoc = Doc & { w?: Record<string, WriteEntry> };

function str(config: RunnableConfig, key: string): string | undefined {
  const v = config.configurable?.[key];
  return typeof v === 'string' ? v : undefined;
}

// `:` separates the parts of an _id; escaping keeps a thread id that contains one from colliding.
const part = (s: string) => s.replace(/%/g, '%25').replace(/:/g, '%3A');
const headId = (t: string, ns: string) => `head:${part(t)}:${part(ns)}`;
const cpId = (t: string, ns: string, id: string) => `cp:${part(t)}:${part(ns)}:${part(id)}`;
const writesId = (t: string, ns: string, id: string) => `w:${part(t)}:${part(ns)}:${part(id)}`;
// Field names may not contain `.` or `$`, nor start with `$`.
const writeKey = (task: string, idx: number) =>
  `${task.replace(/[.$%]/g, (c) => `%${c.charCodeAt(0).toString(16)}`)}~${idx}`;

const bytes = (b: Binary) => b.value();

const BUSY_RETRIES = 8;

/**
 * One write, made robust to two things FerretDB does under concurrency: two upserts of one new _id (the loser
 * gets E11000 and simply applies its update to the winner's document), and SQLite's writer lock
 * ("database is locked", SQLITE_BUSY) when many runs write at once — retried with a short jittered backoff.
 */
async function upsert(op: () => Promise<unknown>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await op();
      return;
    } catch (err) {
      const e = err as { code?: unknown; message?: unknown };
      if (e.code === 11000 && attempt === 0) continue;
      const busy = typeof e.message === 'string' && /database is locked|SQLITE_BUSY/.test(e.message);
      if (!busy || attempt >= BUSY_RETRIES) throw err;
      await new Promise((r) => setTimeout(r, Math.min(500, 20 * 2 ** attempt) * (0.5 + Math.random() / 2)));
    }
  }
}

export class ResearchCheckpointSaver extends BaseCheckpointSaver {
  private readonly docs: Collection<Doc>;

  constructor(db: Db, collection = 'research_checkpoints', serde?: SerializerProtocol) {
    super(serde);
    this.docs = db.collection<Doc>(collection);
  }

  /** An index for list()/deleteThread(); the hot path needs none (every lookup is by _id). */
  async setup(): Promise<void> {
    await this.docs.createIndex({ thread_id: 1 });
  }

  async getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    const thread = str(config, 'thread_id');
    if (!thread) return undefined;
    const ns = str(config, 'checkpoint_ns') ?? '';
    let id = str(config, 'checkpoint_id');
    if (!id) {
      const head = await this.docs.findOne({ _id: headId(thread, ns) });
      id = typeof head?.latest === 'string' ? head.latest : undefined;
      if (!id) return undefined;
    }
    const [cp, writes] = await Promise.all([
      this.docs.findOne({ _id: cpId(thread, ns, id) }),
      this.docs.findOne({ _id: writesId(thread, ns, id) }),
    ]);
    if (!cp) return undefined;
    return this.toTuple(cp as CheckpointDoc, writes as WritesDoc | null);
  }

  async *list(config: RunnableConfig, options?: CheckpointListOptions): AsyncGenerator<CheckpointTuple> {
    const thread = str(config, 'thread_id');
    const ns = str(config, 'checkpoint_ns');
    const before = options?.before ? str(options.before, 'checkpoint_id') : undefined;
    const query: Record<string, unknown> = { kind: 'cp' };
    if (thread) query.thread_id = thread;
    if (ns !== undefined) query.ns = ns;
    const found = (await this.docs.find(query).toArray()) as CheckpointDoc[];
    const filter = options?.filter ?? {};
    const rows = found
      .filter((d) => !before || d.checkpoint_id < before)
      .sort((a, b) => (a.checkpoint_id < b.checkpoint_id ? 1 : -1));
    let yielded = 0;
    for (const cp of rows) {
      if (options?.limit !== undefined && yielded >= options.limit) return;
      const writes = (await this.docs.findOne({
        _id: writesId(cp.thread_id, cp.ns, cp.checkpoint_id),
      })) as WritesDoc | null;
      const tuple = await this.toTuple(cp, writes);
      const metadata = (tuple.metadata ?? {}) as Record<string, unknown>;
      if (Object.entries(filter).some(([k, v]) => metadata[k] !== v)) continue;
      yielded += 1;
      yield tuple;
    }
  }

  async put(
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    _newVersions: ChannelVersions,
  ): Promise<RunnableConfig> {
    const thread = str(config, 'thread_id');
    if (!thread) throw new Error('checkpointer: configurable.thread_id is required');
    const ns = str(config, 'checkpoint_ns') ?? '';
    const parent = str(config, 'checkpoint_id');
    const [[type, cpBytes], [metaType, metaBytes]] = await Promise.all([
      this.serde.dumpsTyped(checkpoint),
      this.serde.dumpsTyped(metadata),
    ]);
    if (type !== metaType) throw new Error('checkpointer: mismatched checkpoint and metadata types');
    const doc = {
      kind: 'cp',
      thread_id: thread,
      ns,
      checkpoint_id: checkpoint.id,
      ...(parent ? { parent } : {}),
      type,
      checkpoint: new Binary(cpBytes),
      metadata: new Binary(metaBytes),
    };
    await upsert(() => this.docs.replaceOne({ _id: cpId(thread, ns, checkpoint.id) }, doc, { upsert: true }));
    // Written after the checkpoint itself, so the head never points at a checkpoint that is not there.
    // LangGraph chains the puts of one run, so heads are written in order.
    await upsert(() =>
      this.docs.replaceOne(
        { _id: headId(thread, ns) },
        { kind: 'head', thread_id: thread, ns, latest: checkpoint.id },
        { upsert: true },
      ),
    );
    return { configurable: { thread_id: thread, checkpoint_ns: ns, checkpoint_id: checkpoint.id } };
  }

  async putWrites(config: RunnableConfig, writes: PendingWrite[], taskId: string, taskPath = ''): Promise<void> {
    const thread = str(config, 'thread_id');
    const id = str(config, 'checkpoint_id');
    if (!thread || !id) throw new Error('checkpointer: thread_id and checkpoint_id are required to store writes');
    const ns = str(config, 'checkpoint_ns') ?? '';
    if (writes.length === 0) return;
    const set: Record<string, WriteEntry> = {};
    await Promise.all(
      writes.map(async ([channel, value], i) => {
        const idx = WRITES_IDX_MAP[channel] ?? i;
        const [type, serialized] = await this.serde.dumpsTyped(value);
        set[`w.${writeKey(taskId, idx)}`] = {
          task: taskId,
          path: taskPath,
          idx,
          channel,
          type,
          value: new Binary(serialized),
        };
      }),
    );
    await upsert(() =>
      this.docs.updateOne(
        { _id: writesId(thread, ns, id) },
        { $set: { kind: 'w', thread_id: thread, ns, ...set } },
        { upsert: true },
      ),
    );
  }

  async deleteThread(threadId: string): Promise<void> {
    await this.docs.deleteMany({ thread_id: threadId });
  }

  private async toTuple(cp: CheckpointDoc, writes: WritesDoc | null): Promise<CheckpointTuple> {
    const entries = Object.values(writes?.w ?? {}).sort((a, b) =>
      compareWritesSortKeys(writesSortKey(a.path, a.task, a.idx), writesSortKey(b.path, b.task, b.idx)),
    );
    const pendingWrites = await Promise.all(
      entries.map(
        async (e) =>
          [e.task, e.channel, await this.serde.loadsTyped(e.type, bytes(e.value))] as [string, string, unknown],
      ),
    );
    const configurable = { thread_id: cp.thread_id, checkpoint_ns: cp.ns, checkpoint_id: cp.checkpoint_id };
    return {
      config: { configurable },
      checkpoint: (await this.serde.loadsTyped(cp.type, bytes(cp.checkpoint))) as Checkpoint,
      metadata: (await this.serde.loadsTyped(cp.type, bytes(cp.metadata))) as CheckpointMetadata,
      pendingWrites,
      ...(cp.parent ? { parentConfig: { configurable: { ...configurable, checkpoint_id: cp.parent } } } : {}),
    };
  }
}
