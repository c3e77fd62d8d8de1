import type { Db } from '../storage/index.js';
import type { InvariantReport } from './types.js';

const MAX_PROBLEMS = 100;

// Each check is one query returning a human-readable problem per offending row; an empty result is health.
// `:ws` is NULL to check every workspace.
const CHECKS: { name: string; sql: string }[] = [
  {
    name: 'balance equals the sum of its transactions',
    sql: `SELECT b.workspace_id || ' ' || b.month || ': balance ' || b.balance || ' but transactions sum to ' || COALESCE(t.total, 0) AS problem
          FROM balances b
          LEFT JOIN (SELECT workspace_id, month, sum(amount) AS total FROM transactions GROUP BY workspace_id, month) t
            ON t.workspace_id = b.workspace_id AND t.month = b.month
          WHERE (CAST(:ws AS uuid) IS NULL OR b.workspace_id = :ws) AND b.balance <> COALESCE(t.total, 0)`,
  },
  {
    name: 'used equals reserves net of releases',
    sql: `SELECT b.workspace_id || ' ' || b.month || ': used ' || b.used || ' but reserves net of releases are ' || COALESCE(t.net, 0) AS problem
          FROM balances b
          LEFT JOIN (SELECT workspace_id, month, -sum(amount) AS net FROM transactions WHERE type IN ('reserve', 'release') GROUP BY workspace_id, month) t
            ON t.workspace_id = b.workspace_id AND t.month = b.month
          WHERE (CAST(:ws AS uuid) IS NULL OR b.workspace_id = :ws) AND b.used <> COALESCE(t.net, 0)`,
  },
  {
    // Captures move nothing and carry no balance_after; every other row continues the month's chain.
    name: 'balance_after chain',
    sql: `SELECT 'transaction ' || id || ' (' || workspace_id || ' ' || month || '): balance_after ' || balance_after || ', running sum ' || running AS problem
          FROM (SELECT id, workspace_id, month, type, balance_after,
                       sum(amount) OVER (PARTITION BY workspace_id, month ORDER BY id) AS running
                FROM transactions WHERE CAST(:ws AS uuid) IS NULL OR workspace_id = :ws) t
          WHERE type <> 'capture' AND balance_after <> running`,
  },
  {
    name: 'hold status matches its closing transactions',
    sql: `SELECT 'hold ' || h.task_id || ': status ' || h.status || ', ' || count(*) FILTER (WHERE t.type = 'reserve') || ' reserve(s), '
                 || count(*) FILTER (WHERE t.type = 'capture') || ' capture(s), ' || count(*) FILTER (WHERE t.type = 'release') || ' release(s)' AS problem
          FROM holds h LEFT JOIN transactions t ON t.task_id = h.task_id
          WHERE CAST(:ws AS uuid) IS NULL OR h.workspace_id = :ws
          GROUP BY h.task_id, h.status, h.amount
          HAVING count(*) FILTER (WHERE t.type = 'reserve' AND t.amount = -h.amount) <> 1
              OR count(*) FILTER (WHERE t.type = 'capture') <> (CASE WHEN h.status = 'captured' THEN 1 ELSE 0 END)
              OR count(*) FILTER (WHERE t.type = 'release' AND t.amount = h.amount) <> (CASE WHEN h.status = 'released' THEN 1 ELSE 0 END)
              OR count(*) FILTER (WHERE t.type = 'release') <> count(*) FILTER (WHERE t.type = 'release' AND t.amount = h.amount)`,
  },
  {
    name: 'every task transaction has a hold',
    sql: `SELECT 'transaction ' || t.id || ': ' || t.type || ' for task ' || t.task_id || ' without a hold' AS problem
          FROM transactions t LEFT JOIN holds h ON h.task_id = t.task_id
          WHERE t.type IN ('reserve', 'capture', 'release') AND h.task_id IS NULL
            AND (CAST(:ws AS uuid) IS NULL OR t.workspace_id = :ws)`,
  },
  {
    // There are no foreign keys on the hot tables (decision 011), so orphans are looked for here.
    name: 'every transaction and hold belongs to an open month of a workspace',
    sql: `SELECT x.kind || ' ' || x.ref || ': no balance row for ' || x.workspace_id || ' ' || x.month AS problem
          FROM (SELECT 'transaction' AS kind, CAST(id AS text) AS ref, workspace_id, month FROM transactions
                UNION ALL SELECT 'hold', task_id, workspace_id, month FROM holds) x
          LEFT JOIN balances b ON b.workspace_id = x.workspace_id AND b.month = x.month
          WHERE b.workspace_id IS NULL AND (CAST(:ws AS uuid) IS NULL OR x.workspace_id = :ws)`,
  },
];

/** Every balance equals the sum of its transactions, the balance_after chain holds, and every hold closed at most once. */
export async function checkInvariant(db: Db, workspaceId?: string): Promise<InvariantReport> {
  const problems: string[] = [];
  for (const check of CHECKS) {
    const result = (await db.raw(`${check.sql} LIMIT ${MAX_PROBLEMS}`, { ws: workspaceId ?? null })) as {
      rows: { problem: string }[];
    };
    problems.push(...result.rows.map((r) => `${check.name}: ${r.problem}`));
  }
  return { ok: problems.length === 0, problems: problems.slice(0, MAX_PROBLEMS) };
}
