import type { Knex } from 'knex';
import type { Platform } from '../platform.js';
import type { Db } from '../storage/index.js';
import { UnknownWorkspaceError } from './errors.js';
import { checkInvariant } from './invariant.js';
import { openMonth } from './months.js';
import type { Row } from './prepared.js';
import { toTransaction, toWorkspace } from './rows.js';
import { checkMonth, isUuid, monthOf, remainingByDepth } from './rules.js';
import type {
  BalanceView,
  InvariantReport,
  LedgerTransaction,
  ListWorkspacesQuery,
  Month,
  Page,
  TransactionsQuery,
  Workspace,
  WorkspaceSummary,
} from './types.js';

// Reading the ledger: workspaces, balances, transactions and the invariant. Nothing here takes or gives
// credits; a balance read only opens the current month, as any first use of it would.

export class LedgerReads {
  constructor(
    private readonly db: Db,
    private readonly now: () => Date,
  ) {}

  async getWorkspace(id: string): Promise<Workspace | undefined> {
    if (!isUuid(id)) return undefined;
    const row = await this.db('workspaces').where({ id }).first();
    return row ? toWorkspace(row) : undefined;
  }

  async findWorkspace(platform: Platform, externalId: string): Promise<Workspace | undefined> {
    const row = await this.db('workspaces').where({ platform, external_id: externalId }).first();
    return row ? toWorkspace(row) : undefined;
  }

  async requireWorkspace(workspaceId: string): Promise<Workspace> {
    const ws = await this.getWorkspace(workspaceId);
    if (!ws) throw new UnknownWorkspaceError(workspaceId);
    return ws;
  }

  async listWorkspaces(query: ListWorkspacesQuery = {}): Promise<Page<WorkspaceSummary>> {
    const { page, pageSize } = paging(query);
    const month = monthOf(this.now());
    const q = this.db('workspaces as w')
      .leftJoin('balances as b', (j) => j.on('b.workspace_id', 'w.id').andOnVal('b.month', month))
      .joinRaw(
        'LEFT JOIN LATERAL (SELECT t.created_at AS last_at FROM transactions t WHERE t.workspace_id = w.id ORDER BY t.id DESC LIMIT 1) act ON true',
      )
      .select(
        'w.*',
        this.db.raw('COALESCE(b.balance, w.monthly_allowance) AS cur_balance'),
        this.db.raw('COALESCE(b.allowance, w.monthly_allowance) AS cur_allowance'),
        this.db.raw('COALESCE(b.used, 0) AS cur_used'),
        this.db.raw('act.last_at'),
        this.db.raw('count(*) OVER () AS total'),
      );
    filterWorkspaces(q, query);
    switch (query.sort ?? 'name') {
      case 'name':
        void q.orderByRaw('lower(w.name), w.id');
        break;
      case 'balance':
        void q.orderByRaw('cur_balance ASC, w.id');
        break;
      case 'usage':
        void q.orderByRaw('cur_used DESC, w.id');
        break;
      case 'activity':
        void q.orderByRaw('act.last_at DESC NULLS LAST, w.id');
        break;
    }
    const found = (await q.limit(pageSize).offset((page - 1) * pageSize)) as Row[];
    const items = found.map((r) => ({
      ...toWorkspace(r),
      month,
      balance: Number(r.cur_balance),
      allowance: Number(r.cur_allowance),
      used: Number(r.cur_used),
      lastActivityAt: r.last_at instanceof Date ? r.last_at : null,
    }));
    const total = found[0] ? Number(found[0].total) : await this.countWorkspaces(query);
    return { items, total, page, pageSize };
  }

  private async countWorkspaces(query: ListWorkspacesQuery): Promise<number> {
    // Only reached for a page past the end, where the window count has no row to ride on.
    const q = this.db('workspaces as w').count<{ n: string | number }[]>('* as n');
    filterWorkspaces(q, query);
    const [row] = await q;
    return Number(row?.n ?? 0);
  }

  async balance(workspaceId: string, month?: string): Promise<BalanceView> {
    const ws = await this.requireWorkspace(workspaceId);
    const current = monthOf(this.now());
    const wanted = month === undefined ? current : checkMonth(month);
    if (wanted === current) await openMonth(this.db, ws.id, wanted, this.now());
    const row = (await this.db('balances').where({ workspace_id: ws.id, month: wanted }).first()) as Row | undefined;
    if (row) return view(wanted, Number(row.balance), Number(row.allowance), Number(row.used));
    // A past month the workspace never used had nothing; a future month will open with today's allowance.
    return wanted < current ? view(wanted, 0, 0, 0) : view(wanted, ws.monthlyAllowance, ws.monthlyAllowance, 0);
  }

  async transactions(workspaceId: string, query: TransactionsQuery = {}): Promise<Page<LedgerTransaction>> {
    const ws = await this.requireWorkspace(workspaceId);
    const { page, pageSize } = paging(query);
    const q = this.db('transactions').where({ workspace_id: ws.id });
    if (query.type) void q.where({ type: query.type });
    if (query.from) void q.where('created_at', '>=', query.from);
    if (query.to) void q.where('created_at', '<', query.to);
    // Two statements in parallel rather than `count(*) OVER ()`, which reads every matching row in full.
    const [found, counted] = await Promise.all([
      q
        .clone()
        .select('*')
        .orderBy('id', 'desc')
        .limit(pageSize)
        .offset((page - 1) * pageSize) as Promise<Row[]>,
      q.clone().count<{ n: string }[]>('* as n'),
    ]);
    return { items: found.map(toTransaction), total: Number(counted[0]?.n ?? 0), page, pageSize };
  }

  async checkInvariant(workspaceId?: string): Promise<InvariantReport> {
    if (workspaceId !== undefined && !isUuid(workspaceId)) throw new UnknownWorkspaceError(workspaceId);
    return checkInvariant(this.db, workspaceId);
  }
}

/** The WHERE of listWorkspaces: search matches name or external id, case-insensitively, as plain text. */
function filterWorkspaces(q: Knex.QueryBuilder, query: ListWorkspacesQuery): void {
  const search = query.search?.trim();
  if (search) {
    const like = `%${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    void q.where((w) => w.whereILike('w.name', like).orWhereILike('w.external_id', like));
  }
  if (query.platform) void q.where('w.platform', query.platform);
  if (query.status) void q.where('w.status', query.status);
}

function view(month: Month, balance: number, allowance: number, used: number): BalanceView {
  return { month, balance, allowance, used, remaining: remainingByDepth(balance) };
}

function paging(query: { page?: number; pageSize?: number }): { page: number; pageSize: number } {
  const page = Number.isInteger(query.page) && (query.page ?? 0) >= 1 ? (query.page as number) : 1;
  const pageSize =
    Number.isInteger(query.pageSize) && (query.pageSize ?? 0) >= 1 ? Math.min(query.pageSize as number, 200) : 50;
  return { page, pageSize };
}
