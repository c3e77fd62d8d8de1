import type { Knex } from 'knex';
import type { Month } from './types.js';

export type LedgerGauges = {
  /** This month's balances that differ from the balance_after of their last balance-moving transaction. */
  mismatchedBalances: number;
  /** Active workspaces with nothing left this month. */
  workspacesAtZero: number;
};

// One index probe per balance row of the month (transactions_workspace_id read backwards from the newest
// row), so it stays cheap however long the ledger grows; the full invariant check (invariant.ts) sums every
// transaction and is for the console and restores. Decision 082.
const SQL = `
SELECT count(*) FILTER (WHERE b.balance IS DISTINCT FROM COALESCE(last.balance_after, 0)) AS mismatched,
       count(*) FILTER (WHERE b.balance = 0 AND w.status = 'active') AS at_zero
FROM balances b
JOIN workspaces w ON w.id = b.workspace_id
LEFT JOIN LATERAL (
  SELECT t.balance_after FROM transactions t
  WHERE t.workspace_id = b.workspace_id AND t.month = b.month AND t.type <> 'capture'
  ORDER BY t.id DESC LIMIT 1
) last ON true
WHERE b.month = :month`;

export async function readLedgerGauges(db: Knex | Knex.Transaction, month: Month): Promise<LedgerGauges> {
  const result = (await db.raw(SQL, { month })) as { rows: { mismatched: string; at_zero: string }[] };
  const row = result.rows[0];
  return { mismatchedBalances: Number(row?.mismatched ?? 0), workspacesAtZero: Number(row?.at_zero ?? 0) };
}
