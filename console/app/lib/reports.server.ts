// Report search and the one report view, over the TaskStore (tasks collection in MongoDB).
import type { Task } from '../../../core/tasks/types.js';
import type { Mongo } from '../../../core/storage/mongo.js';
import { cleanDeep } from '../../../core/text/clean.js';
import type { IndexedTask } from './task-index.server.js';

/** What a result row shows: no Markdown body, so a page of results stays small on the wire. */
export function reportRow(t: Task) {
  return cleanDeep({
    id: t.id,
    idea: t.idea,
    title: t.report?.json.title ?? null,
    summary: t.report?.json.summary?.slice(0, 240) ?? null,
    score: t.report?.json.score.total ?? null,
    band: t.report?.json.score.band ?? null,
    depth: t.depth,
    status: t.status,
    platform: t.origin.platform,
    workspaceId: t.workspaceId,
    createdAt: t.createdAt,
  });
}

export function indexedRow(t: IndexedTask): ReturnType<typeof reportRow> {
  return cleanDeep({
    id: t.id,
    idea: t.idea,
    title: t.title,
    summary: t.summary,
    score: t.score,
    band: t.band as ReturnType<typeof reportRow>['band'],
    depth: t.depth,
    status: t.status,
    platform: t.platform,
    workspaceId: t.workspaceId,
    createdAt: new Date(t.createdAt),
  });
}

const FINISHED = ['succeeded', 'failed', 'cancelled'];

/** Deletes a finished task with its report; a queued or running one must be cancelled first. */
export async function deleteReport(mongo: Mongo, taskId: string): Promise<boolean> {
  const res = await mongo.db
    .collection<{ _id: string; status: string }>('tasks')
    .deleteOne({ _id: taskId, status: { $in: FINISHED } });
  if (res.deletedCount !== 1) return false;
  await mongo.db.collection<{ taskId: string }>('tasks_events').deleteMany({ taskId });
  return true;
}

export type TimelineStep = { id: string; at: string; sinceStartMs: number; stepMs: number };

export function timeline(checkpoints: { id: string; at: Date | string }[]): TimelineStep[] {
  const sorted = [...checkpoints].sort((a, b) => new Date(a.at).getTime() - new Date(b.at).getTime());
  const start = sorted[0] ? new Date(sorted[0].at).getTime() : 0;
  return sorted.map((c, i) => {
    const at = new Date(c.at).getTime();
    const prev = i > 0 ? new Date(sorted[i - 1]!.at).getTime() : at;
    return { id: c.id, at: new Date(c.at).toISOString(), sinceStartMs: at - start, stepMs: at - prev };
  });
}
