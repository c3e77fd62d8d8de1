// The port through which a running job shows itself to its requester. Slack and Discord implement it in
// bot/; the console's implementation publishes on Redis. The job layer coalesces progress (at most one
// call a second per task, never backwards) and makes the final call (`succeeded` or `failed`) once per
// task, except that a run killed between making it and recording it leaves it to the next run: so each
// visible step of a final call must be done-once on its own (Slack: a Redis key per step; Discord: a nonce).
import type { ResearchResult } from '../research/contract.js';
import type { Task } from './types.js';

export interface Delivery {
  /**
   * The task's checkpoints so far. May be skipped when a newer one is due; the final state never is.
   * `signal` aborts once the final message is about to go: an edit not yet sent should then be dropped.
   */
  progress(task: Task, signal?: AbortSignal): Promise<void>;
  /** Success: upload the report, post the summary, mark the parent message done. */
  succeeded(task: Task, result: ResearchResult): Promise<void>;
  /** Failure or cancellation (`task.status`), with `task.error.userMessage` and `task.refunded`. */
  failed(task: Task): Promise<void>;
  /**
   * The final call kept failing until the job layer gave up (the platform errored or timed out every time):
   * tell the requester through whatever still reaches them that the end did not show, and that a report
   * which reached nobody was not charged. Best effort. A refusal (PermanentDeliveryError) is the final
   * call's own to report, so this is not called for one.
   */
  undelivered?(task: Task, problem: string): Promise<void>;
}

/** Delivery cannot succeed however often it is retried (channel deleted, bot removed): record and move on. */
export class PermanentDeliveryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentDeliveryError';
  }
}

/** Chooses the delivery for a task by its origin; `undefined` when this process cannot reach that platform. */
export type DeliveryResolver = (task: Task) => Delivery | undefined;
