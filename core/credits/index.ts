// The per-workspace credit ledger (PostgreSQL). Decisions: docs/decisions/010-credit-ledger.md.
export { CreditLedger } from './ledger.js';
export {
  LedgerError,
  InsufficientCreditsError,
  WorkspaceSuspendedError,
  UnknownWorkspaceError,
  LedgerValidationError,
  IdempotencyConflictError,
  UnknownHoldError,
  HoldClosedError,
} from './errors.js';
export { remainingByDepth, monthOf, MAX_REASON_LENGTH } from './rules.js';
export type {
  Workspace,
  WorkspaceStatus,
  Month,
  BalanceView,
  TransactionType,
  LedgerTransaction,
  HoldStatus,
  Hold,
  ReserveInput,
  CaptureInput,
  ReleaseInput,
  AmountChange,
  StatusChange,
  WorkspaceSort,
  ListWorkspacesQuery,
  WorkspaceSummary,
  TransactionsQuery,
  Page,
  InvariantReport,
  LedgerOptions,
} from './types.js';
