// Job views for the jobs page and the playground.
import type { Task } from '../../../core/tasks/types.js';
import { cleanDeep } from '../../../core/text/clean.js';

export function jobRow(t: Task) {
  const last = t.checkpoints.length ? t.checkpoints[t.checkpoints.length - 1] : undefined;
  return cleanDeep({
    id: t.id,
    idea: t.idea,
    depth: t.depth,
    status: t.status,
    platform: t.origin.platform,
    workspaceId: t.workspaceId,
    checkpoints: t.checkpoints.map((c) => c.id),
    current: last?.id ?? null,
    error: t.error?.userMessage ?? null,
    cancelRequested: Boolean(t.cancelRequested),
    createdAt: t.createdAt,
  });
}

export type JobRow = ReturnType<typeof jobRow>;

/** The console's own workspace: playground researches are paid from it like any other. */
export const CONSOLE_WORKSPACE = { platform: 'console', externalId: 'console', name: 'Console playground' } as const;
