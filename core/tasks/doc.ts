import type { ProviderFailure } from '../research/contract.js';
import type { CheckpointId } from '../research/checkpoints.js';
import type { Depth } from '../research/depth.js';
import type { Origin, Task } from './types.js';

// The documents the task store keeps (the task and its insert-only records) and how a task ends: shared by
// the store, the projection that lays the records over a task document (projection.ts) and the job that
// settles a task.

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
  /** Research attempts started (a worker taking over after a crash counts too). */
  attempts: number;
  /** Transient failures so far; the job gives up after JOB_MAX_ATTEMPTS. */
  failures?: number;
  lastFailure?: string;
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

export type FinalOutcome = {
  status: 'failed' | 'cancelled';
  error: { userMessage: string; detail: string; failure?: ProviderFailure };
  refunded: number;
};
export type Outcome = { status: 'succeeded' } | FinalOutcome;

/** An insert-only record in `tasks_guards`: `<taskId>:outcome`, `:cancel`, `:delivery:<n>`, `:delivered` (store.ts). */
export type GuardDoc = {
  _id: string;
  taskId: string;
  at: Date;
  outcome?: Outcome;
  by?: string;
  owner?: string;
  failedPermanently?: string;
};

/** An insert-only record in `tasks_events`: `<taskId>:<checkpoint>`, once each; `seq` orders ties in `at`. */
export type EventDoc = { _id: string; taskId: string; id: CheckpointId; at: Date; seq: number };

const INTERNAL_KEYS = [
  '_id',
  'requestKey',
  'keywords',
  'checkpointIds',
  'score',
  'failures',
  'lastFailure',
  'attempts',
  'deliveredAt',
  'credits',
] as const;

/** A projection that leaves the internal fields out, for lists that read many documents. */
export const INTERNAL_FIELDS = Object.fromEntries(INTERNAL_KEYS.map((k) => [k, 0]));

/** The public Task of a stored document (search and guard fields left out). */
export function taskOf(doc: TaskDoc): Task {
  const task: Record<string, unknown> = { ...doc };
  for (const key of INTERNAL_KEYS) delete task[key];
  return task as Task;
}
