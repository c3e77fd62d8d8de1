import type { Depth } from '../research/depth.js';
import type { Platform } from '../platform.js';
import type { BatchOptions } from '../storage/statement-batcher.js';

export type WorkspaceStatus = 'active' | 'suspended';

export type Workspace = {
  id: string;
  platform: Platform;
  externalId: string;
  name: string;
  monthlyAllowance: number;
  status: WorkspaceStatus;
  createdAt: Date;
};

/** A calendar month in UTC, `YYYY-MM`. */
export type Month = string;

export type BalanceView = {
  month: Month;
  balance: number;
  allowance: number;
  /** Credits taken by reserves this month, net of releases (so it includes holds still running). */
  used: number;
  /** Researches of each depth the balance still pays for: floor(balance / price). */
  remaining: Record<Depth, number>;
};

export type TransactionType = 'allowance' | 'grant' | 'adjust' | 'reserve' | 'capture' | 'release';

export type LedgerTransaction = {
  id: number;
  workspaceId: string;
  month: Month;
  type: TransactionType;
  /** Signed: negative takes credits, positive gives them, captures are 0. */
  amount: number;
  /** Balance of the month right after this row; null for captures, which move no credits (see decision 010). */
  balanceAfter: number | null;
  taskId: string | null;
  depth: Depth | null;
  actor: string;
  reason: string | null;
  idempotencyKey: string | null;
  createdAt: Date;
};

export type HoldStatus = 'held' | 'captured' | 'released';

export type Hold = {
  taskId: string;
  workspaceId: string;
  /** The month whose balance paid for the hold; a release credits this month back. */
  month: Month;
  amount: number;
  depth: Depth | null;
  status: HoldStatus;
  actor: string;
  createdAt: Date;
  closedAt: Date | null;
  closedBy: string | null;
  closeReason: string | null;
};

export type ReserveInput = {
  workspaceId: string;
  cost: number;
  taskId: string;
  depth?: Depth;
  actor: string;
  idempotencyKey?: string;
};

export type CaptureInput = { taskId: string; actor: string };
export type ReleaseInput = { taskId: string; actor: string; reason: string };

/** grant / deduct / setAllowance take an amount; suspend / resume do not. */
export type AmountChange = {
  workspaceId: string;
  amount: number;
  actor: string;
  reason: string;
  idempotencyKey: string;
};
export type StatusChange = { workspaceId: string; actor: string; reason: string; idempotencyKey: string };

export type WorkspaceSort = 'name' | 'balance' | 'usage' | 'activity';

/** Sorts: name A→Z, balance lowest first, usage highest first, activity most recent first. Pages of at most 200. */
export type ListWorkspacesQuery = {
  search?: string;
  platform?: Platform;
  status?: WorkspaceStatus;
  sort?: WorkspaceSort;
  page?: number;
  pageSize?: number;
};

/** A workspace with its current month's figures, as the console lists them. */
export type WorkspaceSummary = Workspace & {
  month: Month;
  balance: number;
  allowance: number;
  used: number;
  lastActivityAt: Date | null;
};

/** Newest first; `from` is inclusive and `to` exclusive (on `createdAt`); pages of at most 200 (default 50). */
export type TransactionsQuery = {
  type?: TransactionType;
  from?: Date;
  to?: Date;
  page?: number;
  pageSize?: number;
};

export type Page<T> = { items: T[]; total: number; page: number; pageSize: number };

export type InvariantReport = { ok: boolean; problems: string[] };

export type LedgerOptions = {
  defaultAllowance?: number;
  now?: () => Date;
  /** How reserves and captures gather into batch statements (decision 012); the default suits a 2-core box. */
  batching?: BatchOptions;
};
