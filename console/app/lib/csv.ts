import type { LedgerTransaction } from '../../../core/credits/types.js';

export const LEDGER_CSV_HEADER = [
  'id',
  'created_at',
  'month',
  'type',
  'amount',
  'balance_after',
  'depth',
  'task_id',
  'actor',
  'reason',
  'idempotency_key',
];

/** RFC 4180 quoting, and a leading ' before = + - @ in text so a spreadsheet never evaluates a reason as a formula. */
export function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  let s = v instanceof Date ? v.toISOString() : String(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function ledgerCsvRow(t: LedgerTransaction): string {
  return [
    t.id,
    t.createdAt,
    t.month,
    t.type,
    t.amount,
    t.balanceAfter,
    t.depth,
    t.taskId,
    t.actor,
    t.reason,
    t.idempotencyKey,
  ]
    .map(csvCell)
    .join(',');
}

export const TRANSACTIONS_CSV_HEADER = ['workspace', 'workspace_id', 'platform', ...LEDGER_CSV_HEADER];

export function transactionCsvRow(t: LedgerTransaction & { workspaceName: string; platform: string }): string {
  return [csvCell(t.workspaceName), csvCell(t.workspaceId), csvCell(t.platform), ledgerCsvRow(t)].join(',');
}
