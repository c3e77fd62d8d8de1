import type { Db } from '../storage/index.js';
import type { Platform } from '../platform.js';
import { LedgerAdmin } from './admin.js';
import { LedgerHolds } from './holds.js';
import { LedgerReads } from './reads.js';
import { checkAmount } from './rules.js';
import type {
  AmountChange,
  BalanceView,
  CaptureInput,
  Hold,
  InvariantReport,
  LedgerOptions,
  LedgerTransaction,
  ListWorkspacesQuery,
  Page,
  ReleaseInput,
  ReserveInput,
  StatusChange,
  TransactionsQuery,
  Workspace,
  WorkspaceSummary,
} from './types.js';

// The one face of the credit ledger that the rest of the code uses. The work lives in three parts: a
// research's holds (holds.ts), changes to workspaces (admin.ts) and reads (reads.ts); decision 103.

export class CreditLedger {
  private readonly reads: LedgerReads;
  private readonly holds: LedgerHolds;
  private readonly admin: LedgerAdmin;

  constructor(db: Db, opts: LedgerOptions = {}) {
    const defaultAllowance = checkAmount('defaultAllowance', opts.defaultAllowance ?? 1000, { allowZero: true });
    const now = opts.now ?? (() => new Date());
    this.reads = new LedgerReads(db, now);
    this.holds = new LedgerHolds(db, now, this.reads, opts.batching);
    this.admin = new LedgerAdmin(db, now, defaultAllowance, this.reads);
  }

  /** How many calls each batch statement carried so far (decision 012). */
  batchingStats(): { reserve: { statements: number; calls: number }; capture: { statements: number; calls: number } } {
    return this.holds.batchingStats();
  }

  // ---- workspaces -------------------------------------------------------------------------------

  ensureWorkspace(input: { platform: Platform; externalId: string; name: string }): Promise<Workspace> {
    return this.admin.ensureWorkspace(input);
  }

  getWorkspace(id: string): Promise<Workspace | undefined> {
    return this.reads.getWorkspace(id);
  }

  findWorkspace(platform: Platform, externalId: string): Promise<Workspace | undefined> {
    return this.reads.findWorkspace(platform, externalId);
  }

  listWorkspaces(query: ListWorkspacesQuery = {}): Promise<Page<WorkspaceSummary>> {
    return this.reads.listWorkspaces(query);
  }

  balance(workspaceId: string, month?: string): Promise<BalanceView> {
    return this.reads.balance(workspaceId, month);
  }

  // ---- holds ------------------------------------------------------------------------------------

  /**
   * Throws the error a reserve of `cost` would throw right now for want of credits or a suspended or unknown
   * workspace, from one read without locks; otherwise returns and the reserve decides (decision 013).
   */
  refuseEarly(workspaceId: string, cost: number): Promise<void> {
    return this.holds.refuseEarly(workspaceId, cost);
  }

  reserve(input: ReserveInput): Promise<Hold> {
    return this.holds.reserve(input);
  }

  capture(input: CaptureInput): Promise<Hold> {
    return this.holds.capture(input);
  }

  release(input: ReleaseInput): Promise<Hold> {
    return this.holds.release(input);
  }

  getHold(taskId: string): Promise<Hold | undefined> {
    return this.holds.getHold(taskId);
  }

  // ---- admin changes ----------------------------------------------------------------------------

  /** Adds credits to the current month. Allowed on a suspended workspace (top it up before resuming). */
  grant(input: AmountChange): Promise<LedgerTransaction> {
    return this.admin.grant(input);
  }

  /** Takes credits from the current month (an `adjust` transaction); never below zero. */
  deduct(input: AmountChange): Promise<LedgerTransaction> {
    return this.admin.deduct(input);
  }

  /** Sets the monthly allowance from now on; the current month moves by the difference at once. */
  setAllowance(input: AmountChange): Promise<LedgerTransaction> {
    return this.admin.setAllowance(input);
  }

  suspend(input: StatusChange): Promise<Workspace> {
    return this.admin.suspend(input);
  }

  resume(input: StatusChange): Promise<Workspace> {
    return this.admin.resume(input);
  }

  // ---- reading the ledger -----------------------------------------------------------------------

  transactions(workspaceId: string, query: TransactionsQuery = {}): Promise<Page<LedgerTransaction>> {
    return this.reads.transactions(workspaceId, query);
  }

  checkInvariant(workspaceId?: string): Promise<InvariantReport> {
    return this.reads.checkInvariant(workspaceId);
  }
}
