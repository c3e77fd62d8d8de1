// How a research that did not succeed ends, in the requester's words: the sentences every surface shows
// for a failure or a cancel (what happened, that nothing was charged, what to do next) and the cancel
// outcome recorded for a task. Used by the submit side (cancels, failures before the queue) and the worker.
import { failureSummary } from '../research/failures.js';
import type { ProviderFailure } from '../research/contract.js';
import type { Outcome, TaskDoc } from '../tasks/doc.js';

export function failureSentence(reason: string, cost: number, attempts?: number): string {
  const tries = attempts && attempts > 1 ? ` after ${attempts} attempts` : '';
  const sentence = reason.replace(/[.\s]+$/, '');
  return `The research could not be finished${tries}: ${sentence}. Your ${cost} credits were returned; nothing was charged. Try again in a few minutes.`;
}

/**
 * A refusal only an admin can fix (bad key, unknown model, exhausted plan): the requester learns that the
 * bot's setup needs an admin and that trying again will not help — never a key or a setting's value.
 */
export function adminFailureSentence(failure: ProviderFailure, cost: number): string {
  return `The research could not be run: ${failureSummary(failure)}, so the bot's setup needs an admin. Your ${cost} credits were returned; nothing was charged. Please let an admin of this bot know: trying again will not work until they fix it.`;
}

function cancelSentence(cost: number): string {
  return `The research was cancelled. Your ${cost} credits were returned; nothing was charged.`;
}

export function cancelOutcome(doc: Pick<TaskDoc, 'cost'>, by = 'unknown'): Outcome {
  return {
    status: 'cancelled',
    error: { userMessage: cancelSentence(doc.cost), detail: `cancelled by ${by}` },
    refunded: doc.cost,
  };
}

/** The text of a thrown value, for logs and failure details. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
