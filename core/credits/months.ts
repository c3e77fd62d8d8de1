import type { Knex } from 'knex';
import type { Db } from '../storage/index.js';
import type { Month } from './types.js';

// Opening a month's balance row, which holds, admin changes and balance reads all may be the first to need.

/** The pool, or a transaction an admin change holds open while it opens the month. */
export type Executor = Db | Knex.Transaction;

const SYSTEM_ACTOR = 'system';

// Opening a month is idempotent: the first caller inserts the balance row and its allowance transaction,
// concurrent callers wait on the primary key and then do nothing.
const OPEN_MONTH_SQL = `
WITH ws AS (
  SELECT id, monthly_allowance FROM workspaces WHERE id = :ws
), b AS (
  INSERT INTO balances (workspace_id, month, balance, allowance, used, opened_at, updated_at)
  SELECT id, :month, monthly_allowance, monthly_allowance, 0, :now, :now FROM ws
  ON CONFLICT (workspace_id, month) DO NOTHING
  RETURNING workspace_id, month, balance
)
INSERT INTO transactions (workspace_id, month, type, amount, balance_after, actor, reason, created_at)
SELECT workspace_id, month, 'allowance', balance, balance, '${SYSTEM_ACTOR}', 'monthly allowance', :now FROM b`;

export async function openMonth(db: Executor, workspaceId: string, month: Month, now: Date): Promise<void> {
  await db.raw(OPEN_MONTH_SQL, { ws: workspaceId, month, now });
}
