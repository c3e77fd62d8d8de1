import type { Filter, Sort } from 'mongodb';
import type { Platform } from '../platform.js';
import type { Depth } from '../research/depth.js';
import type { TaskDoc } from './doc.js';
import { parseKeywordQuery, prefixPattern } from './keywords.js';
import type { Task, TaskStatus } from './types.js';

// Finding tasks: the console's search and the lists, as a filter and a sort on the `tasks` collection.

export const MAX_PAGE_SIZE = 100;

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

export function sortOf(sort: TaskSort = 'newest'): Sort {
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
