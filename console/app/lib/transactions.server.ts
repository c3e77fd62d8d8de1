// Ledger rows across every workspace (the /transactions page and its CSV), like Stripe's balance
// transactions: read straight from the ledger's tables, newest first, each row named by its workspace.
import type { Knex } from 'knex';
import type { LedgerTransaction } from '../../../core/credits/types.js';
import { escapeLike } from './audit.server.js';
import { day, oneOf, str } from './params.js';
import { TX_TYPES } from './ledger-filters.js';

export type CrossTransaction = LedgerTransaction & { workspaceName: string; platform: string };

export type CrossFilters = {
  type?: (typeof TX_TYPES)[number];
  from?: Date;
  to?: Date;
  /** A workspace id, or part of a workspace name. */
  workspace?: string;
};

export function crossFilters(p: URLSearchParams): CrossFilters {
  return {
    type: oneOf(p, 'type', TX_TYPES),
    from: day(p, 'from'),
    to: day(p, 'to', true),
    workspace: str(p, 'workspace', 100),
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function filtered(db: Knex, f: CrossFilters): Knex.QueryBuilder {
  const q = db('transactions as t').join('workspaces as w', 'w.id', 't.workspace_id');
  if (f.type) void q.where('t.type', f.type);
  if (f.from) void q.where('t.created_at', '>=', f.from);
  if (f.to) void q.where('t.created_at', '<', f.to);
  if (f.workspace)
    void (UUID.test(f.workspace)
      ? q.where('t.workspace_id', f.workspace)
      : q.whereILike('w.name', `%${escapeLike(f.workspace)}%`));
  return q;
}

type Row = {
  id: string;
  workspace_id: string;
  month: string;
  type: LedgerTransaction['type'];
  amount: string;
  balance_after: string | null;
  task_id: string | null;
  depth: LedgerTransaction['depth'];
  actor: string;
  reason: string | null;
  idempotency_key: string | null;
  created_at: Date;
  workspace_name: string;
  platform: string;
};

const COLUMNS = [
  't.id',
  't.workspace_id',
  't.month',
  't.type',
  't.amount',
  't.balance_after',
  't.task_id',
  't.depth',
  't.actor',
  't.reason',
  't.idempotency_key',
  't.created_at',
  'w.name as workspace_name',
  'w.platform',
];

function toRow(r: Row): CrossTransaction {
  return {
    id: Number(r.id),
    workspaceId: r.workspace_id,
    month: r.month as LedgerTransaction['month'],
    type: r.type,
    amount: Number(r.amount),
    balanceAfter: r.balance_after === null ? null : Number(r.balance_after),
    taskId: r.task_id,
    depth: r.depth,
    actor: r.actor,
    reason: r.reason,
    idempotencyKey: r.idempotency_key,
    createdAt: r.created_at,
    workspaceName: r.workspace_name,
    platform: r.platform,
  };
}

export async function listTransactions(
  db: Knex,
  f: CrossFilters,
  page: number,
  pageSize: number,
): Promise<{ items: CrossTransaction[]; total: number; page: number; pageSize: number }> {
  const q = filtered(db, f);
  const [rows, counted] = await Promise.all([
    q
      .clone()
      .select(COLUMNS)
      .orderBy('t.id', 'desc')
      .limit(pageSize)
      .offset((page - 1) * pageSize) as Promise<Row[]>,
    q.clone().count<{ n: string }[]>('* as n'),
  ]);
  return { items: rows.map(toRow), total: Number(counted[0]?.n ?? 0), page, pageSize };
}

/** Every matching row, newest first, in batches by id (no OFFSET that grows with the export). */
export async function* allTransactions(db: Knex, f: CrossFilters, batch = 2000): AsyncGenerator<CrossTransaction[]> {
  let below: number | undefined;
  for (;;) {
    const q = filtered(db, f).select(COLUMNS).orderBy('t.id', 'desc').limit(batch);
    if (below !== undefined) void q.where('t.id', '<', below);
    const rows = (await q) as Row[];
    if (rows.length === 0) return;
    yield rows.map(toRow);
    below = Number(rows[rows.length - 1]!.id);
    if (rows.length < batch) return;
  }
}

export type TopWorkspace = { id: string; name: string; platform: string; used: number; balance: number };

/** The workspaces that used the most credits in `month` (balances.used: captured credits). */
export async function topWorkspacesByCredits(db: Knex, month: string, limit = 10): Promise<TopWorkspace[]> {
  const rows = (await db('balances as b')
    .join('workspaces as w', 'w.id', 'b.workspace_id')
    .where('b.month', month)
    .where('b.used', '>', 0)
    .orderBy('b.used', 'desc')
    .limit(limit)
    .select('w.id', 'w.name', 'w.platform', 'b.used', 'b.balance')) as {
    id: string;
    name: string;
    platform: string;
    used: string;
    balance: string;
  }[];
  return rows.map((r) => ({ ...r, used: Number(r.used), balance: Number(r.balance) }));
}
