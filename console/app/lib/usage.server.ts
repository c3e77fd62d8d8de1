// Usage per day and depth, read from the tasks collection (a research is a task; its credits are its cost
// unless it was refunded). Aggregated in code rather than with $dateToString, which FerretDB 1.24 lacks.
import { DEPTHS, type Depth } from '../../../core/research/depth.js';
import type { Mongo } from '../../../core/storage/mongo.js';
import type { TaskIndex } from './task-index.server.js';

export type UsageDay = { day: string; credits: Record<Depth, number>; researches: Record<Depth, number> };

type UsageDoc = { createdAt: Date; depth: Depth; cost: number; refunded?: number; workspaceId: string };

const zero = (): Record<Depth, number> => ({ essential: 0, standard: 0, deep: 0 });

function bucketUsage(
  docs: Pick<UsageDoc, 'createdAt' | 'depth' | 'cost' | 'refunded'>[],
  since: Date,
  days: number,
): UsageDay[] {
  const out: UsageDay[] = [];
  const index = new Map<string, UsageDay>();
  for (let i = 0; i < days; i++) {
    const day = new Date(since.getTime() + i * 86_400_000).toISOString().slice(0, 10);
    const row = { day, credits: zero(), researches: zero() };
    out.push(row);
    index.set(day, row);
  }
  for (const d of docs) {
    const row = index.get(new Date(d.createdAt).toISOString().slice(0, 10));
    if (!row || !DEPTHS.includes(d.depth)) continue;
    row.researches[d.depth] += 1;
    row.credits[d.depth] += Math.max(0, (d.cost ?? 0) - (d.refunded ?? 0));
  }
  return out;
}

export async function usageByDay(
  mongo: Mongo,
  opts: { workspaceId?: string; days: number; now: Date; index?: TaskIndex },
): Promise<UsageDay[]> {
  const today = Date.UTC(opts.now.getUTCFullYear(), opts.now.getUTCMonth(), opts.now.getUTCDate());
  const since = new Date(today - (opts.days - 1) * 86_400_000);
  if (opts.index?.ready) {
    const docs = opts.index
      .createdSince(since, opts.workspaceId)
      .map((t) => ({ createdAt: new Date(t.createdAt), depth: t.depth, cost: t.cost, refunded: t.refunded }));
    return bucketUsage(docs, since, opts.days);
  }
  const filter: Record<string, unknown> = { createdAt: { $gte: since } };
  if (opts.workspaceId) filter.workspaceId = opts.workspaceId;
  const docs = await mongo.db
    .collection<UsageDoc>('tasks')
    .find(filter, { projection: { _id: 0, createdAt: 1, depth: 1, cost: 1, refunded: 1 } })
    .toArray();
  return bucketUsage(docs, since, opts.days);
}

/** Researches requested this month by each of some workspaces (the rows on one page of the list). */
export async function researchCounts(
  mongo: Mongo,
  workspaceIds: string[],
  since: Date,
  index?: TaskIndex,
): Promise<Record<string, number>> {
  if (workspaceIds.length === 0) return {};
  if (index?.ready) {
    const wanted = new Set(workspaceIds);
    const out: Record<string, number> = Object.fromEntries(workspaceIds.map((id) => [id, 0]));
    for (const t of index.createdSince(since))
      if (wanted.has(t.workspaceId)) out[t.workspaceId] = (out[t.workspaceId] ?? 0) + 1;
    return out;
  }
  const docs = await mongo.db
    .collection<UsageDoc>('tasks')
    .find(
      { workspaceId: { $in: workspaceIds }, createdAt: { $gte: since } },
      { projection: { _id: 0, workspaceId: 1 } },
    )
    .toArray();
  const out: Record<string, number> = Object.fromEntries(workspaceIds.map((id) => [id, 0]));
  for (const d of docs) out[d.workspaceId] = (out[d.workspaceId] ?? 0) + 1;
  return out;
}
