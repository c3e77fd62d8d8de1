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
import type { TaskSearch } from '../../../core/tasks/search.js';
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
const INDEX_PROJECTION = {
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

function toIndexed(t: TaskLike): IndexedTask {
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

/** The store's query, plus what the console's search box adds: ids and workspace names. */
export type ConsoleTaskSearch = TaskSearch & {
  /** Only tasks whose id starts with this (an id being typed, `R-7K`). */
  idPrefix?: string;
  /** Only tasks of these workspaces (a workspace name filter). */
  workspaceIn?: Set<string>;
  /** Tasks of these workspaces match the text too (the text is also a workspace name). */
  orWorkspaceIn?: Set<string>;
};

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

/** Sort-relevant fields unchanged: an order array need not move this task. */
function sameSortKeys(a: IndexedTask, b: IndexedTask): boolean {
  return a.createdAt === b.createdAt && a.score === b.score;
}

function removeFrom(list: number[], value: number): void {
  const at = list.indexOf(value);
  if (at >= 0) list.splice(at, 1);
}

function sameKeywords(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((k, i) => k === b[i]);
}

// Tasks live in numbered slots; postings and sort orders are arrays of slot numbers, and a query marks
// matching slots in a typed array. At 100,000 tasks a keystroke costs a few milliseconds and no garbage
// beyond one typed array, and a live update moves one entry instead of re-sorting everything.
export class TaskIndex {
  private docs: (IndexedTask | undefined)[] = [];
  private slotOf = new Map<string, number>();
  private freeSlots: number[] = [];
  private postings = new Map<string, number[]>();
  private vocabulary: string[] | undefined;
  private orders = new Map<SortKey, number[]>();
  private loaded = false;
  private stopFollow: (() => Promise<void>) | undefined;
  private rescanTimer: NodeJS.Timeout | undefined;
  /** Changes heard while a scan runs, re-applied over its (possibly older) snapshot. */
  private heardDuringScan: TaskLike[] | undefined;

  get ready(): boolean {
    return this.loaded;
  }

  get size(): number {
    return this.slotOf.size;
  }

  upsert(t: TaskLike): void {
    const next = toIndexed(t);
    const existing = this.slotOf.get(next.id);
    if (existing !== undefined) {
      const prev = this.docs[existing]!;
      this.docs[existing] = next;
      if (!sameKeywords(prev.keywords, next.keywords)) {
        this.unlinkKeywords(prev.keywords, existing);
        this.linkKeywords(next.keywords, existing);
      }
      if (!sameSortKeys(prev, next)) this.reposition(existing);
      return;
    }
    const slot = this.freeSlots.pop() ?? this.docs.length;
    this.docs[slot] = next;
    this.slotOf.set(next.id, slot);
    this.linkKeywords(next.keywords, slot);
    for (const [sort, order] of this.orders) order.splice(this.insertionPoint(order, slot, sort), 0, slot);
  }

  remove(id: string): void {
    const slot = this.slotOf.get(id);
    if (slot === undefined) return;
    this.unlinkKeywords(this.docs[slot]!.keywords, slot);
    for (const order of this.orders.values()) removeFrom(order, slot);
    this.docs[slot] = undefined;
    this.slotOf.delete(id);
    this.freeSlots.push(slot);
  }

  private linkKeywords(keywords: string[], slot: number): void {
    for (const k of keywords) {
      const list = this.postings.get(k);
      if (list) list.push(slot);
      else {
        this.postings.set(k, [slot]);
        this.vocabulary = undefined;
      }
    }
  }

  private unlinkKeywords(keywords: string[], slot: number): void {
    for (const k of keywords) {
      const list = this.postings.get(k);
      if (!list) continue;
      removeFrom(list, slot);
      if (list.length === 0) {
        this.postings.delete(k);
        this.vocabulary = undefined;
      }
    }
  }

  private reposition(slot: number): void {
    for (const [sort, order] of this.orders) {
      removeFrom(order, slot);
      order.splice(this.insertionPoint(order, slot, sort), 0, slot);
    }
  }

  private insertionPoint(order: number[], slot: number, sort: SortKey): number {
    const cmp = compare(sort);
    const doc = this.docs[slot]!;
    let lo = 0;
    let hi = order.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cmp(this.docs[order[mid]!]!, doc) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private vocab(): string[] {
    return (this.vocabulary ??= [...this.postings.keys()].sort());
  }

  private inOrder(sort: SortKey): number[] {
    let order = this.orders.get(sort);
    if (!order) {
      const cmp = compare(sort);
      order = [...this.slotOf.values()].sort((a, b) => cmp(this.docs[a]!, this.docs[b]!));
      this.orders.set(sort, order);
    }
    return order;
  }

  /**
   * Marks the slots whose keywords satisfy the text: every whole word, and the word being typed as a prefix
   * of some keyword. Returns the marks and the value a matching slot holds; undefined = no text filter.
   */
  private textMatches(text: string | undefined): { marks: Uint16Array; need: number } | undefined {
    if (!text) return undefined;
    const { exact, prefix } = parseKeywordQuery(text);
    const sets: number[][][] = exact.map((w) => [this.postings.get(w) ?? []]);
    if (prefix) {
      const vocab = this.vocab();
      let lo = 0;
      let hi = vocab.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (vocab[mid]! < prefix) lo = mid + 1;
        else hi = mid;
      }
      const lists: number[][] = [];
      for (let i = lo; i < vocab.length && vocab[i]!.startsWith(prefix); i++) lists.push(this.postings.get(vocab[i]!)!);
      sets.push(lists);
    }
    if (sets.length === 0) return undefined;
    // A slot reaches k+1 only if it is in set k and already reached k: in every set so far. A slot listed
    // twice in one set (two keywords with the prefix) is counted once.
    const marks = new Uint16Array(this.docs.length);
    sets.forEach((lists, k) => {
      for (const list of lists) for (const slot of list) if (marks[slot] === k) marks[slot] = k + 1;
    });
    return { marks, need: sets.length };
  }

  search(q: ConsoleTaskSearch): { items: IndexedTask[]; total: number; page: number; pageSize: number } {
    const page = Math.max(1, Math.floor(q.page ?? 1));
    const pageSize = Math.min(100, Math.max(1, Math.floor(q.pageSize ?? 20)));
    const text = this.textMatches(q.text);
    const from = q.from?.getTime();
    const to = q.to?.getTime();
    const start = (page - 1) * pageSize;
    const items: IndexedTask[] = [];
    let total = 0;
    for (const slot of this.inOrder(q.sort ?? 'newest')) {
      const t = this.docs[slot]!;
      if (text && text.marks[slot] !== text.need && !q.orWorkspaceIn?.has(t.workspaceId)) continue;
      if (q.idPrefix && !t.id.startsWith(q.idPrefix)) continue;
      if (q.workspaceIn && !q.workspaceIn.has(t.workspaceId)) continue;
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
    for (const slot of this.inOrder('newest')) {
      const t = this.docs[slot]!;
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
    this.docs = fresh.docs;
    this.slotOf = fresh.slotOf;
    this.freeSlots = fresh.freeSlots;
    this.postings = fresh.postings;
    this.vocabulary = undefined;
    this.orders = new Map();
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
      void (async () => {
        const task = JSON.parse(message) as TaskLike;
        if (!task || typeof task.id !== 'string' || typeof task.idea !== 'string') return;
        // A task this index has not seen is listed only once it is found in this install's own database:
        // a channel shared by mistake (another install on the same Redis) must not add rows that 404.
        if (
          !this.slotOf.has(task.id) &&
          !(await opts.collection.findOne({ _id: task.id } as never, { projection: { _id: 1 } }))
        )
          return;
        this.upsert(task);
        this.heardDuringScan?.push(task);
      })().catch(opts.onError);
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
