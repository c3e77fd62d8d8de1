import type { CheckpointId } from '../research/checkpoints.js';
import type { GuardDoc, Outcome, TaskDoc } from './doc.js';
import type { Task, TaskCheckpoint } from './types.js';

// FerretDB 1.24 applies an update by reading the document and writing it back whole, so two processes that
// update one task at the same moment can lose one of the writes (MongoDB cannot). The insert-only records
// cannot be lost; a single task read lays them over the document so that what they prove always shows.

export type TaskRecords = {
  /** Recorded checkpoints in completion order. */
  events: TaskCheckpoint[];
  outcome?: { outcome: Outcome; at: Date };
  /** `failedPermanently`: why the final message could never be delivered, when it could not. */
  delivered?: { at: Date; failedPermanently?: string };
  cancel?: { by: string; at: Date };
};

/** What a task's guards prove besides its recorded checkpoints (`events`, in completion order). */
export function recordsOf(taskId: string, events: TaskCheckpoint[], guards: GuardDoc[]): TaskRecords {
  const guard = (kind: string) => guards.find((g) => g._id === `${taskId}:${kind}`);
  const outcome = guard('outcome');
  const delivered = guard('delivered');
  const cancel = guard('cancel');
  return {
    events,
    ...(outcome?.outcome ? { outcome: { outcome: outcome.outcome, at: outcome.at } } : {}),
    ...(delivered
      ? {
          delivered: {
            at: delivered.at,
            ...(delivered.failedPermanently ? { failedPermanently: delivered.failedPermanently } : {}),
          },
        }
      : {}),
    ...(cancel ? { cancel: { by: cancel.by ?? 'unknown', at: cancel.at } } : {}),
  };
}

function mergeCheckpoints(recorded: TaskCheckpoint[], onDoc: TaskCheckpoint[]): TaskCheckpoint[] {
  const seen = new Set(recorded.map((c) => c.id));
  const merged = [...recorded, ...onDoc.filter((c) => !seen.has(c.id))];
  // Stable: ties keep the recorded order.
  return merged.sort((a, b) => a.at.getTime() - b.at.getTime());
}

function withOutcome(doc: TaskDoc, decided: { outcome: Outcome; at: Date }): TaskDoc {
  const { outcome, at } = decided;
  if (doc.status === outcome.status) return doc;
  // A success is only shown once its report is on the document: readers render the report.
  if (outcome.status === 'succeeded') return doc.report ? { ...doc, status: 'succeeded' } : doc;
  return {
    ...doc,
    status: outcome.status,
    error: outcome.error,
    refunded: outcome.refunded,
    finishedAt: doc.finishedAt ?? at,
  };
}

/**
 * The recorded checkpoints, with what the records prove besides: `received` is the document's creation,
 * and `delivered` is the delivered record of a success whose report went out.
 */
function provenCheckpoints(doc: TaskDoc, records: TaskRecords): TaskCheckpoint[] {
  const { delivered, outcome, events } = records;
  const created: TaskCheckpoint = { id: 'received', at: doc.createdAt };
  const proven = events.some((c) => c.id === 'received') ? events : [created, ...events];
  const reportDelivered = delivered && !delivered.failedPermanently && outcome?.outcome.status === 'succeeded';
  if (!reportDelivered || events.some((c) => c.id === 'delivered')) return proven;
  return [...proven, { id: 'delivered', at: delivered.at }];
}

/** The task as its insert-only records prove it to be, whatever a lost update left on the document. */
export function projectTask(doc: TaskDoc, records: TaskRecords): TaskDoc {
  const checkpoints = mergeCheckpoints(provenCheckpoints(doc, records), doc.checkpoints);
  let projected: TaskDoc = { ...doc, checkpoints, checkpointIds: checkpoints.map((c) => c.id) };
  if (records.outcome) projected = withOutcome(projected, records.outcome);
  if (records.delivered && !projected.deliveredAt) projected.deliveredAt = records.delivered.at;
  const failedPermanently = records.delivered?.failedPermanently;
  if (failedPermanently && !projected.delivery?.failedPermanently)
    projected.delivery = { ...projected.delivery, failedPermanently };
  if (records.cancel && !projected.cancelRequested) projected.cancelRequested = records.cancel;
  return projected;
}

/** The task as it is once `id` is recorded at `at` (unchanged if it already was). */
export function withCheckpoint(task: Task, id: CheckpointId, at: Date): Task {
  if (task.checkpoints.some((c) => c.id === id)) return task;
  return { ...task, checkpoints: mergeCheckpoints([{ id, at }], task.checkpoints) };
}

/** A listed task with the checkpoints recorded for it laid over those on its document. */
export function withRecordedCheckpoints<T extends Task>(task: T, recorded: TaskCheckpoint[]): T {
  if (recorded.length === 0) return task;
  return { ...task, checkpoints: mergeCheckpoints(recorded, task.checkpoints) };
}
