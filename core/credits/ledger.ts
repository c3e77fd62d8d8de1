import type { Knex } from 'knex';
import { metrics } from '../observability/metrics.js';
import type { Db } from '../storage/index.js';
import {
  HoldClosedError,
  IdempotencyConflictError,
  InsufficientCreditsError,
  LedgerValidationError,
  UnknownHoldError,
  UnknownWorkspaceError,
  WorkspaceSuspendedError,
} from './errors.js';
import { StatementBatcher, type BatchOptions } from '../storage/statement-batcher.js';
import { checkInvariant } from './invariant.js';
import { prepare, runPrepared, type Row } from './prepared.js';
import { pgError, toHold, toTransaction, toWorkspace } from './rows.js';
import {
  checkAmount,
  checkDepth,
  checkId,
  checkMonth,
  checkReason,
  isUuid,
  monthOf,
  payloadHash,
  remainingByDepth,
} from './rules.js';
import type {
  AmountChange,
  BalanceView,
  CaptureInput,
  Hold,
  InvariantReport,
  LedgerOptions,
  LedgerTransaction,
  ListWorkspacesQuery,
  Month,
  Page,
  Platform,
  ReleaseInput,
  ReserveInput,
  StatusChange,
  TransactionsQuery,
  Workspace,
  WorkspaceSummary,
} from './types.js';

type Executor = Db | Knex.Transaction;

const PLATFORMS: readonly Platform[] = ['slack', 'discord', 'console'];
const SYSTEM_ACTOR = 'system';
/** A reserve that raced a month opening or a release re-runs its one statement; more rounds mean a bug. */
const MAX_RESERVE_ROUNDS = 5;

async function rows(db: Executor, sql: string, bindings: Record<string, unknown>): Promise<Row[]> {
  const result = (await db.raw(sql, bindings as Knex.ValueDict)) as { rows: Row[] };
  return result.rows;
}

// The hot paths (reserve, capture, release) are each ONE autocommit statement: the balance row is locked
// only while that statement runs, so a contended workspace serializes on a lock held for well under a
// millisecond instead of for several client round trips (decision 011). Reserves and captures that overlap
// share that statement (decision 012).

// Named columns, not `*`: a prepared statement whose result shape changed under it (a later migration
// adding a column) fails with "cached plan must not change result type".
const HOLD_COLUMNS =
  'task_id, workspace_id, month, amount, depth, status, actor, created_at, closed_at, closed_by, close_reason';
const QUALIFIED_HOLD_COLUMNS = HOLD_COLUMNS.split(', ')
  .map((column) => `holds.${column}`)
  .join(', ');

// Reserve and capture run batched (core/storage/statement-batcher.ts, decision 012): each statement takes parallel arrays, one
// element per call, and returns a hold row for each call it served. A batch never holds two calls for one task
// or idempotency key. It may hold several for one workspace: they take their credits together, all or none
// (the balance must cover their sum), so the check reads exactly as it does for one call, and PostgreSQL
// re-checks it on the newest row version when a concurrent statement changed the balance first. Calls left
// out that would have fitted on their own are sent again alone (see `reserve`).
//
// Each array sits in a scalar sub-SELECT so that PostgreSQL cannot see its length while planning: with a bare
// array parameter every call's custom plan looked cheaper than the generic one (it knows the array has one
// element), so the "prepared" statement was planned again on every call. Hidden, both plans estimate alike
// and the generic plan is kept after the fifth call.
const RESERVE = prepare(
  'ledger_reserve_batch',
  `
WITH args AS (
  SELECT * FROM unnest((SELECT CAST(:ws AS uuid[])), (SELECT CAST(:month AS text[])), (SELECT CAST(:cost AS bigint[])),
                       (SELECT CAST(:task AS text[])), (SELECT CAST(:depth AS text[])), (SELECT CAST(:actor AS text[])),
                       (SELECT CAST(:key AS text[])), (SELECT CAST(:hash AS text[])), (SELECT CAST(:now AS timestamptz[])))
    WITH ORDINALITY AS a(ws, month, cost, task, depth, actor, key, hash, now, ord)
), eligible AS (
  SELECT args.*, CAST(sum(args.cost) OVER (PARTITION BY args.ws, args.month ORDER BY args.ord) AS bigint) AS upto
  FROM args JOIN workspaces w ON w.id = args.ws AND w.status = 'active'
  WHERE NOT EXISTS (SELECT 1 FROM holds WHERE task_id = args.task)
    AND (args.key IS NULL OR (NOT EXISTS (SELECT 1 FROM transactions WHERE idempotency_key = args.key)
                              AND NOT EXISTS (SELECT 1 FROM workspace_events WHERE idempotency_key = args.key)))
), wanted AS (
  SELECT ws, month, CAST(sum(cost) AS bigint) AS total, max(now) AS now FROM eligible GROUP BY ws, month
), upd AS (
  UPDATE balances b SET balance = b.balance - wanted.total, used = b.used + wanted.total, updated_at = wanted.now
  FROM wanted
  WHERE b.workspace_id = wanted.ws AND b.month = wanted.month AND b.balance >= wanted.total
  RETURNING b.workspace_id, b.month, b.balance + wanted.total AS balance_before
), tx AS (
  INSERT INTO transactions (workspace_id, month, type, amount, balance_after, task_id, depth, actor, idempotency_key, payload_hash, created_at)
  SELECT e.ws, e.month, 'reserve', -e.cost, upd.balance_before - e.upto, e.task, e.depth, e.actor, e.key, e.hash, e.now
  FROM eligible e JOIN upd ON upd.workspace_id = e.ws AND upd.month = e.month
  ORDER BY e.ord
  RETURNING task_id
)
INSERT INTO holds (task_id, workspace_id, month, amount, depth, status, actor, created_at)
SELECT args.task, args.ws, args.month, args.cost, args.depth, 'held', args.actor, args.now FROM tx JOIN args ON args.task = tx.task_id
RETURNING ${HOLD_COLUMNS}`,
);

const CAPTURE = prepare(
  'ledger_capture_batch',
  `
WITH args AS (
  SELECT * FROM unnest((SELECT CAST(:task AS text[])), (SELECT CAST(:actor AS text[])), (SELECT CAST(:now AS timestamptz[])))
    AS a(task, actor, now)
), h AS (
  UPDATE holds SET status = 'captured', closed_at = args.now, closed_by = args.actor
  FROM args
  WHERE holds.task_id = args.task AND holds.status = 'held'
  RETURNING ${QUALIFIED_HOLD_COLUMNS}
), tx AS (
  INSERT INTO transactions (workspace_id, month, type, amount, balance_after, task_id, depth, actor, created_at)
  SELECT workspace_id, month, 'capture', 0, NULL, task_id, depth, closed_by, closed_at FROM h
)
SELECT ${HOLD_COLUMNS} FROM h`,
);

const RELEASE = prepare(
  'ledger_release',
  `
WITH h AS (
  UPDATE holds SET status = 'released', closed_at = CAST(:now AS timestamptz), closed_by = CAST(:actor AS text), close_reason = CAST(:reason AS text)
  WHERE task_id = CAST(:task AS text) AND status = 'held'
  RETURNING ${HOLD_COLUMNS}
), b AS (
  UPDATE balances SET balance = balances.balance + h.amount, used = balances.used - h.amount, updated_at = h.closed_at
  FROM h
  WHERE balances.workspace_id = h.workspace_id AND balances.month = h.month
  RETURNING balances.workspace_id, balances.month, balances.balance, h.amount, h.task_id, h.depth, h.closed_by, h.close_reason, h.closed_at
), tx AS (
  INSERT INTO transactions (workspace_id, month, type, amount, balance_after, task_id, depth, actor, reason, created_at)
  SELECT workspace_id, month, 'release', amount, balance, task_id, depth, closed_by, close_reason, closed_at FROM b
)
SELECT ${HOLD_COLUMNS} FROM h`,
);

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

type ReserveCall = {
  ws: string;
  month: Month;
  cost: number;
  task: string;
  depth: string | null;
  actor: string;
  key: string | null;
  hash: string | null;
  now: Date;
};
type CaptureCall = { task: string; actor: string; now: Date };

/** Each call's row from a batch statement, found by its task id (the statements return rows in no set order). */
function rowsByTask(calls: readonly { task: string }[], found: Row[]): (Row | undefined)[] {
  const byTask = new Map(found.map((row) => [row.task_id, row]));
  return calls.map((call) => byTask.get(call.task));
}

/** Statements in flight per batcher; measured in decision 012 (more of them means smaller batches). */
const DEFAULT_BATCHING: BatchOptions = { maxInFlight: 2, maxBatch: 64 };

export class CreditLedger {
  private readonly defaultAllowance: number;
  private readonly now: () => Date;
  private readonly reserves: StatementBatcher<ReserveCall, Row>;
  private readonly captures: StatementBatcher<CaptureCall, Row>;

  constructor(
    private readonly db: Db,
    opts: LedgerOptions = {},
  ) {
    this.defaultAllowance = checkAmount('defaultAllowance', opts.defaultAllowance ?? 1000, { allowZero: true });
    this.now = opts.now ?? (() => new Date());
    const batching = opts.batching ?? DEFAULT_BATCHING;
    this.reserves = new StatementBatcher(async (calls) => {
      const found = await runPrepared(db, RESERVE, {
        ws: calls.map((c) => c.ws),
        month: calls.map((c) => c.month),
        cost: calls.map((c) => c.cost),
        task: calls.map((c) => c.task),
        depth: calls.map((c) => c.depth),
        actor: calls.map((c) => c.actor),
        key: calls.map((c) => c.key),
        hash: calls.map((c) => c.hash),
        now: calls.map((c) => c.now),
      });
      return rowsByTask(calls, found);
    }, batching);
    this.captures = new StatementBatcher(async (calls) => {
      const found = await runPrepared(db, CAPTURE, {
        task: calls.map((c) => c.task),
        actor: calls.map((c) => c.actor),
        now: calls.map((c) => c.now),
      });
      return rowsByTask(calls, found);
    }, batching);
  }

  /** How many calls each batch statement carried so far (decision 012). */
  batchingStats(): { reserve: { statements: number; calls: number }; capture: { statements: number; calls: number } } {
    return { reserve: this.reserves.stats, capture: this.captures.stats };
  }

  // ---- workspaces -------------------------------------------------------------------------------

  async ensureWorkspace(input: { platform: Platform; externalId: string; name: string }): Promise<Workspace> {
    if (!PLATFORMS.includes(input.platform))
      throw new LedgerValidationError('platform', `must be one of ${PLATFORMS.join(', ')}`);
    const externalId = checkId('externalId', input.externalId);
    const name = checkId('name', input.name);
    // Only a rename writes a new row version; a known workspace with the same name is returned as it is.
    const found = await rows(
      this.db,
      `INSERT INTO workspaces (platform, external_id, name, monthly_allowance, status, created_at)
       VALUES (:platform, :externalId, :name, :allowance, 'active', :now)
       ON CONFLICT (platform, external_id) DO UPDATE SET name = EXCLUDED.name WHERE workspaces.name IS DISTINCT FROM EXCLUDED.name
       RETURNING *`,
      { platform: input.platform, externalId, name, allowance: this.defaultAllowance, now: this.now() },
    );
    if (found[0]) return toWorkspace(found[0]);
    const existing = await this.findWorkspace(input.platform, externalId);
    if (!existing) throw new Error(`workspace ${input.platform}/${externalId} vanished during upsert`);
    return existing;
  }

  async getWorkspace(id: string): Promise<Workspace | undefined> {
    if (!isUuid(id)) return undefined;
    const row = await this.db('workspaces').where({ id }).first();
    return row ? toWorkspace(row) : undefined;
  }

  async findWorkspace(platform: Platform, externalId: string): Promise<Workspace | undefined> {
    const row = await this.db('workspaces').where({ platform, external_id: externalId }).first();
    return row ? toWorkspace(row) : undefined;
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

  // ---- balances ---------------------------------------------------------------------------------

  async balance(workspaceId: string, month?: string): Promise<BalanceView> {
    const ws = await this.requireWorkspace(workspaceId);
    const current = monthOf(this.now());
    const wanted = month === undefined ? current : checkMonth(month);
    if (wanted === current) await this.openMonth(this.db, ws.id, wanted);
    const row = (await this.db('balances').where({ workspace_id: ws.id, month: wanted }).first()) as Row | undefined;
    if (row) return view(wanted, Number(row.balance), Number(row.allowance), Number(row.used));
    // A past month the workspace never used had nothing; a future month will open with today's allowance.
    return wanted < current ? view(wanted, 0, 0, 0) : view(wanted, ws.monthlyAllowance, ws.monthlyAllowance, 0);
  }

  private async openMonth(db: Executor, workspaceId: string, month: Month): Promise<void> {
    await db.raw(OPEN_MONTH_SQL, { ws: workspaceId, month, now: this.now() });
  }

  // ---- holds ------------------------------------------------------------------------------------

  /**
   * Throws the error a reserve of `cost` would throw right now for want of credits or a suspended or unknown
   * workspace, from one read without locks; otherwise returns and the reserve decides (decision 013). Lets a
   * caller refuse before writing anything else for a request that cannot be paid for.
   */
  async refuseEarly(workspaceId: string, cost: number): Promise<void> {
    if (!isUuid(workspaceId)) throw new UnknownWorkspaceError(String(workspaceId));
    const [row] = await rows(
      this.db,
      `SELECT w.status, b.balance FROM workspaces w
       LEFT JOIN balances b ON b.workspace_id = w.id AND b.month = :month
       WHERE w.id = :ws`,
      { ws: workspaceId, month: monthOf(this.now()) },
    );
    if (!row) throw new UnknownWorkspaceError(workspaceId);
    if (row.status === 'suspended') throw new WorkspaceSuspendedError(workspaceId);
    // No row yet: the month opens with the allowance on the first reserve, which decides.
    if (row.balance === null || row.balance === undefined) return;
    const balance = Number(row.balance);
    if (balance < cost) throw new InsufficientCreditsError(balance, cost, remainingByDepth(balance));
  }

  async reserve(input: ReserveInput): Promise<Hold> {
    const cost = checkAmount('cost', input.cost);
    const taskId = checkId('taskId', input.taskId);
    const actor = checkId('actor', input.actor);
    const depth = checkDepth(input.depth);
    const key = input.idempotencyKey === undefined ? null : checkId('idempotencyKey', input.idempotencyKey);
    if (!isUuid(input.workspaceId)) throw new UnknownWorkspaceError(String(input.workspaceId));
    const hash = key === null ? null : payloadHash('reserve', { workspaceId: input.workspaceId, cost, taskId, depth });
    const month = monthOf(this.now());
    const call: ReserveCall = {
      ws: input.workspaceId,
      cost,
      task: taskId,
      depth,
      actor,
      key,
      hash,
      month,
      now: this.now(),
    };
    const exclusive = [`task:${taskId}`, ...(key === null ? [] : [`key:${key}`])];

    for (let round = 0; round < MAX_RESERVE_ROUNDS; round++) {
      try {
        // A retry goes alone: the batch that left it out may have asked for more than the balance held.
        const claim = { exclusive, grouped: [`balance:${call.ws}`], alone: round > 0 };
        const row = await this.reserves.submit(call, claim);
        if (row) {
          metrics.credits.inc({ type: 'reserve' }, cost);
          return toHold(row);
        }
      } catch (err) {
        // A concurrent reserve of the same task or key won the unique index; the explanation below finds it.
        if (pgError(err)?.code !== '23505') throw err;
      }
      const outcome = await this.explainFailedReserve({
        workspaceId: input.workspaceId,
        cost,
        taskId,
        depth,
        key,
        hash,
        month,
      });
      if (outcome !== 'retry') return outcome;
    }
    throw new Error(`reserve for task ${taskId} did not settle after ${MAX_RESERVE_ROUNDS} rounds`);
  }

  /** Why the reserve statement changed nothing: a replay (return its hold), a typed error, or a race worth retrying. */
  private async explainFailedReserve(r: {
    workspaceId: string;
    cost: number;
    taskId: string;
    depth: string | null;
    key: string | null;
    hash: string | null;
    month: Month;
  }): Promise<Hold | 'retry'> {
    if (r.key !== null) {
      const prior = (await this.db('transactions').where({ idempotency_key: r.key }).first()) as Row | undefined;
      if (prior) {
        if (prior.payload_hash !== r.hash || prior.type !== 'reserve' || typeof prior.task_id !== 'string')
          throw new IdempotencyConflictError(r.key);
        return this.requireHold(prior.task_id);
      }
      if (await this.db('workspace_events').where({ idempotency_key: r.key }).first())
        throw new IdempotencyConflictError(r.key);
    }
    const existing = await this.getHold(r.taskId);
    if (existing) {
      // The task id is the natural idempotency key of a reserve: the same task may only ever hold once.
      if (existing.workspaceId !== r.workspaceId || existing.amount !== r.cost || existing.depth !== r.depth)
        throw new IdempotencyConflictError(r.key ?? r.taskId);
      return existing;
    }
    const ws = await this.requireWorkspace(r.workspaceId);
    if (ws.status === 'suspended') throw new WorkspaceSuspendedError(ws.id);
    const row = (await this.db('balances').where({ workspace_id: ws.id, month: r.month }).first()) as Row | undefined;
    if (!row) {
      await this.openMonth(this.db, ws.id, r.month);
      return 'retry';
    }
    const balance = Number(row.balance);
    if (balance >= r.cost) return 'retry';
    throw new InsufficientCreditsError(balance, r.cost, remainingByDepth(balance));
  }

  async capture(input: CaptureInput): Promise<Hold> {
    const taskId = checkId('taskId', input.taskId);
    const actor = checkId('actor', input.actor);
    const row = await this.captures.submit({ task: taskId, actor, now: this.now() }, { exclusive: [`task:${taskId}`] });
    if (row) {
      const hold = toHold(row);
      metrics.credits.inc({ type: 'capture' }, hold.amount);
      return hold;
    }
    return this.closedAlready(taskId, 'captured');
  }

  async release(input: ReleaseInput): Promise<Hold> {
    const taskId = checkId('taskId', input.taskId);
    const actor = checkId('actor', input.actor);
    const reason = checkReason(input.reason);
    const [row] = await runPrepared(this.db, RELEASE, { task: taskId, actor, reason, now: this.now() });
    if (row) {
      const hold = toHold(row);
      metrics.credits.inc({ type: 'release' }, hold.amount);
      return hold;
    }
    return this.closedAlready(taskId, 'released');
  }

  /** A repeat of the same close returns the hold as it was closed; the opposite close is an error. */
  private async closedAlready(taskId: string, wanted: 'captured' | 'released'): Promise<Hold> {
    const hold = await this.getHold(taskId);
    if (!hold) throw new UnknownHoldError(taskId);
    if (hold.status === wanted) return hold;
    throw new HoldClosedError(hold);
  }

  async getHold(taskId: string): Promise<Hold | undefined> {
    const row = await this.db('holds').where({ task_id: taskId }).first();
    return row ? toHold(row) : undefined;
  }

  private async requireHold(taskId: string): Promise<Hold> {
    const hold = await this.getHold(taskId);
    if (!hold) throw new UnknownHoldError(taskId);
    return hold;
  }

  // ---- admin changes ----------------------------------------------------------------------------

  /** Adds credits to the current month. Allowed on a suspended workspace (top it up before resuming). */
  async grant(input: AmountChange): Promise<LedgerTransaction> {
    const amount = checkAmount('amount', input.amount);
    return this.adminTransaction('grant', input, amount, (balance) => ({ delta: amount, allowance: null, balance }));
  }

  /** Takes credits from the current month (an `adjust` transaction); never below zero. */
  async deduct(input: AmountChange): Promise<LedgerTransaction> {
    const amount = checkAmount('amount', input.amount);
    return this.adminTransaction('adjust', input, amount, (balance) => {
      if (amount > balance) throw new InsufficientCreditsError(balance, amount, remainingByDepth(balance));
      return { delta: -amount, allowance: null, balance };
    });
  }

  /**
   * Sets the monthly allowance from now on. The current month moves by the difference at once (an
   * `allowance` transaction), floored so the balance never goes negative; later months open with it.
   */
  async setAllowance(input: AmountChange): Promise<LedgerTransaction> {
    const amount = checkAmount('amount', input.amount, { allowZero: true });
    return this.adminTransaction('allowance', input, amount, (balance, allowance) => ({
      delta: Math.max(amount - allowance, -balance),
      allowance: amount,
      balance,
    }));
  }

  private async adminTransaction(
    type: 'grant' | 'adjust' | 'allowance',
    input: AmountChange,
    amount: number,
    plan: (balance: number, allowance: number) => { delta: number; allowance: number | null; balance: number },
  ): Promise<LedgerTransaction> {
    const reason = checkReason(input.reason);
    const actor = checkId('actor', input.actor);
    const key = checkId('idempotencyKey', input.idempotencyKey);
    if (!isUuid(input.workspaceId)) throw new UnknownWorkspaceError(String(input.workspaceId));
    const hash = payloadHash(type, { workspaceId: input.workspaceId, amount, reason });
    const replay = await this.replayTransaction(key, hash);
    if (replay) return replay;
    const month = monthOf(this.now());
    try {
      const tx = await this.db.transaction(async (trx) => {
        const ws = await trx('workspaces').where({ id: input.workspaceId }).forUpdate().first();
        if (!ws) throw new UnknownWorkspaceError(input.workspaceId);
        if (type === 'allowance')
          await trx('workspaces').where({ id: input.workspaceId }).update({ monthly_allowance: amount });
        await this.openMonth(trx, input.workspaceId, month);
        const current = (await trx('balances')
          .where({ workspace_id: input.workspaceId, month })
          .forUpdate()
          .first()) as Row;
        const step = plan(Number(current.balance), Number(current.allowance));
        const balanceAfter = step.balance + step.delta;
        await trx('balances')
          .where({ workspace_id: input.workspaceId, month })
          .update({
            balance: balanceAfter,
            ...(step.allowance === null ? {} : { allowance: step.allowance }),
            updated_at: this.now(),
          });
        const [row] = (await trx('transactions')
          .insert({
            workspace_id: input.workspaceId,
            month,
            type,
            amount: step.delta,
            balance_after: balanceAfter,
            actor,
            reason,
            idempotency_key: key,
            payload_hash: hash,
            created_at: this.now(),
          })
          .returning('*')) as Row[];
        return toTransaction(row);
      });
      metrics.credits.inc({ type }, Math.abs(tx.amount));
      return tx;
    } catch (err) {
      // Someone committed the same key while we worked: theirs is the first result.
      if (pgError(err)?.code === '23505') {
        const replayed = await this.replayTransaction(key, hash);
        if (replayed) return replayed;
      }
      throw err;
    }
  }

  private async replayTransaction(key: string, hash: string): Promise<LedgerTransaction | undefined> {
    const prior = (await this.db('transactions').where({ idempotency_key: key }).first()) as Row | undefined;
    if (prior) {
      if (prior.payload_hash !== hash) throw new IdempotencyConflictError(key);
      return toTransaction(prior);
    }
    if (await this.db('workspace_events').where({ idempotency_key: key }).first())
      throw new IdempotencyConflictError(key);
    return undefined;
  }

  async suspend(input: StatusChange): Promise<Workspace> {
    return this.changeStatus('suspend', input);
  }

  async resume(input: StatusChange): Promise<Workspace> {
    return this.changeStatus('resume', input);
  }

  private async changeStatus(type: 'suspend' | 'resume', input: StatusChange): Promise<Workspace> {
    const reason = checkReason(input.reason);
    const actor = checkId('actor', input.actor);
    const key = checkId('idempotencyKey', input.idempotencyKey);
    if (!isUuid(input.workspaceId)) throw new UnknownWorkspaceError(String(input.workspaceId));
    const hash = payloadHash(type, { workspaceId: input.workspaceId, reason });
    const replay = async (): Promise<Workspace | undefined> => {
      const prior = (await this.db('workspace_events').where({ idempotency_key: key }).first()) as Row | undefined;
      if (!prior) {
        if (await this.db('transactions').where({ idempotency_key: key }).first())
          throw new IdempotencyConflictError(key);
        return undefined;
      }
      if (prior.payload_hash !== hash) throw new IdempotencyConflictError(key);
      return this.requireWorkspace(input.workspaceId);
    };
    const replayed = await replay();
    if (replayed) return replayed;
    try {
      return await this.db.transaction(async (trx) => {
        const [row] = (await trx('workspaces')
          .where({ id: input.workspaceId })
          .update({ status: type === 'suspend' ? 'suspended' : 'active' })
          .returning('*')) as Row[];
        if (!row) throw new UnknownWorkspaceError(input.workspaceId);
        await trx('workspace_events').insert({
          workspace_id: input.workspaceId,
          type,
          actor,
          reason,
          idempotency_key: key,
          payload_hash: hash,
          created_at: this.now(),
        });
        return toWorkspace(row);
      });
    } catch (err) {
      if (pgError(err)?.code === '23505') {
        const again = await replay();
        if (again) return again;
      }
      throw err;
    }
  }

  // ---- reading the ledger -----------------------------------------------------------------------

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

  private async requireWorkspace(workspaceId: string): Promise<Workspace> {
    const ws = await this.getWorkspace(workspaceId);
    if (!ws) throw new UnknownWorkspaceError(workspaceId);
    return ws;
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
