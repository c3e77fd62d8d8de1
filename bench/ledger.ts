// Ledger throughput: reserve+capture pairs per second on one contended workspace and spread over 100
// workspaces, and the p99 latency of a reserve. Runs against its own database (pmf_bench, created and
// migrated here) on the server DATABASE_URL points at, or the local one from `npm run services -- up`.
// Baselines measured in the same run: the same pairs through a ledger that sends one call per statement (the
// ledger before decision 012), and bare `SELECT 1` round trips per second at the same concurrency.
//
// 32 callers by default: a batching ledger gains from calls that overlap, and 8 callers (the earlier default)
// leave this 2-core box a quarter idle, bound by round trips rather than by work (decision 012 has both).
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { CreditLedger } from '../core/credits/index.js';
import { runWithConcurrency } from '../test/helpers/ledger.js';
import { createPostgres, migrateLatest, type Db } from '../core/storage/index.js';
import { LOCAL_URLS } from '../test/local-services.js';

// `npm run bench:ledger -- --concurrency 8 --in-flight 1 --seconds 10` to explore; the defaults are what gets reported.
function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at >= 0 ? Number(process.argv[at + 1]) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
  return value;
}
const CONCURRENCY = flag('concurrency', 32);
const IN_FLIGHT = flag('in-flight', 2);
const MAX_BATCH = flag('max-batch', 64);
const PHASE_MS = flag('seconds', 5) * 1000;
const BENCH_DB = 'pmf_bench';

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

async function ensureBenchDatabase(serverUrl: string): Promise<void> {
  const admin = createPostgres(withDatabase(serverUrl, 'postgres'), { max: 1 });
  try {
    const found = (await admin.raw('SELECT 1 FROM pg_database WHERE datname = ?', [BENCH_DB])) as { rows: unknown[] };
    if (found.rows.length === 0) await admin.raw(`CREATE DATABASE ${BENCH_DB}`);
  } finally {
    await admin.destroy();
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Runs `pair` from CONCURRENCY loops until PHASE_MS passes; returns pairs/s and each reserve's latency. */
async function phase(
  pair: (worker: number, reserveMs: number[]) => Promise<void>,
): Promise<{ perSecond: number; reserveMs: number[] }> {
  const reserveMs: number[] = [];
  let pairs = 0;
  const start = performance.now();
  const deadline = start + PHASE_MS;
  await runWithConcurrency(
    CONCURRENCY,
    Array.from({ length: CONCURRENCY }, (_, worker) => async () => {
      while (performance.now() < deadline) {
        await pair(worker, reserveMs);
        pairs++;
      }
    }),
  );
  return { perSecond: pairs / ((performance.now() - start) / 1000), reserveMs };
}

async function reserveAndCapture(ledger: CreditLedger, workspaceId: string, reserveMs: number[]): Promise<void> {
  const taskId = `bench-${randomUUID()}`;
  const t0 = performance.now();
  await ledger.reserve({ workspaceId, cost: 12, taskId, depth: 'standard', actor: 'bench' });
  reserveMs.push(performance.now() - t0);
  await ledger.capture({ taskId, actor: 'bench' });
}

async function topUp(ledger: CreditLedger, workspaceId: string, amount: number): Promise<void> {
  await ledger.grant({
    workspaceId,
    amount,
    actor: 'bench',
    reason: 'benchmark credits',
    idempotencyKey: `bench-${randomUUID()}`,
  });
}

/** Contended then spread reserve+capture pairs through one ledger; returns both phases and the workspaces used. */
async function measure(ledger: CreditLedger, label: string) {
  const hot = await ledger.ensureWorkspace({
    platform: 'console',
    externalId: `bench-hot-${randomUUID()}`,
    name: 'bench contended',
  });
  await topUp(ledger, hot.id, 100_000_000);
  await phase(async (_w, ms) => reserveAndCapture(ledger, hot.id, ms)); // warm-up
  const contended = await phase(async (_w, ms) => reserveAndCapture(ledger, hot.id, ms));
  process.stdout.write(
    `${label}: contended ${contended.perSecond.toFixed(0)} reserve+capture pairs/s on one workspace\n`,
  );

  const spreadWs = await Promise.all(
    Array.from({ length: 100 }, async (_, i) => {
      const ws = await ledger.ensureWorkspace({
        platform: 'console',
        externalId: `bench-spread-${randomUUID()}`,
        name: `bench spread ${i}`,
      });
      await topUp(ledger, ws.id, 10_000_000);
      return ws;
    }),
  );
  let next = 0;
  const before = ledger.batchingStats();
  const spread = await phase(async (_w, ms) => reserveAndCapture(ledger, spreadWs[next++ % spreadWs.length]!.id, ms));
  const after = ledger.batchingStats();
  const perStatement = (kind: 'reserve' | 'capture') =>
    ((after[kind].calls - before[kind].calls) / (after[kind].statements - before[kind].statements || 1)).toFixed(2);
  process.stdout.write(
    `${label}: spread ${spread.perSecond.toFixed(0)} reserve+capture pairs/s over 100 workspaces ` +
      `(calls per statement: reserve ${perStatement('reserve')}, capture ${perStatement('capture')})\n`,
  );
  return { contended, spread, workspaces: [hot, ...spreadWs] };
}

async function main(): Promise<void> {
  const serverUrl = process.env.DATABASE_URL ?? LOCAL_URLS.DATABASE_URL;
  await ensureBenchDatabase(serverUrl);
  const db: Db = createPostgres(withDatabase(serverUrl, BENCH_DB), { max: CONCURRENCY });
  try {
    await migrateLatest(db);
    const ledger = new CreditLedger(db, { batching: { maxInFlight: IN_FLIGHT, maxBatch: MAX_BATCH } });
    const load = loadavg()[0] ?? 0;
    process.stdout.write(
      `load average before: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')} (2-core box shared with other work)\n`,
    );

    const baseline = await phase(async () => {
      await db.raw('SELECT 1');
    });
    process.stdout.write(
      `baseline: ${baseline.perSecond.toFixed(0)} SELECT 1 round trips/s at concurrency ${CONCURRENCY}\n`,
    );

    // The same calls with one call per statement (no batching): the baseline batching is measured against.
    const unbatched = new CreditLedger(db, { batching: { maxInFlight: CONCURRENCY, maxBatch: 1 } });
    const single = await measure(unbatched, 'one call per statement');
    const { contended, spread, workspaces } = await measure(ledger, 'batched');

    const all = [...contended.reserveMs, ...spread.reserveMs].sort((a, b) => a - b);
    const p50 = percentile(all, 50);
    const p99 = percentile(all, 99);
    process.stdout.write(
      `reserve latency over ${all.length} reserves: p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, max ${(all.at(-1) ?? 0).toFixed(2)} ms\n`,
    );

    const checkStart = performance.now();
    // Four at a time: the check scans every row of 202 workspaces, and more in parallel only loads the box
    // that the next run's figures are measured on.
    const invariant = await runWithConcurrency(
      4,
      [...single.workspaces, ...workspaces].map((ws) => () => ledger.checkInvariant(ws.id)),
    );
    const broken = invariant.flatMap((r) => r.problems);
    if (broken.length) throw new Error(`ledger invariant broken after the benchmark:\n${broken.join('\n')}`);
    process.stdout.write(
      `invariant ok on all ${invariant.length} benchmark workspaces (checked in ${((performance.now() - checkStart) / 1000).toFixed(1)} s); load average after: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}\n`,
    );

    const round = (n: number, d = 0) => Number(n.toFixed(d));
    process.stdout.write(
      `${JSON.stringify({
        contended_pairs_per_s: round(contended.perSecond),
        spread_pairs_per_s: round(spread.perSecond),
        reserve_p99_ms: round(p99, 2),
        reserve_p50_ms: round(p50, 2),
        unbatched_contended_pairs_per_s: round(single.contended.perSecond),
        unbatched_spread_pairs_per_s: round(single.spread.perSecond),
        baseline_select1_per_s: round(baseline.perSecond),
        callers: CONCURRENCY,
        load_avg_1m: round(load, 2),
      })}\n`,
    );
  } finally {
    await db.destroy();
  }
}

await main();
