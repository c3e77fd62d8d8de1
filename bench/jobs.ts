// npm run bench:jobs — job pickup latency (enqueue → handler start) with the Redis notification channel
// against Agenda polling with its default settings, measured in the same run; then one worker process
// running 100 concurrent sandbox researches (the real engine on the sandbox providers): its event-loop
// lag p99 and peak RSS, how long the 100 take from the first submit to the last success (`complete_100_s`)
// and how many ran at once at most (`peak_running`, from each task's started and finished times). Runs on a
// private FerretDB (PostgreSQL handler, as `npm run services` runs it) so the shared one's load does not skew
// (or suffer from) the numbers; PostgreSQL (ledger) and Redis are the shared ones, isolated by fresh
// workspaces and prefixes. BENCH_BASELINE=sqlite runs the 100 first on FerretDB's SQLite handler too (the
// store before decision 045); BENCH_ONLY_LOAD=1 skips the pickup phases; BENCH_WORKER_NODE_ARGS profiles.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { applyLocalServiceDefaults } from '../test/local-services.js';
import { startSandbox } from '../core/sandbox/index.js';
import { connectMongo } from '../core/storage/index.js';
import { startPrivateFerretDb, startSqliteFerretDb } from '../test/helpers/private-servers.js';
import { FakeEngine } from '../test/helpers/jobs-fixtures.js';
import { openHarness, waitFor, type Harness } from '../test/helpers/jobs-harness.js';
import type { Jobs } from '../core/jobs/types.js';

applyLocalServiceDefaults();

const PICKUP_JOBS = Number(process.env.BENCH_PICKUP_JOBS ?? 40);
const POLLING_JOBS = Number(process.env.BENCH_POLLING_JOBS ?? 12);
const CONCURRENT = Number(process.env.BENCH_CONCURRENT ?? 100);
/** How long the 100 researches may take before the bench gives up on them. */
const LOAD_TIMEOUT_MS = Number(process.env.BENCH_LOAD_TIMEOUT_MS ?? 300_000);
const WORKER = fileURLToPath(new URL('../test/helpers/jobs-worker-process.ts', import.meta.url));

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

const round = (n: number) => Math.round(n * 10) / 10;

function request(h: Harness, idea: string) {
  return {
    requestKey: randomUUID(),
    workspaceId: h.workspaceId,
    requester: { id: 'bench' },
    origin: { platform: 'console' as const, userId: 'bench' },
    idea,
    depth: 'essential' as const,
  };
}

/**
 * Submits `n` jobs one at a time to an idle worker — each after the previous one started, plus a random
 * gap so polling phases are not aligned — and returns queued → handler start per job.
 */
async function pickupLatencies(h: Harness, submitter: Jobs, n: number, gapMs: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const id = (await submitter.submitResearch(request(h, `Pickup probe ${i}: a tool that schedules dog walkers`))).task
      .id;
    const task = await waitFor(
      `task ${id} started`,
      async () => {
        const t = await h.jobs.tasks.get(id);
        return t?.checkpoints.some((c) => c.id === 'started') ? t : undefined;
      },
      120_000,
      20,
    );
    const at = (cp: string) => task.checkpoints.find((c) => c.id === cp)!.at.getTime();
    out.push(at('started') - at('queued'));
    await waitFor(`task ${id} settled`, async () => (await h.jobs.tasks.getDoc(id))?.deliveredAt, 120_000, 20);
    await new Promise((r) => setTimeout(r, Math.random() * gapMs));
  }
  return out;
}

/** Submitting is idempotent on the request key, so a caller may simply try the same request again. */
async function submitWithRetry(h: Harness, req: ReturnType<typeof request>) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await h.jobs.submitResearch(req);
    } catch (err) {
      if (attempt >= 5) throw err;
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  }
}

async function measurePickup(mongoUrl: string, notify: boolean, n: number, gapMs: number): Promise<number[]> {
  const mongo = await connectMongo(mongoUrl, `bench_jobs_${notify ? 'notify' : 'poll'}_${randomUUID().slice(0, 6)}`);
  // With the channel: our production polling interval as the safety net. Without: Agenda's defaults.
  const h = await openHarness('bench', {
    mongo,
    engine: new FakeEngine({ stepMs: 1 }),
    env: { WORKER_CONCURRENCY: 5, JOB_LOCK_LIFETIME_MS: 30_000 },
    tuning: notify ? { notify: true, processEveryMs: 5000 } : { notify: false, processEveryMs: 5000 },
  });
  await h.jobs.startWorker();
  const submitter = h.another();
  try {
    return await pickupLatencies(h, submitter, n, gapMs);
  } finally {
    await h.close();
    await mongo.client.close();
  }
}

/** The most intervals open at one instant (an interval ending as another starts does not overlap it). */
export function peakOverlap(intervals: { start: number; end: number }[]): number {
  const edges = intervals.flatMap((i) => [
    { at: i.start, delta: 1 },
    { at: i.end, delta: -1 },
  ]);
  edges.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let open = 0;
  let peak = 0;
  for (const e of edges) peak = Math.max(peak, (open += e.delta));
  return peak;
}

type LoadFigures = {
  lagP99Ms: number;
  peakRssMb: number;
  seconds: number;
  peakRunning: number;
  succeeded: number;
  cpuSeconds: number | null;
};

/**
 * CPU seconds (user + system) a process has used so far, from /proc (Linux); null elsewhere. The worker's CPU
 * over the load is the figure the machine's other load skews least: lag and wall time swing with it.
 */
function cpuSecondsOf(pid: number | undefined): number | null {
  try {
    // Fields after the command name (which may hold spaces, so cut after its closing parenthesis):
    // utime and stime are the 12th and 13th, in clock ticks (100 a second on Linux).
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

async function measureConcurrent(mongoUrl: string): Promise<LoadFigures> {
  const sandbox = await startSandbox({ latencyMs: { search: 300, extract: 400, llm: 500 } });
  const dbName = `bench_jobs_load_${randomUUID().slice(0, 6)}`;
  const mongo = await connectMongo(mongoUrl, dbName);
  const h = await openHarness('bench_load', { mongo, allowance: CONCURRENT * 6 + 100 });
  const cachePrefix = `bench:jobs:${randomUUID().slice(0, 8)}:`;
  // BENCH_WORKER_NODE_ARGS, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`, profiles the worker.
  const nodeArgs = (process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', WORKER], {
    env: {
      ...process.env,
      MONGO_URL: mongoUrl,
      WORKER_DB: dbName,
      WORKER_TUNING: JSON.stringify({
        ...h.tuning,
        processEveryMs: 1000,
        progressIntervalMs: 1000,
        cancelPollMs: 5000,
      }),
      WORKER_ENV: JSON.stringify({
        WORKER_CONCURRENCY: CONCURRENT,
        JOB_LOCK_LIFETIME_MS: 30_000,
        JOB_MAX_ATTEMPTS: 3,
        WORKER_DRAIN_TIMEOUT_MS: 10_000,
      }),
      WORKER_ENGINE: 'sandbox',
      WORKER_METRICS: '1',
      SANDBOX_TAVILY_URL: sandbox.tavilyUrl,
      SANDBOX_OPENAI_URL: sandbox.openaiUrl,
      WORKER_CACHE_PREFIX: cachePrefix,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout!.on('data', (b: Buffer) => (output += b.toString()));
  try {
    await waitFor('worker ready', async () => output.includes('ready'), 60_000, 100);
    const cpuAtReady = cpuSecondsOf(child.pid);
    const t0 = Date.now();
    // Submitted ten at a time (as a burst of slash commands would arrive), all running at once in the worker.
    const ids: string[] = [];
    for (let i = 0; i < CONCURRENT; i += 10) {
      const batch = Array.from({ length: Math.min(10, CONCURRENT - i) }, (_, k) =>
        submitWithRetry(
          h,
          request(
            h,
            `Load research ${i + k}: a marketplace for renting camping gear between neighbours in ${i + k} towns`,
          ),
        ),
      );
      ids.push(...(await Promise.all(batch)).map((r) => r.task.id));
    }
    // Until every research has succeeded (or the timeout): first submit to last success, and how many ran
    // at once, from each task's own started and finished times.
    const finished = () => h.jobs.tasks.collection.countDocuments({ _id: { $in: ids }, status: 'succeeded' });
    const deadline = Date.now() + LOAD_TIMEOUT_MS;
    let succeeded = 0;
    while ((succeeded = await finished()) < ids.length && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 250));
    const intervals: { start: number; end: number }[] = [];
    const pickups: number[] = [];
    let lastSuccess = t0;
    for (const id of ids) {
      const task = await h.jobs.tasks.get(id);
      const at = (cp: string) => task?.checkpoints.find((c) => c.id === cp)?.at.getTime();
      const started = at('started');
      const end = task?.finishedAt?.getTime();
      if (started === undefined || end === undefined) continue;
      intervals.push({ start: started, end });
      pickups.push(started - (at('queued') ?? started));
      if (task?.status === 'succeeded') lastSuccess = Math.max(lastSuccess, end);
    }
    const cpuAtEnd = cpuSecondsOf(child.pid);
    const cpuSeconds = cpuAtReady === null || cpuAtEnd === null ? null : cpuAtEnd - cpuAtReady;
    const durations = intervals.map((i) => i.end - i.start);
    process.stderr.write(
      `queued → started p50 ${percentile(pickups, 50)} ms, max ${percentile(pickups, 100)} ms; started → finished p50 ${percentile(durations, 50)} ms, max ${percentile(durations, 100)} ms\n`,
    );
    const seconds = (lastSuccess - t0) / 1000;
    const peakRunning = peakOverlap(intervals);
    process.stderr.write(
      `${CONCURRENT} submitted; ${succeeded} succeeded, the last ${round(seconds)} s after the first submit; at most ${peakRunning} ran at once\n`,
    );
    child.kill('SIGTERM');
    await waitFor('worker metrics', async () => output.includes('metrics '), 30_000, 100);
    const metrics = JSON.parse(output.split('metrics ')[1]!.split('\n')[0]!) as { lagP99Ms: number; peakRssMb: number };
    // Let it exit on its own (a profile is written at exit); SIGKILL below only if it hangs.
    await waitFor('worker exit', async () => child.exitCode !== null, 15_000, 100).catch(() => undefined);
    return { ...metrics, seconds, peakRunning, succeeded, cpuSeconds };
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await h.close();
    await mongo.client.close();
    await sandbox.close();
  }
}

/** BENCH_BASELINE=sqlite: the same 100 researches first on FerretDB's SQLite handler (the store before
 *  decision 045), in the same run, for a comparison the machine's other load cannot skew as much. */
async function sqliteBaseline(): Promise<LoadFigures | undefined> {
  if (process.env.BENCH_BASELINE !== 'sqlite') return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'pmf-bench-sqlite-'));
  const sqlite = await startSqliteFerretDb(dir);
  try {
    const load = await measureConcurrent(sqlite.url);
    process.stderr.write(`baseline on the SQLite handler: ${JSON.stringify(load)}\n`);
    return load;
  } finally {
    await sqlite.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The worker's CPU over the load, in all and per research (ms), the figure of merit on a shared machine. */
function cpuFigures(load: LoadFigures) {
  return load.cpuSeconds === null
    ? {}
    : {
        worker_cpu_s_100_jobs: round(load.cpuSeconds),
        worker_cpu_ms_per_research: Math.round((load.cpuSeconds * 1000) / CONCURRENT),
      };
}

const baseline = await sqliteBaseline();
const baselineFigures = baseline
  ? {
      baseline_sqlite_complete_100_s: baseline.succeeded === CONCURRENT ? round(baseline.seconds) : null,
      baseline_sqlite_peak_running: baseline.peakRunning,
      baseline_sqlite_lag_p99_ms: round(baseline.lagP99Ms),
    }
  : {};
const ferret = await startPrivateFerretDb();
try {
  if (process.env.BENCH_ONLY_LOAD) {
    const load = await measureConcurrent(ferret.url);
    process.stdout.write(
      `${JSON.stringify({ lag_p99_ms_100_jobs: round(load.lagP99Ms), rss_mb_100_jobs: round(load.peakRssMb), complete_100_s: round(load.seconds), succeeded_100: load.succeeded, peak_running: load.peakRunning, ...cpuFigures(load), ...baselineFigures })}\n`,
    );
    await ferret.close();
    process.exit(0);
  }
  const notified = await measurePickup(ferret.url, true, PICKUP_JOBS, 100);
  process.stderr.write(
    `pickup with Redis channel (${PICKUP_JOBS} jobs): p50 ${round(percentile(notified, 50))} ms, p95 ${round(percentile(notified, 95))} ms\n`,
  );
  const polled = await measurePickup(ferret.url, false, POLLING_JOBS, 1000);
  process.stderr.write(
    `pickup with Agenda polling, default processEvery 5 s (${POLLING_JOBS} jobs): p50 ${round(percentile(polled, 50))} ms, p95 ${round(percentile(polled, 95))} ms\n`,
  );
  const load = await measureConcurrent(ferret.url);
  process.stderr.write(
    `${CONCURRENT} concurrent sandbox researches in one worker: ${round(load.seconds)} s, event-loop lag p99 ${round(load.lagP99Ms)} ms, peak RSS ${round(load.peakRssMb)} MB\n`,
  );
  process.stdout.write(
    JSON.stringify({
      pickup_p50_ms: round(percentile(notified, 50)),
      pickup_p95_ms: round(percentile(notified, 95)),
      polling_pickup_p50_ms: round(percentile(polled, 50)),
      polling_pickup_p95_ms: round(percentile(polled, 95)),
      lag_p99_ms_100_jobs: round(load.lagP99Ms),
      rss_mb_100_jobs: round(load.peakRssMb),
      complete_100_s: load.succeeded === CONCURRENT ? round(load.seconds) : null,
      succeeded_100: load.succeeded,
      peak_running: load.peakRunning,
      ...cpuFigures(load),
      ...baselineFigures,
    }) + '\n',
  );
} finally {
  await ferret.close();
}
process.exit(0);
