// The console's in-memory read model of tasks, for search-as-you-type, the usage charts and per-workspace
// counts. FerretDB 1.24 (our MongoDB-wire server) answers keyword, range and count queries by scanning the
// collection, which at 100,000 reports takes seconds a keystroke; this index answers in milliseconds
// (decision 075). It is filled by one projection scan at start-up and kept current from the job layer's
// progress channel (`pmf:progress:*`, the whole task as JSON on every change), with a periodic rescan as a
// safety net for messages published while the console was down. Until the first scan finishes, callers
// fall back to TaskStore queries.
import type { Collection } from 'mongodb';
import type { Redis } from 'ioredis';
import type { Depth } from '../../../core/research/depth.js';
import { keywordsOf, parseKeywordQuery } from '../../../core/tasks/keywords.js';
import type { TaskSearch } from '../../../core/tasks/store.js';
import type { Task } from '../../../core/tasks/types.js';

export type IndexedTask = {
  id: string;
  idea: string;
  title: string | null;
  summary: string | null;
  score: number | null;
  band: string | null;
  depth: Depth;
  status: Task['status'];
  platform: Task['origin']['platform'];
  workspaceId: string;
  createdAt: number;
  cost: number;
  refunded: number;
  keywords: string[];
};

/** The fields a scan reads: enough to search and list, never the Markdown body. */
export const INDEX_PROJECTION = {
  _id: 0,
  id: 1,
  idea: 1,
  depth: 1,
  status: 1,
  'origin.platform': 1,
  workspaceId: 1,
  createdAt: 1,
  cost: 1,
  refunded: 1,
  'report.json.title': 1,
  'report.json.summary': 1,
  'report.json.score.total': 1,
  'report.json.score.band': 1,
} as const;

type TaskLike = {
  id: string;
  idea: string;
  depth: Depth;
  status: Task['status'];
  origin: { platform: Task['origin']['platform'] };
  workspaceId: string;
  createdAt: Date | string;
  cost?: number;
  refunded?: number;
  report?: { json?: { title?: string; summary?: string; score?: { total?: number; band?: string } } };
};

export function toIndexed(t: TaskLike): IndexedTask {
  const json = t.report?.json;
  return {
    id: t.id,
    idea: t.idea,
    title: json?.title ?? null,
    summary: json?.summary ? json.summary.slice(0, 240) : null,
    score: typeof json?.score?.total === 'number' ? json.score.total : null,
    band: json?.score?.band ?? null,
    depth: t.depth,
    status: t.status,
    platform: t.origin.platform,
    workspaceId: t.workspaceId,
    createdAt: new Date(t.createdAt).getTime(),
    cost: t.cost ?? 0,
    refunded: t.refunded ?? 0,
    // The same words the TaskStore indexes: the idea, and title and summary once the report exists.
    keywords: keywordsOf(t.idea, json?.title, json?.summary),
  };
}

type SortKey = NonNullable<TaskSearch['sort']>;

function compare(sort: SortKey): (a: IndexedTask, b: IndexedTask) => number {
  const newest = (a: IndexedTask, b: IndexedTask) => b.createdAt - a.createdAt || (a.id < b.id ? -1 : 1);
  switch (sort) {
    case 'oldest':
      return (a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1);
    // Reports without a score sort last either way, as they do in MongoDB's descending order.
    case 'score_desc':
      return (a, b) => (b.score ?? -1) - (a.score ?? -1) || newest(a, b);
    case 'score_asc':
      return (a, b) => (a.score ?? 101) - (b.score ?? 101) || newest(a, b);
    default:
      return newest;
  }
}

export class TaskIndex {
  private byId = new Map<string, IndexedTask>();
  private postings = new Map<string, Set<string>>();
  private vocabulary: string[] | undefined;
  private sorted = new Map<SortKey, IndexedTask[]>();
  private loaded = false;
  private stopFollow: (() => Promise<void>) | undefined;
  private rescanTimer: NodeJS.Timeout | undefined;
  /** Changes heard while a scan runs, re-applied over its (possibly older) snapshot. */
  private heardDuringScan: TaskLike[] | undefined;

  get ready(): boolean {
    return this.loaded;
  }

  get size(): number {
    return this.byId.size;
  }

  upsert(t: TaskLike): void {
    const next = toIndexed(t);
    const prev = this.byId.get(next.id);
    if (prev) this.unlink(prev);
    this.byId.set(next.id, next);
    for (const k of next.keywords) {
      let set = this.postings.get(k);
      if (!set) {
        set = new Set();
        this.postings.set(k, set);
        this.vocabulary = undefined;
      }
      set.add(next.id);
    }
    this.sorted.clear();
  }

  remove(id: string): void {
    const prev = this.byId.get(id);
    if (!prev) return;
    this.unlink(prev);
    this.byId.delete(id);
    this.sorted.clear();
  }

  private unlink(t: IndexedTask): void {
    for (const k of t.keywords) {
      const set = this.postings.get(k);
      set?.delete(t.id);
      if (set && set.size === 0) {
        this.postings.delete(k);
        this.vocabulary = undefined;
      }
    }
  }

  private vocab(): string[] {
    return (this.vocabulary ??= [...this.postings.keys()].sort());
  }

  private inOrder(sort: SortKey): IndexedTask[] {
    let list = this.sorted.get(sort);
    if (!list) {
      list = [...this.byId.values()].sort(compare(sort));
      this.sorted.set(sort, list);
    }
    return list;
  }

  /** Ids whose keywords satisfy the text (every whole word, and the word being typed as a prefix); undefined = no text filter. */
  private textMatches(text: string | undefined): Set<string> | undefined {
    if (!text) return undefined;
    const { exact, prefix } = parseKeywordQuery(text);
    const sets: Set<string>[] = [];
    for (const w of exact) sets.push(this.postings.get(w) ?? new Set());
    if (prefix) {
      const vocab = this.vocab();
      let lo = 0;
      let hi = vocab.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (vocab[mid]! < prefix) lo = mid + 1;
        else hi = mid;
      }
      const union = new Set<string>();
      for (let i = lo; i < vocab.length && vocab[i]!.startsWith(prefix); i++)
        for (const id of this.postings.get(vocab[i]!)!) union.add(id);
      sets.push(union);
    }
    if (sets.length === 0) return undefined;
    sets.sort((a, b) => a.size - b.size);
    const [smallest, ...rest] = sets;
    const out = new Set<string>();
    for (const id of smallest!) if (rest.every((s) => s.has(id))) out.add(id);
    return out;
  }

  search(q: TaskSearch): { items: IndexedTask[]; total: number; page: number; pageSize: number } {
    const page = Math.max(1, Math.floor(q.page ?? 1));
    const pageSize = Math.min(100, Math.max(1, Math.floor(q.pageSize ?? 20)));
    const text = this.textMatches(q.text);
    const from = q.from?.getTime();
    const to = q.to?.getTime();
    const start = (page - 1) * pageSize;
    const items: IndexedTask[] = [];
    let total = 0;
    const candidates =
      text && text.size < this.byId.size / 8
        ? [...text].map((id) => this.byId.get(id)!).sort(compare(q.sort ?? 'newest'))
        : this.inOrder(q.sort ?? 'newest');
    for (const t of candidates) {
      if (text && !text.has(t.id)) continue;
      if (q.workspaceId && t.workspaceId !== q.workspaceId) continue;
      if (q.depth && t.depth !== q.depth) continue;
      if (q.status && t.status !== q.status) continue;
      if (q.platform && t.platform !== q.platform) continue;
      if (from !== undefined && t.createdAt < from) continue;
      if (to !== undefined && t.createdAt >= to) continue;
      if (q.scoreMin !== undefined && (t.score === null || t.score < q.scoreMin)) continue;
      if (q.scoreMax !== undefined && (t.score === null || t.score > q.scoreMax)) continue;
      if (total >= start && items.length < pageSize) items.push(t);
      total++;
    }
    return { items, total, page, pageSize };
  }

  /** Tasks created since `since` (optionally of one workspace), for the usage charts. */
  createdSince(since: Date, workspaceId?: string): IndexedTask[] {
    const s = since.getTime();
    const out: IndexedTask[] = [];
    for (const t of this.inOrder('newest')) {
      if (t.createdAt < s) break;
      if (!workspaceId || t.workspaceId === workspaceId) out.push(t);
    }
    return out;
  }

  /** Replaces the whole index with a fresh scan of the collection. */
  async load(collection: Collection, batchSize = 2000): Promise<void> {
    this.heardDuringScan = [];
    try {
      const fresh = new TaskIndex();
      const cursor = collection.find({}, { projection: INDEX_PROJECTION, batchSize });
      for await (const doc of cursor) fresh.upsert(doc as unknown as TaskLike);
      this.adopt(fresh);
    } finally {
      this.heardDuringScan = undefined;
    }
  }

  /** Replaces the whole index with these tasks (a scan someone else did, or a benchmark's corpus). */
  fill(tasks: Iterable<TaskLike>): void {
    const fresh = new TaskIndex();
    for (const t of tasks) fresh.upsert(t);
    this.adopt(fresh);
  }

  private adopt(fresh: TaskIndex): void {
    this.byId = fresh.byId;
    this.postings = fresh.postings;
    this.vocabulary = undefined;
    this.sorted.clear();
    for (const t of this.heardDuringScan ?? []) this.upsert(t);
    this.loaded = true;
  }

  /**
   * Follows every task change the job layer publishes (`<prefix>*`), rescans every `rescanMs`, and returns
   * once the first scan is done. `subscriber` must be a connection of its own (it enters subscriber mode).
   */
  async start(opts: {
    collection: Collection;
    subscriber: Redis;
    prefix: string;
    rescanMs: number;
    onError: (err: unknown) => void;
  }): Promise<void> {
    const pattern = `${opts.prefix}*`;
    const onMessage = (_pattern: string, _channel: string, message: string) => {
      try {
        const task = JSON.parse(message) as TaskLike;
        if (!task || typeof task.id !== 'string' || typeof task.idea !== 'string') return;
        this.upsert(task);
        this.heardDuringScan?.push(task);
      } catch (err) {
        opts.onError(err);
      }
    };
    opts.subscriber.on('pmessage', onMessage);
    await opts.subscriber.psubscribe(pattern);
    this.stopFollow = async () => {
      opts.subscriber.off('pmessage', onMessage);
      await opts.subscriber.punsubscribe(pattern).catch(() => undefined);
    };
    await this.load(opts.collection);
    if (opts.rescanMs > 0) {
      this.rescanTimer = setInterval(() => void this.load(opts.collection).catch(opts.onError), opts.rescanMs);
      this.rescanTimer.unref();
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.rescanTimer);
    await this.stopFollow?.();
  }
}
