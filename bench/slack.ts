// npm run bench:slack — how fast the Slack app acks `/pmf <idea>` under load, against a bare Bolt app.
//
// Signed slash commands go out open-loop at RATE per second for SECONDS (a request is sent on schedule
// whether or not earlier ones were answered; latency counts from the scheduled time, so a stalled server
// cannot hide its backlog). Each app runs in its own process: first a bare Bolt app that only acks, then
// ours in HTTP mode, arranged as the bot process is (acks on the main thread, the work after them on the
// work thread), on real PostgreSQL, Redis and MongoDB (credits reserved, tasks queued, no worker). The fake
// Slack Web API both talk to runs in a process of its own.
// Last line: {"ack_p50_ms", "ack_p99_ms", "bare_ack_p99_ms", "ratio_p99", "max_ms", ..., "work_drained",
// "submissions_per_s" (tasks queued per second from the first command to the end of the drain)}.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import bolt from '@slack/bolt';
import { parseEnv } from '../core/config/index.js';
import { CreditLedger } from '../core/credits/index.js';
import { createLogger } from '../core/observability/logger.js';
import { connectMongo, createPostgres } from '../core/storage/index.js';
import { TaskStore } from '../core/tasks/store.js';
import { createSlackApp } from '../bot/slack/app.js';
import { WorkThread } from '../bot/work-thread.js';
import { DEFAULT_TOKEN, startFakeSlack } from '../test/fakes/slack/server.js';
import { signedHeaders, slashCommandBody } from '../test/fakes/slack/signer.js';
import { applyLocalServiceDefaults } from '../test/local-services.js';

const RATE = Number(process.env.BENCH_RATE ?? 200);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const SECRET = 'bench-signing-secret';
const WARMUP = 50;
// A fresh workspace per run, so what the run reserved and queued can be counted exactly.
const TEAM = process.env.BENCH_TEAM ?? `TB${randomUUID().slice(0, 8).toUpperCase()}`;

type Role = 'bare' | 'ours' | 'fake';

/** Child process: start one app, print its URL, serve until stdin closes, then print what it stored. */
async function serve(role: Role, apiUrl: string): Promise<void> {
  if (role === 'fake') {
    const fake = await startFakeSlack();
    report({ url: fake.url, apiUrl: fake.apiUrl });
    await stdinClosed();
    const posted = fake.callsOf('chat.postMessage').length;
    await fake.close();
    report({ done: true, posted });
    return;
  }
  const logger = createLogger('bench-slack', process.env.BENCH_LOG_LEVEL ?? 'silent');
  if (role === 'bare') {
    const app = new bolt.App({
      signingSecret: SECRET,
      token: DEFAULT_TOKEN,
      clientOptions: { slackApiUrl: apiUrl },
      logLevel: bolt.LogLevel.ERROR,
    });
    app.command('/pmf', async ({ ack }) => ack());
    const server = (await app.start(0)) as Server;
    report({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events` });
    await stdinClosed();
    await app.stop();
    report({ done: true });
    return;
  }
  applyLocalServiceDefaults();
  // A database of its own per run, so what the run queued can be counted exactly.
  const mongoUrl = new URL(process.env.MONGO_URL!);
  mongoUrl.pathname = `/bench_slack_${randomUUID().slice(0, 8)}`;
  const slackEnv = {
    SLACK_BOT_TOKEN: DEFAULT_TOKEN,
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_API_URL: apiUrl,
    SLACK_MODE: 'http',
    SLACK_PORT: '0',
  };
  const env = parseEnv({
    ...process.env,
    ...slackEnv,
    MONGO_URL: mongoUrl.href,
    // BENCH_ALLOWANCE=600 runs a workspace out of credits after 100 researches (the refusal path, decision 013).
    DEFAULT_MONTHLY_ALLOWANCE: process.env.BENCH_ALLOWANCE ?? '10000000',
    RATE_LIMIT_USER_PER_HOUR: '100000',
    RATE_LIMIT_WORKSPACE_PER_HOUR: '1000000',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'silent',
  });
  const prefix = `bench:slack:${randomUUID().slice(0, 8)}:`;
  // The bot process's arrangement: acks here, the work after them on the work thread (decision 054).
  const thread = await WorkThread.start(
    {
      env,
      slackKeyPrefix: prefix,
      ...(process.env.BENCH_WORK ? { slackAtOnce: Number(process.env.BENCH_WORK) } : {}),
      ...(process.env.BENCH_NICE ? { niceness: Number(process.env.BENCH_NICE) } : {}),
      jobsTuning: { collection: 'agendaJobs', channel: `${prefix}agenda`, progressPrefix: `${prefix}progress:` },
    },
    logger,
  );
  const app = createSlackApp({
    env,
    logger,
    dispatch: (work) => thread.dispatch({ platform: 'slack', work }),
  });
  const server = (await app.start(0)) as Server;
  report({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events` });
  await stdinClosed();
  // The work behind the acks (reserve, post, queue) goes on after the last ack: it is drained as on a
  // shutdown (what is still waiting after 60 s is told to retry) before anything is counted.
  await app.stop();
  const drainStart = performance.now();
  const drained = await thread.finish(60_000, 30_000);
  // Until the backlog is finished, or (not finished in 60 s) shed.
  const drainSeconds = Math.round((performance.now() - drainStart) / 100) / 10;
  const pg = createPostgres(env.DATABASE_URL);
  const mongo = await connectMongo(env.MONGO_URL);
  const ledger = new CreditLedger(pg);
  const ws = await ledger.findWorkspace('slack', TEAM);
  const tasks = ws ? await new TaskStore(mongo).countQueued(ws.id) : 0;
  const reserved = ws ? (await ledger.balance(ws.id)).used : 0;
  await Promise.allSettled([pg.destroy(), mongo.client.close()]);
  report({ done: true, tasks, reserved, drained, drainSeconds });
}

/** The child's answers to the parent, marked so that log lines on the same stdout are never mistaken for them. */
const MARK = 'BENCH-SLACK ';
function report(value: Record<string, unknown>): void {
  process.stdout.write(`${MARK}${JSON.stringify(value)}\n`);
}

function stdinClosed(): Promise<void> {
  return new Promise((resolve) => {
    process.stdin.on('end', () => resolve());
    process.stdin.on('close', () => resolve());
    process.stdin.resume();
  });
}

type Child = { url: string; finish(): Promise<Record<string, number | boolean>> };

async function startChild(role: Role, apiUrl = ''): Promise<Child & { info: Record<string, string> }> {
  // BENCH_CPU_PROF=<dir> writes a V8 CPU profile of each app process there (as bench:discord does).
  const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const child: ChildProcess = spawn(
    process.execPath,
    [...prof, '--import', 'tsx', fileURLToPath(import.meta.url), '--serve', role, apiUrl],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: { ...process.env, BENCH_TEAM: TEAM },
    },
  );
  const lines = createInterface({ input: child.stdout! });
  const queue: string[] = [];
  let waiting: ((line: string) => void) | undefined;
  lines.on('line', (line) => {
    if (!line.startsWith(MARK)) {
      if (process.env.BENCH_LOG_LEVEL) process.stderr.write(`${line}\n`);
      return;
    }
    const json = line.slice(MARK.length);
    if (waiting) {
      const w = waiting;
      waiting = undefined;
      w(json);
    } else queue.push(json);
  });
  const next = () => new Promise<string>((resolve) => (queue.length ? resolve(queue.shift()!) : (waiting = resolve)));
  const info = JSON.parse(await next()) as Record<string, string>;
  return {
    info,
    url: info.url!,
    async finish() {
      child.stdin!.end();
      const last = JSON.parse(await next()) as Record<string, number | boolean>;
      await new Promise((r) => child.once('exit', r));
      return last;
    },
  };
}

async function load(url: string, label: string, responseUrl: string): Promise<{ latencies: number[]; errors: number }> {
  const send = async (i: number, scheduled: number, latencies: number[] | undefined, errors: { n: number }) => {
    const body = slashCommandBody({
      text: `essential ${label} idea number ${i} for teams that plan trips together`,
      teamId: TEAM,
      userId: `UB${i % 500}`,
      responseUrl,
      triggerId: `${label}.${i}.${randomUUID()}`,
    });
    try {
      const res = await fetch(url, { method: 'POST', headers: signedHeaders(SECRET, body), body });
      await res.arrayBuffer();
      if (res.status !== 200) errors.n++;
    } catch {
      errors.n++;
    }
    latencies?.push(performance.now() - scheduled);
  };
  const warm = { n: 0 };
  await Promise.all(Array.from({ length: WARMUP }, (_, i) => send(-1 - i, performance.now(), undefined, warm)));

  const latencies: number[] = [];
  const errors = { n: 0 };
  const total = RATE * SECONDS;
  const interval = 1000 / RATE;
  const start = performance.now() + 20;
  const inflight: Promise<void>[] = [];
  let i = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (i < total && start + i * interval <= now) {
        inflight.push(send(i, start + i * interval, latencies, errors));
        i++;
      }
      if (i >= total) return resolve();
      setTimeout(tick, Math.max(0, start + i * interval - performance.now()));
    };
    setTimeout(tick, 20);
  });
  await Promise.all(inflight);
  return { latencies, errors: errors.n };
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
const round = (n: number) => Math.round(n * 100) / 100;

async function main(): Promise<void> {
  // Slack itself (the fake) gets a process of its own, so neither the apps nor the load generator pay for it.
  const fake = await startChild('fake');
  const apiUrl = fake.info.apiUrl!;
  const responseUrl = (id: string) => `${fake.url}/response/${id}`;
  const bare = await startChild('bare', apiUrl);
  const bareRun = await load(bare.url, 'bare', responseUrl('bare'));
  await bare.finish();

  const ours = await startChild('ours', apiUrl);
  const loadStart = performance.now();
  const ourRun = await load(ours.url, 'ours', responseUrl('ours'));
  const stored = await ours.finish();
  // Tasks queued per second, from the first command to the end of the drain (decision 065's figure for Slack).
  const workSeconds = (performance.now() - loadStart) / 1000;
  await fake.finish();

  const o = [...ourRun.latencies].sort((a, b) => a - b);
  const b = [...bareRun.latencies].sort((a, b) => a - b);
  const summary = {
    ack_p50_ms: round(pct(o, 50)),
    ack_p99_ms: round(pct(o, 99)),
    bare_ack_p50_ms: round(pct(b, 50)),
    bare_ack_p99_ms: round(pct(b, 99)),
    ratio_p99: round(pct(o, 99) / Math.max(pct(b, 99), 0.001)),
    max_ms: round(o.at(-1) ?? 0),
    bare_max_ms: round(b.at(-1) ?? 0),
    over_3s: o.filter((ms) => ms > 3000).length,
    requests: o.length,
    errors: ourRun.errors,
    bare_errors: bareRun.errors,
    tasks_queued: Number(stored.tasks ?? 0),
    credits_reserved: Number(stored.reserved ?? 0),
    work_drained: stored.drained === true,
    drain_s: Number(stored.drainSeconds ?? 0),
    submissions_per_s: round(Number(stored.tasks ?? 0) / workSeconds),
  };
  console.error(
    `ours: p50 ${summary.ack_p50_ms} ms, p99 ${summary.ack_p99_ms} ms, max ${summary.max_ms} ms; bare: p50 ${summary.bare_ack_p50_ms} ms, p99 ${summary.bare_ack_p99_ms} ms; ${summary.tasks_queued} tasks queued`,
  );
  console.log(JSON.stringify(summary));
}

const serveAt = process.argv.indexOf('--serve');
if (serveAt >= 0) {
  await serve(process.argv[serveAt + 1] as Role, process.argv[serveAt + 2]!);
  process.exit(0);
} else {
  await main();
  process.exit(0);
}
