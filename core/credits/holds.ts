import { metrics } from '../observability/metrics.js';
import { StatementBatcher, type BatchOptions } from '../storage/statement-batcher.js';
import type { Db } from '../storage/index.js';
import {
  HoldClosedError,
  IdempotencyConflictError,
  InsufficientCreditsError,
  UnknownHoldError,
  UnknownWorkspaceError,
  WorkspaceSuspendedError,
} from './errors.js';
import { openMonth } from './months.js';
import { prepare, runPrepared, type Row } from './prepared.js';
import type { LedgerReads } from './reads.js';
import { pgError, toHold } from './rows.js';
import {
  checkAmount,
  checkDepth,
  checkId,
  checkReason,
  isUuid,
  monthOf,
  payloadHash,
  remainingByDepth,
} from './rules.js';
import type { CaptureInput, Hold, Month, ReleaseInput, ReserveInput } from './types.js';

// A research's credits: reserved when it is accepted, captured when its report arrived, released when it
// failed or was cancelled (decision 010).

/** A reserve that raced a month opening or a release re-runs its one statement; more rounds mean a bug. */
const MAX_RESERVE_ROUNDS = 5;

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

export class LedgerHolds {
  private readonly reserves: StatementBatcher<ReserveCall, Row>;
  private readonly captures: StatementBatcher<CaptureCall, Row>;

  constructor(
    private readonly db: Db,
    private readonly now: () => Date,
    private readonly reads: LedgerReads,
    batching: BatchOptions = DEFAULT_BATCHING,
  ) {
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

  /**
   * Throws the error a reserve of `cost` would throw right now for want of credits or a suspended or unknown
   * workspace, from one read without locks; otherwise returns and the reserve decides (decision 013). Lets a
   * caller refuse before writing anything else for a request that cannot be paid for.
   */
  async refuseEarly(workspaceId: string, cost: number): Promise<void> {
    if (!isUuid(workspaceId)) throw new UnknownWorkspaceError(String(workspaceId));
    const {
      rows: [row],
    } = (await this.db.raw(
      `SELECT w.status, b.balance FROM workspaces w
       LEFT JOIN balances b ON b.workspace_id = w.id AND b.month = :month
       WHERE w.id = :ws`,
      { ws: workspaceId, month: monthOf(this.now()) },
    )) as { rows: Row[] };
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
    const ws = await this.reads.requireWorkspace(r.workspaceId);
    if (ws.status === 'suspended') throw new WorkspaceSuspendedError(ws.id);
    const row = (await this.db('balances').where({ workspace_id: ws.id, month: r.month }).first()) as Row | undefined;
    if (!row) {
      await openMonth(this.db, ws.id, r.month, this.now());
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
}
