import type { Depth } from '../research/depth.js';
import type { Hold } from './types.js';

/** Every ledger error carries a stable `code` that callers switch on (messages are for people). */
export abstract class LedgerError extends Error {
  abstract readonly code: string;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A reserve or deduction does not fit in the balance; `remaining` says how many researches of each depth still do. */
export class InsufficientCreditsError extends LedgerError {
  readonly code = 'insufficient_credits';
  constructor(
    readonly balance: number,
    readonly cost: number,
    readonly remaining: Record<Depth, number>,
  ) {
    super(`not enough credits: ${cost} needed, ${balance} left`);
  }
}

export class WorkspaceSuspendedError extends LedgerError {
  readonly code = 'workspace_suspended';
  constructor(readonly workspaceId: string) {
    super(`workspace ${workspaceId} is suspended`);
  }
}

export class UnknownWorkspaceError extends LedgerError {
  readonly code = 'unknown_workspace';
  constructor(readonly workspaceId: string) {
    super(`unknown workspace ${workspaceId}`);
  }
}

/** A malformed request (amount, reason, actor, month, task id…); `field` names the offending input. */
export class LedgerValidationError extends LedgerError {
  readonly code = 'invalid_request';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/** The idempotency key (or the task id of a reserve) was used before for a different request. */
export class IdempotencyConflictError extends LedgerError {
  readonly code = 'idempotency_conflict';
  constructor(readonly key: string) {
    super(`idempotency key ${key} was already used for a different request`);
  }
}

/** capture/release of a task that has no hold. */
export class UnknownHoldError extends LedgerError {
  readonly code = 'unknown_hold';
  constructor(readonly taskId: string) {
    super(`no credit hold for task ${taskId}`);
  }
}

/** capture of a released hold, or release of a captured one: a hold is closed exactly once. */
export class HoldClosedError extends LedgerError {
  readonly code = 'hold_closed';
  constructor(readonly hold: Hold) {
    super(`hold for task ${hold.taskId} is already ${hold.status}`);
  }
}
