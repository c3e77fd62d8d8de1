// A LangGraph checkpointer on PostgreSQL (tables from migrations/004_research_checkpoints.ts): the graph's own
// persistence, which lets a crashed run resume; not the 17 progress steps people see (those are checkpoints.ts).
// Every step of a run stores its checkpoint before the next one starts, so this sits on the research's critical
// path: one statement per checkpoint and one per task's writes (decision 035), grouped with those of the other
// runs of the process that arrive meanwhile. A checkpoint row leaves out its channel values; each value is
// stored once per version, when its channel changes, so a step that adds an analysis does not store the pages
// again.
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
import type { Db } from '../storage/postgres.js';
import { StatementBatcher } from '../storage/statement-batcher.js';

type CheckpointRow = {
  thread_id: string;
  checkpoint_ns: string;
  checkpoint_id: string;
  parent_checkpoint_id: string | null;
  type: string;
  checkpoint: Buffer;
  metadata: Buffer;
};
type BlobRow = { channel: string; type: string; blob: Buffer | null };
type WriteRow = { task_id: string; idx: number; task_path: string; channel: string; type: string; value: Buffer };

function str(config: RunnableConfig, key: string): string | undefined {
  const v = config.configurable?.[key];
  return typeof v === 'string' ? v : undefined;
}

const buffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

// The version of a channel that has no value (LangGraph keeps versions of emptied trigger channels).
const EMPTY = 'empty';

const CHECKPOINT_COLUMNS = 'thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata';
const WRITE_COLUMNS = 'thread_id, checkpoint_ns, checkpoint_id, task_id, idx, task_path, channel, type, value';

type Params = (string | number | Buffer | null)[];
/** A checkpoint's row and the rows of its new channel values, ready to insert. */
type StoredCheckpoint = { checkpoint: Params; blobs: Params[] };

/**
 * Statements of each kind running at once. Twenty concurrent runs gave about 360 statements one by one; the
 * syscalls and commits of each were most of the saver's cost in this 2-core VM (decision 035).
 */
const BATCHING = { maxInFlight: 4, maxBatch: 64 };

const placeholders = (rows: readonly Params[]) => rows.map((r) => `(${r.map(() => '?').join(', ')})`).join(', ');

export class ResearchCheckpointSaver extends BaseCheckpointSaver {
  private readonly checkpoints: StatementBatcher<StoredCheckpoint, true>;
  private readonly writes: StatementBatcher<Params[], true>;

  constructor(
    private readonly db: Db,
    serde?: SerializerProtocol,
  ) {
    super(serde);
    // Several checkpoints in one statement, so a crash never stores a checkpoint without the values it refers
    // to. Two versions of one checkpoint (a re-run step) never share a statement: their claim keeps them apart.
    this.checkpoints = new StatementBatcher(async (items) => {
      const blobs = items.flatMap((i) => i.blobs);
      const storeBlobs = blobs.length
        ? `with blobs as (
             insert into research_checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, blob)
             values ${placeholders(blobs)}
             on conflict (thread_id, checkpoint_ns, channel, version) do nothing)`
        : '';
      const rows = items.map((i) => i.checkpoint);
      await this.db.raw(
        `${storeBlobs}
         insert into research_checkpoints (${CHECKPOINT_COLUMNS}) values ${placeholders(rows)}
         on conflict (thread_id, checkpoint_ns, checkpoint_id) do update set
           parent_checkpoint_id = excluded.parent_checkpoint_id, type = excluded.type,
           checkpoint = excluded.checkpoint, metadata = excluded.metadata`,
        [...blobs.flat(), ...rows.flat()],
      );
      return items.map(() => true as const);
    }, BATCHING);
    // A task's ordinary writes are final once stored: a late duplicate of the task (a worker that lost its
    // lock) must not replace them, and `do nothing` also takes two copies of a row in one statement.
    this.writes = new StatementBatcher(async (items) => {
      const rows = items.flat();
      await this.db.raw(
        `insert into research_checkpoint_writes (${WRITE_COLUMNS}) values ${placeholders(rows)}
         on conflict (thread_id, checkpoint_ns, checkpoint_id, task_id, idx) do nothing`,
        rows.flat(),
      );
      return items.map(() => true as const);
    }, BATCHING);
  }

  /** Statements started and the calls they carried, per kind: the grouping achieved (tests, benchmarks). */
  get batching() {
    return { checkpoints: this.checkpoints.stats, writes: this.writes.stats };
  }

  async getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    const thread = str(config, 'thread_id');
    if (!thread) return undefined;
    const ns = str(config, 'checkpoint_ns') ?? '';
    const id = str(config, 'checkpoint_id');
    const { rows } = id
      ? await this.db.raw<{ rows: CheckpointRow[] }>(
          `select ${CHECKPOINT_COLUMNS} from research_checkpoints
            where thread_id = ? and checkpoint_ns = ? and checkpoint_id = ?`,
          [thread, ns, id],
        )
      : await this.db.raw<{ rows: CheckpointRow[] }>(
          `select ${CHECKPOINT_COLUMNS} from research_checkpoints
            where thread_id = ? and checkpoint_ns = ? order by checkpoint_id desc limit 1`,
          [thread, ns],
        );
    const row = rows[0];
    return row ? this.toTuple(row) : undefined;
  }

  /**
   * The next counter plus a random fraction: still ordered, and unique, so that a run resumed after a crash
   * (or a late duplicate of one) never reuses a (channel, version) that another attempt stored differently.
   */
  override getNextVersion(current: number | undefined): number {
    return Math.floor(current ?? 0) + 1 + Math.random();
  }

  async *list(config: RunnableConfig, options?: CheckpointListOptions): AsyncGenerator<CheckpointTuple> {
    const where: string[] = [];
    const bindings: string[] = [];
    const add = (sql: string, value: string | undefined) => {
      if (value === undefined) return;
      where.push(sql);
      bindings.push(value);
    };
    add('thread_id = ?', str(config, 'thread_id'));
    add('checkpoint_ns = ?', str(config, 'checkpoint_ns'));
    add('checkpoint_id < ?', options?.before ? str(options.before, 'checkpoint_id') : undefined);
    const { rows } = await this.db.raw<{ rows: CheckpointRow[] }>(
      `select ${CHECKPOINT_COLUMNS} from research_checkpoints
        ${where.length ? `where ${where.join(' and ')}` : ''} order by checkpoint_id desc`,
      bindings,
    );
    const filter = options?.filter ?? {};
    let yielded = 0;
    for (const row of rows) {
      if (options?.limit !== undefined && yielded >= options.limit) return;
      const tuple = await this.toTuple(row);
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
    newVersions: ChannelVersions,
  ): Promise<RunnableConfig> {
    const thread = str(config, 'thread_id');
    if (!thread) throw new Error('checkpointer: configurable.thread_id is required');
    const ns = str(config, 'checkpoint_ns') ?? '';
    const parent = str(config, 'checkpoint_id') ?? null;
    const { channel_values: values, ...rest } = checkpoint;
    const [[type, cpBytes], [metaType, metaBytes], blobs] = await Promise.all([
      this.serde.dumpsTyped({ ...rest, channel_values: {} }),
      this.serde.dumpsTyped(metadata),
      Promise.all(
        Object.entries(newVersions).map(async ([channel, version]) => {
          const [blobType, bytes] =
            channel in values ? await this.serde.dumpsTyped(values[channel]) : [EMPTY, undefined];
          return [thread, ns, channel, String(version), blobType, bytes ? buffer(bytes) : null];
        }),
      ),
    ]);
    if (type !== metaType) throw new Error('checkpointer: mismatched checkpoint and metadata types');
    await this.checkpoints.submit(
      {
        checkpoint: [thread, ns, checkpoint.id, parent, type, buffer(cpBytes), buffer(metaBytes)],
        blobs,
      },
      { exclusive: [`${thread}\u0000${ns}\u0000${checkpoint.id}`] },
    );
    return { configurable: { thread_id: thread, checkpoint_ns: ns, checkpoint_id: checkpoint.id } };
  }

  async putWrites(config: RunnableConfig, writes: PendingWrite[], taskId: string, taskPath = ''): Promise<void> {
    const thread = str(config, 'thread_id');
    const id = str(config, 'checkpoint_id');
    if (!thread || !id) throw new Error('checkpointer: thread_id and checkpoint_id are required to store writes');
    const ns = str(config, 'checkpoint_ns') ?? '';
    if (writes.length === 0) return;
    const rows: Params[] = await Promise.all(
      writes.map(async ([channel, value], i) => {
        const [type, serialized] = await this.serde.dumpsTyped(value);
        return [thread, ns, id, taskId, WRITES_IDX_MAP[channel] ?? i, taskPath, channel, type, buffer(serialized)];
      }),
    );
    if (writes.some(([channel]) => !(channel in WRITES_IDX_MAP))) {
      await this.writes.submit(rows, { exclusive: [] });
      return;
    }
    // The special channels (errors, interrupts) carry the latest state instead: rare, and stored on their own.
    await this.db.raw(
      `insert into research_checkpoint_writes (${WRITE_COLUMNS}) values ${placeholders(rows)}
       on conflict (thread_id, checkpoint_ns, checkpoint_id, task_id, idx) do update set
         channel = excluded.channel, type = excluded.type, value = excluded.value`,
      rows.flat(),
    );
  }

  async deleteThread(threadId: string): Promise<void> {
    await this.db.transaction(async (trx) => {
      await trx.raw('delete from research_checkpoint_writes where thread_id = ?', [threadId]);
      await trx.raw('delete from research_checkpoint_blobs where thread_id = ?', [threadId]);
      await trx.raw('delete from research_checkpoints where thread_id = ?', [threadId]);
    });
  }

  private async toTuple(row: CheckpointRow): Promise<CheckpointTuple> {
    const key = [row.thread_id, row.checkpoint_ns, row.checkpoint_id];
    const stored = (await this.serde.loadsTyped(row.type, row.checkpoint)) as Checkpoint;
    const versions = Object.entries(stored.channel_versions);
    const [{ rows: writes }, { rows: blobs }, metadata] = await Promise.all([
      this.db.raw<{ rows: WriteRow[] }>(
        `select task_id, idx, task_path, channel, type, value from research_checkpoint_writes
          where thread_id = ? and checkpoint_ns = ? and checkpoint_id = ?`,
        key,
      ),
      this.db.raw<{ rows: BlobRow[] }>(
        `select b.channel, b.type, b.blob from research_checkpoint_blobs b
           join unnest(?::text[], ?::text[]) as v(channel, version)
             on b.channel = v.channel and b.version = v.version
          where b.thread_id = ? and b.checkpoint_ns = ?`,
        [versions.map(([c]) => c), versions.map(([, v]) => String(v)), row.thread_id, row.checkpoint_ns],
      ),
      this.serde.loadsTyped(row.type, row.metadata) as Promise<CheckpointMetadata>,
    ]);
    const channelValues: Record<string, unknown> = {};
    for (const b of blobs) {
      if (b.type !== EMPTY && b.blob) channelValues[b.channel] = await this.serde.loadsTyped(b.type, b.blob);
    }
    writes.sort((a, b) =>
      compareWritesSortKeys(writesSortKey(a.task_path, a.task_id, a.idx), writesSortKey(b.task_path, b.task_id, b.idx)),
    );
    const pendingWrites = await Promise.all(
      writes.map(
        async (w) => [w.task_id, w.channel, await this.serde.loadsTyped(w.type, w.value)] as [string, string, unknown],
      ),
    );
    const configurable = {
      thread_id: row.thread_id,
      checkpoint_ns: row.checkpoint_ns,
      checkpoint_id: row.checkpoint_id,
    };
    return {
      config: { configurable },
      checkpoint: { ...stored, channel_values: channelValues },
      metadata,
      pendingWrites,
      ...(row.parent_checkpoint_id
        ? { parentConfig: { configurable: { ...configurable, checkpoint_id: row.parent_checkpoint_id } } }
        : {}),
    };
  }
}
