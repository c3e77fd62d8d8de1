// The ledger under concurrent callers on a real PostgreSQL: races that must neither lose nor double-spend a
// credit. Long because each race needs its own set-up; splitting them would repeat that set-up per file.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { testPostgres } from '../../test/helpers/storage.js';
import { DEPTH_PROFILES, DEPTHS, type Depth } from '../research/depth.js';
import type { Db } from '../storage/index.js';
import {
  CreditLedger,
  HoldClosedError,
  IdempotencyConflictError,
  InsufficientCreditsError,
  WorkspaceSuspendedError,
  type Hold,
  type LedgerTransaction,
} from './index.js';
import { freshWorkspace, seededRandom } from '../../test/helpers/ledger.js';

let db: Db;

beforeAll(() => {
  // Enough connections that hundreds of requests really do queue on the same balance row at once.
  db = testPostgres(25);
});
afterAll(async () => {
  await db.destroy();
});

describe('one workspace hammered concurrently', () => {
  it('1,000 concurrent reserves of 12 on 1,000 credits: exactly 83 succeed and 4 credits remain', async () => {
    const ledger = new CreditLedger(db);
    // The month is not opened beforehand, so the first burst also races the lazy month opening.
    const ws = await freshWorkspace(ledger, 'hammer');
    const results = await Promise.allSettled(
      Array.from({ length: 1000 }, (_, i) =>
        ledger.reserve({
          workspaceId: ws.id,
          cost: 12,
          taskId: `hammer-${ws.id}-${i}`,
          depth: 'standard',
          actor: 'load',
        }),
      ),
    );
    const ok = results.filter((r): r is PromiseFulfilledResult<Hold> => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(ok).toHaveLength(83);
    expect(refused).toHaveLength(917);
    for (const r of refused) {
      expect(r.reason).toBeInstanceOf(InsufficientCreditsError);
      expect(r.reason).toMatchObject({ balance: 4, cost: 12, remaining: { essential: 0, standard: 0, deep: 0 } });
    }
    expect(new Set(ok.map((r) => r.value.taskId)).size).toBe(83);
    expect(await ledger.balance(ws.id)).toMatchObject({ balance: 4, allowance: 1000, used: 996 });
    const reserves = await ledger.transactions(ws.id, { type: 'reserve', pageSize: 200 });
    expect(reserves.total).toBe(83);
    // Every successful reserve saw a distinct balance: the chain 988, 976, … 4 has no gaps or repeats.
    expect(reserves.items.map((t) => t.balanceAfter).sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(
      Array.from({ length: 83 }, (_, i) => 4 + 12 * i),
    );
    // And the ledger reads in order: newest first, each reserve left less than the one before it, also for
    // reserves that shared a batch statement.
    expect(reserves.items.map((t) => t.balanceAfter)).toEqual(Array.from({ length: 83 }, (_, i) => 4 + 12 * i));
    expect(await ledger.checkInvariant(ws.id)).toEqual({ ok: true, problems: [] });
  }, 180_000);
});

describe('batched statements (decision 012)', () => {
  it('two ledgers (as two processes) reserving on the same workspaces at once serve every call exactly once', async () => {
    const [first, second] = [new CreditLedger(db), new CreditLedger(db)];
    const workspaces = await Promise.all(Array.from({ length: 6 }, () => freshWorkspace(first, 'two-procs')));
    const calls = Array.from({ length: 600 }, (_, i) => ({
      ledger: i % 2 === 0 ? first : second,
      workspaceId: workspaces[(i * 7) % workspaces.length]!.id,
      taskId: `two-procs-${randomUUID()}`,
    }));
    const holds = await Promise.all(
      calls.map((c) =>
        c.ledger.reserve({ workspaceId: c.workspaceId, cost: 6, taskId: c.taskId, depth: 'essential', actor: 'load' }),
      ),
    );
    expect(holds.map((h) => h.taskId)).toEqual(calls.map((c) => c.taskId));
    for (const ws of workspaces) {
      expect(await first.balance(ws.id)).toMatchObject({ balance: 1000 - 100 * 6, used: 600 });
      expect(await first.checkInvariant(ws.id)).toEqual({ ok: true, problems: [] });
    }
    // The statements really carried several calls, several workspaces among them.
    for (const ledger of [first, second]) {
      const { reserve } = ledger.batchingStats();
      expect(reserve.calls).toBeGreaterThan(reserve.statements);
    }
  }, 120_000);

  it('a batch that asks for more than the balance still serves every call that fits on its own', async () => {
    // One statement at a time: the calls below all wait behind the one that opens the other workspace's
    // month, so they leave together as one batch asking for 78 credits.
    const ledger = new CreditLedger(db, { batching: { maxInFlight: 1, maxBatch: 64 } });
    const ws = await freshWorkspace(ledger, 'near-empty');
    const other = await freshWorkspace(ledger, 'near-empty-other');
    await ledger.deduct({
      workspaceId: ws.id,
      amount: 970,
      actor: 'admin',
      reason: 'leave 30',
      idempotencyKey: randomUUID(),
    });
    const costs = [18, 12, 6, 6, 12, 18, 6];
    const opener = ledger.reserve({
      workspaceId: other.id,
      cost: 6,
      taskId: `opener-${other.id}`,
      depth: 'essential',
      actor: 'load',
    });
    const results = await Promise.allSettled(
      costs.map((cost, i) =>
        ledger.reserve({
          workspaceId: ws.id,
          cost,
          taskId: `near-empty-${ws.id}-${i}`,
          depth: 'standard',
          actor: 'load',
        }),
      ),
    );
    await opener;
    const taken = results.flatMap((r, i) => (r.status === 'fulfilled' ? [costs[i]!] : []));
    const refused = results.flatMap((r, i) =>
      r.status === 'rejected' ? [{ cost: costs[i]!, reason: r.reason as unknown }] : [],
    );
    const left = 30 - taken.reduce((a, b) => a + b, 0);
    expect(left).toBeGreaterThanOrEqual(0);
    expect(await ledger.balance(ws.id)).toMatchObject({ balance: left });
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) {
      expect(r.reason).toBeInstanceOf(InsufficientCreditsError);
      // Refused only because it did not fit: nothing refused would fit in what is left.
      expect(r.cost).toBeGreaterThan(left);
    }
    expect(await ledger.checkInvariant(ws.id)).toEqual({ ok: true, problems: [] });
    expect(ledger.batchingStats().reserve.calls).toBeGreaterThan(ledger.batchingStats().reserve.statements);
  }, 60_000);

  it('the same task reserved through two ledgers at once holds once, and both get that hold', async () => {
    const [first, second] = [new CreditLedger(db), new CreditLedger(db)];
    const ws = await freshWorkspace(first, 'same-task');
    for (let round = 0; round < 20; round++) {
      const taskId = `same-task-${ws.id}-${round}`;
      // Other calls ride along, so the duplicate lands inside a batch of several.
      const riders = [first, second].flatMap((ledger) =>
        Array.from({ length: 3 }, () =>
          ledger.reserve({
            workspaceId: ws.id,
            cost: 6,
            taskId: `rider-${randomUUID()}`,
            depth: 'essential',
            actor: 'load',
          }),
        ),
      );
      const [a, b] = await Promise.all(
        [first, second].map((ledger) =>
          ledger.reserve({ workspaceId: ws.id, cost: 6, taskId, depth: 'essential', actor: 'load' }),
        ),
      );
      await Promise.all(riders);
      expect(a).toEqual(b);
    }
    const reserves = await first.transactions(ws.id, { type: 'reserve', pageSize: 200 });
    expect(reserves.total).toBe(20 * 7);
    expect(await first.checkInvariant(ws.id)).toEqual({ ok: true, problems: [] });
  }, 60_000);
});

// ---- a seeded randomized run -----------------------------------------------------------------------

type ModelHold = {
  taskId: string;
  workspaceId: string;
  cost: number;
  depth: Depth;
  key?: string;
  closes: Set<'captured' | 'released'>;
};
type ModelGrant = {
  key: string;
  workspaceId: string;
  amount: number;
  reason: string;
  kind: 'grant' | 'deduct';
  tx?: LedgerTransaction;
};

const SEED = Number(process.env.LEDGER_SEED ?? 20261122);
const OPS = 5000;
const WORKSPACES = 20;
/** Ops generated from one state and run together: replays and closes of the same hold collide inside a wave. */
const WAVE = 24;

describe(`randomized run (seed ${SEED}; replay with LEDGER_SEED=${SEED})`, () => {
  it(`${OPS} mixed operations over ${WORKSPACES} workspaces keep every invariant`, async () => {
    const rand = seededRandom(SEED);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    // A fixed instant keeps the whole run in one month whenever the suite happens to run.
    const ledger = new CreditLedger(db, { defaultAllowance: 300, now: () => new Date('2026-06-15T12:00:00Z') });
    const workspaces = await Promise.all(Array.from({ length: WORKSPACES }, () => freshWorkspace(ledger, 'rand')));
    const everSuspended = new Set<string>();
    const holds: ModelHold[] = [];
    const grants: ModelGrant[] = [];
    const unexpected: string[] = [];
    const counts: Record<string, number> = {};
    let done = 0;

    const expectError = (op: string, err: unknown, ...allowed: (new (...args: never[]) => Error)[]) => {
      if (!allowed.some((cls) => err instanceof cls))
        unexpected.push(`${op}: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
    };

    const makeOp = (): { n: number; run: () => Promise<void> } => {
      const r = rand();
      const ws = pick(workspaces);
      const anyHold = holds.length ? pick(holds) : undefined;
      const count = (name: string) => (counts[name] = (counts[name] ?? 0) + 1);
      if (r < 0.35 || !anyHold) {
        count('reserve');
        const depth = pick(DEPTHS);
        const hold: ModelHold = {
          taskId: `rand-${randomUUID()}`,
          workspaceId: ws.id,
          cost: DEPTH_PROFILES[depth].credits,
          depth,
          key: rand() < 0.5 ? `rk-${randomUUID()}` : undefined,
          closes: new Set(),
        };
        return {
          n: 1,
          run: async () => {
            try {
              const h = await ledger.reserve({
                workspaceId: ws.id,
                cost: hold.cost,
                taskId: hold.taskId,
                depth,
                actor: 'user',
                idempotencyKey: hold.key,
              });
              if (h.amount !== hold.cost || h.status !== 'held')
                unexpected.push(`reserve returned ${JSON.stringify(h)}`);
              holds.push(hold);
            } catch (err) {
              if (err instanceof InsufficientCreditsError && err.balance >= hold.cost)
                unexpected.push(`insufficient with balance ${err.balance} >= ${hold.cost}`);
              if (err instanceof WorkspaceSuspendedError && !everSuspended.has(ws.id))
                unexpected.push(`suspended error for active ${ws.id}`);
              expectError('reserve', err, InsufficientCreditsError, WorkspaceSuspendedError);
            }
          },
        };
      }
      if (r < 0.43) {
        count('reserve replay');
        const h = anyHold;
        return {
          n: 1,
          run: async () => {
            const again = await ledger.reserve({
              workspaceId: h.workspaceId,
              cost: h.cost,
              taskId: h.taskId,
              depth: h.depth,
              actor: 'retry',
              idempotencyKey: h.key,
            });
            if (again.taskId !== h.taskId || again.amount !== h.cost)
              unexpected.push(`replay returned another hold ${JSON.stringify(again)}`);
          },
        };
      }
      if (r < 0.45) {
        count('reserve conflict');
        const h = anyHold;
        return {
          n: 1,
          run: async () => {
            const err = await ledger
              .reserve({ workspaceId: h.workspaceId, cost: h.cost + 1, taskId: h.taskId, actor: 'retry' })
              .then(
                () => undefined,
                (e: unknown) => e,
              );
            expectError('reserve conflict', err, IdempotencyConflictError);
          },
        };
      }
      if (r < 0.75) {
        const kind = r < 0.6 ? 'captured' : 'released';
        count(kind === 'captured' ? 'capture' : 'release');
        const h =
          rand() < 0.8
            ? (holds.filter((x) => x.closes.size === 0).at(-1 - Math.floor(rand() * 10)) ?? anyHold)
            : anyHold;
        return { n: 1, run: () => close(h, kind) };
      }
      if (r < 0.85) {
        count('capture/release race');
        const h = holds.filter((x) => x.closes.size === 0).at(-1 - Math.floor(rand() * 5)) ?? anyHold;
        return { n: 2, run: async () => void (await Promise.all([close(h, 'captured'), close(h, 'released')])) };
      }
      if (r < 0.9) {
        count('grant');
        const g: ModelGrant = {
          key: `gk-${randomUUID()}`,
          workspaceId: ws.id,
          amount: 1 + Math.floor(rand() * 40),
          reason: 'random top-up',
          kind: rand() < 0.7 ? 'grant' : 'deduct',
        };
        return {
          n: 1,
          run: async () => {
            try {
              const change = {
                workspaceId: g.workspaceId,
                amount: g.amount,
                actor: 'admin',
                reason: g.reason,
                idempotencyKey: g.key,
              };
              g.tx = g.kind === 'grant' ? await ledger.grant(change) : await ledger.deduct(change);
              grants.push(g);
            } catch (err) {
              expectError(g.kind, err, InsufficientCreditsError);
            }
          },
        };
      }
      if (r < 0.95 && grants.length) {
        const g = pick(grants);
        const conflicting = rand() < 0.3;
        count(conflicting ? 'grant conflict' : 'grant replay');
        return {
          n: 1,
          run: async () => {
            const change = {
              workspaceId: g.workspaceId,
              amount: g.amount + (conflicting ? 1 : 0),
              actor: 'admin 2',
              reason: g.reason,
              idempotencyKey: g.key,
            };
            try {
              const tx = g.kind === 'grant' ? await ledger.grant(change) : await ledger.deduct(change);
              if (conflicting || tx.id !== g.tx?.id)
                unexpected.push(`replay of ${g.key} gave transaction ${tx.id}, first was ${g.tx?.id}`);
            } catch (err) {
              if (conflicting) expectError('grant conflict', err, IdempotencyConflictError);
              else unexpected.push(`grant replay failed: ${String(err)}`);
            }
          },
        };
      }
      if (r < 0.97) {
        const suspend = rand() < 0.5;
        count(suspend ? 'suspend' : 'resume');
        if (suspend) everSuspended.add(ws.id);
        return {
          n: 1,
          run: async () => {
            const change = {
              workspaceId: ws.id,
              actor: 'admin',
              reason: 'random',
              idempotencyKey: `sk-${randomUUID()}`,
            };
            await (suspend ? ledger.suspend(change) : ledger.resume(change));
          },
        };
      }
      count('balance');
      return {
        n: 1,
        run: async () => {
          const b = await ledger.balance(ws.id);
          if (b.balance < 0 || b.used < 0) unexpected.push(`balance ${JSON.stringify(b)}`);
        },
      };
    };

    async function close(h: ModelHold, kind: 'captured' | 'released'): Promise<void> {
      try {
        const closed =
          kind === 'captured'
            ? await ledger.capture({ taskId: h.taskId, actor: 'worker' })
            : await ledger.release({ taskId: h.taskId, actor: 'worker', reason: 'failed' });
        if (closed.status !== kind) unexpected.push(`${kind} returned status ${closed.status}`);
        h.closes.add(kind);
      } catch (err) {
        expectError(kind, err, HoldClosedError);
      }
    }

    while (done < OPS) {
      const wave: (() => Promise<void>)[] = [];
      for (let n = 0; n < WAVE && done < OPS;) {
        const op = makeOp();
        wave.push(op.run);
        n += op.n;
        done += op.n;
      }
      await Promise.all(wave.map((run) => run()));
      // Resume everything now and then so reserves keep flowing.
      if (rand() < 0.1)
        await Promise.all(
          workspaces.map((w) =>
            ledger.resume({
              workspaceId: w.id,
              actor: 'admin',
              reason: 'tick',
              idempotencyKey: `tick-${randomUUID()}`,
            }),
          ),
        );
    }

    expect(unexpected).toEqual([]);
    // The mix really exercised what it claims to.
    for (const name of [
      'reserve',
      'reserve replay',
      'reserve conflict',
      'capture',
      'release',
      'capture/release race',
      'grant',
      'grant replay',
      'grant conflict',
      'suspend',
    ]) {
      expect(counts[name] ?? 0).toBeGreaterThan(10);
    }
    const refusedReserves = (counts.reserve ?? 0) - holds.length;
    expect(refusedReserves).toBeGreaterThan(0);

    // Each hold closed at most once, with the kind the callers saw succeed.
    for (const h of holds) expect(h.closes.size).toBeLessThanOrEqual(1);
    const stored = new Map(
      (
        (await db('holds')
          .whereIn(
            'workspace_id',
            workspaces.map((w) => w.id),
          )
          .select('task_id', 'status')) as { task_id: string; status: string }[]
      ).map((r) => [r.task_id, r.status]),
    );
    expect(stored.size).toBe(holds.length);
    for (const h of holds) expect(stored.get(h.taskId)).toBe([...h.closes][0] ?? 'held');
    const closes = (await db('transactions')
      .whereIn(
        'workspace_id',
        workspaces.map((w) => w.id),
      )
      .whereIn('type', ['capture', 'release'])
      .groupBy('task_id')
      .havingRaw('count(*) > 1')
      .select('task_id')) as unknown[];
    expect(closes).toEqual([]);

    // Every balance equals what the successful calls imply.
    for (const ws of workspaces) {
      const kept = holds
        .filter((h) => h.workspaceId === ws.id && !h.closes.has('released'))
        .reduce((s, h) => s + h.cost, 0);
      const granted = grants
        .filter((g) => g.workspaceId === ws.id)
        .reduce((s, g) => s + (g.kind === 'grant' ? g.amount : -g.amount), 0);
      expect(await ledger.balance(ws.id)).toMatchObject({ balance: 300 + granted - kept, used: kept });
      expect(await ledger.checkInvariant(ws.id)).toEqual({ ok: true, problems: [] });
    }
    // The whole-database check runs too; other suites share this database, so only our rows are judged.
    const everywhere = await ledger.checkInvariant();
    const ours = [...workspaces.map((w) => w.id), 'rand-'];
    expect(everywhere.problems.filter((p) => ours.some((id) => p.includes(id)))).toEqual([]);
    // A generous budget: the machine is shared, and this test is about correctness, not speed.
  }, 300_000);
});
