// The report search's URL state: constants the form renders and the parser the loader uses.
import { PLATFORMS } from '../../../core/platform.js';
import { DEPTHS } from '../../../core/research/depth.js';
import type { TaskSearch } from '../../../core/tasks/search.js';
import { day, int, oneOf, optInt, str } from './params.js';

export const TASK_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export const SORTS = ['newest', 'oldest', 'score_desc', 'score_asc'] as const;
const REPORTS_PAGE_SIZE = 20;

export function reportQuery(p: URLSearchParams): TaskSearch {
  return {
    text: str(p, 'q', 200),
    depth: oneOf(p, 'depth', DEPTHS),
    status: oneOf(p, 'status', TASK_STATUSES),
    platform: oneOf(p, 'platform', PLATFORMS),
    workspaceId: str(p, 'workspace', 64),
    from: day(p, 'from'),
    to: day(p, 'to', true),
    scoreMin: optInt(p, 'scoreMin', 0, 100),
    scoreMax: optInt(p, 'scoreMax', 0, 100),
    sort: oneOf(p, 'sort', SORTS) ?? 'newest',
    page: int(p, 'page', 1, 1, 10_000),
    pageSize: REPORTS_PAGE_SIZE,
  };
}
