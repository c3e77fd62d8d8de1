// npm run bench:discord — how fast the Discord bot defers `/pmf research` under load, against a bare
// discord.js client that only defers.
//
// INTERACTION_CREATE dispatches go out through the fake Discord's gateway open-loop at RATE per second for
// SECONDS (sent on schedule whether or not earlier ones were answered); latency is from the dispatch to the
// fake receiving the deferral callback. Each bot runs in its own process, connected to the fake over its
// gateway WebSocket: first the bare client, then ours, arranged as the bot process is (deferrals on the main
// thread, the work after them on the work thread) on real PostgreSQL, Redis and MongoDB (workspace ensured,
// rate limits checked, credits reserved, task queued, reply edited, thread opened, status posted; no
// worker). The fake Discord runs here, in the load generator's process.
// Last line: {"defer_p50_ms", "defer_p99_ms", "bare_defer_p99_ms", "ratio_p99", "max_ms", ...}.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Client, Events, GatewayIntentBits } from 'discord.js';
import { createDiscordBot, startDiscordBot } from '../bot/discord/app.js';
import { WorkThread } from '../bot/work-thread.js';
import { parseEnv } from '../core/config/index.js';
import { CreditLedger } from '../core/credits/index.js';
import { createLogger } from '../core/observability/logger.js';
import { connectMongo, createPostgres } from '../core/storage/index.js';
import { TaskStore } from '../core/tasks/store.js';
import { startFakeDiscord, type FakeChannel, type FakeDiscord, type FakeUser } from '../test/fakes/discord/index.js';
import { applyLocalServiceDefaults } from '../test/local-services.js';

const RATE = Number(process.env.BENCH_RATE ?? 100);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP = 50;
const CHANNELS = 20;
const USERS = 500;

type Role = 'bare' | 'ours';

/** Child process: connect one bot to the fake, say so, serve until stdin closes, then print what it stored. */
async function serve(role: Role, apiUrl: string, token: string, guildId: string): Promise<void> {
  const logger = createLogger('bench-discord', 'silent');
  if (role === 'bare') {
    const client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: apiUrl } });
    client.on(Events.InteractionCreate, (i) => {
      if (i.isChatInputCommand()) i.deferReply().catch(() => undefined);
    });
    await startDiscordBot(client, token);
    console.log(JSON.stringify({ ready: true }));
    await stdinClosed();
    await client.destroy();
    console.log(JSON.stringify({ done: true }));
    return;
  }
  applyLocalServiceDefaults();
  // A database of its own per run, so what the run queued can be counted exactly.
  const mongoUrl = new URL(process.env.MONGO_URL!);
  mongoUrl.pathname = `/bench_discord_${randomUUID().slice(0, 8)}`;
  const env = parseEnv({
    ...process.env,
    DISCORD_API_URL: apiUrl,
    DISCORD_TOKEN: token,
    MONGO_URL: mongoUrl.href,
    DEFAULT_MONTHLY_ALLOWANCE: '10000000',
    RATE_LIMIT_USER_PER_HOUR: '100000',
    RATE_LIMIT_WORKSPACE_PER_HOUR: '1000000',
    LOG_LEVEL: 'silent',
  });
  const prefix = `bench:discord:${randomUUID().slice(0, 8)}:`;
  // The bot process's arrangement: deferrals here, the work after them on the work thread (decision 054).
  const thread = await WorkThread.start(
    {
      env,
      discordKeyPrefix: prefix,
      ...(process.env.BENCH_SUBMISSIONS ? { discordAtOnce: Number(process.env.BENCH_SUBMISSIONS) } : {}),
      jobsTuning: { collection: 'agendaJobs', channel: `${prefix}agenda`, progressPrefix: `${prefix}progress:` },
    },
    logger,
  );
  const client = createDiscordBot({
    env,
    logger,
    dispatch: (work) => thread.dispatch({ platform: 'discord', work }),
  });
  await startDiscordBot(client, token);
  console.log(JSON.stringify({ ready: true }));
  await stdinClosed();
  // The parent waited for the work to finish; what is still waiting now is told to retry, as on a shutdown.
  const drained = await thread.finish(5_000, 20_000);
  await client.destroy();
  const pg = createPostgres(env.DATABASE_URL);
  const mongo = await connectMongo(env.MONGO_URL);
  const ledger = new CreditLedger(pg);
  const ws = await ledger.findWorkspace('discord', guildId);
  const tasks = ws ? await new TaskStore(mongo).countQueued(ws.id) : 0;
  const reserved = ws ? (await ledger.balance(ws.id)).used : 0;
  await Promise.allSettled([pg.destroy(), mongo.client.close()]);
  console.log(JSON.stringify({ done: true, tasks, reserved, drained }));
}

function stdinClosed(): Promise<void> {
  return new Promise((resolve) => {
    process.stdin.on('end', () => resolve());
    process.stdin.on('close', () => resolve());
    process.stdin.resume();
  });
}

type Child = { finish(): Promise<Record<string, number | boolean>> };

async function startChild(role: Role, fake: FakeDiscord, guildId: string): Promise<Child> {
  // BENCH_CPU_PROF=<dir> writes a V8 CPU profile of each bot process there (for finding what delays a deferral).
  const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const child: ChildProcess = spawn(
    process.execPath,
    [...prof, '--import', 'tsx', fileURLToPath(import.meta.url), '--serve', role, fake.apiUrl, fake.token, guildId],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: process.env,
    },
  );
  const lines = createInterface({ input: child.stdout! });
  const queue: string[] = [];
  let waiting: ((line: string) => void) | undefined;
  lines.on('line', (line) => {
    if (!line.startsWith('{')) return;
    if (waiting) {
      const w = waiting;
      waiting = undefined;
      w(line);
    } else queue.push(line);
  });
  const next = () => new Promise<string>((resolve) => (queue.length ? resolve(queue.shift()!) : (waiting = resolve)));
  await next();
  return {
    async finish() {
      child.stdin!.end();
      const last = JSON.parse(await next()) as Record<string, number | boolean>;
      await new Promise((r) => child.once('exit', r));
      return last;
    },
  };
}

async function load(
  fake: FakeDiscord,
  channels: FakeChannel[],
  users: FakeUser[],
  label: string,
): Promise<{ latencies: number[]; errors: number }> {
  const send = async (i: number, latencies: number[] | undefined, errors: { n: number }) => {
    const k = Math.abs(i);
    const ctx = fake.context({ channel: channels[k % channels.length]!, user: users[k % users.length]! });
    const payload = fake.slashCommand(ctx, 'research', {
      idea: `${label} idea number ${i} for teams that plan trips together`,
      depth: 'essential',
    });
    const sentAt = performance.now();
    const callback = await fake.dispatchInteraction(payload);
    if (callback.type !== 5) errors.n++;
    latencies?.push(callback.at - sentAt);
  };
  const warm = { n: 0 };
  await Promise.all(Array.from({ length: WARMUP }, (_, i) => send(-1 - i, undefined, warm)));

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
        inflight.push(send(i, latencies, errors));
        i++;
      }
      if (i >= total) return resolve();
      setTimeout(tick, Math.max(0, start + i * interval - performance.now()));
    };
    setTimeout(tick, 20);
  });
  // A deferral that never comes is a failure, not a hang of the benchmark.
  const timeout = new Promise<void>((resolve) => setTimeout(resolve, 30_000));
  await Promise.race([Promise.all(inflight), timeout]);
  return { latencies, errors: errors.n + (total - latencies.length) };
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
const round = (n: number) => Math.round(n * 100) / 100;

function world(fake: FakeDiscord) {
  const guild = fake.addGuild('Bench');
  const channels = [
    fake.channel(guild.channelId),
    ...Array.from({ length: CHANNELS - 1 }, (_, n) => fake.addChannel({ guildId: guild.id, name: `bench-${n}` })),
  ];
  const users = Array.from({ length: USERS }, (_, n) => fake.addUser(`bench-${n}`));
  return { guild, channels, users };
}

async function main(): Promise<void> {
  // Generous route limits: this measures the bot, not the fake's (made-up) rate limits.
  const limits = { defaultRateLimit: { limit: 10_000, windowMs: 1000 } };
  const bareFake = await startFakeDiscord(limits);
  const bareWorld = world(bareFake);
  const bare = await startChild('bare', bareFake, bareWorld.guild.id);
  const bareRun = await load(bareFake, bareWorld.channels, bareWorld.users, 'bare');
  await bare.finish();
  await bareFake.close();

  const fake = await startFakeDiscord(limits);
  const ourWorld = world(fake);
  const ours = await startChild('ours', fake, ourWorld.guild.id);
  const loadStart = performance.now();
  const ourRun = await load(fake, ourWorld.channels, ourWorld.users, 'ours');
  // Let the work behind the deferrals (reserve, queue, reply, thread, status) finish before counting.
  const expected = RATE * SECONDS + WARMUP;
  const statusPosts = () =>
    fake.requests.filter((r) => r.route === 'POST /channels/:id/messages' && r.status === 200).length;
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline && statusPosts() < expected) await new Promise((r) => setTimeout(r, 250));
  const stored = await ours.finish();
  // Tasks queued per second, from the first interaction to the end of the drain.
  const workSeconds = (performance.now() - loadStart) / 1000;
  const threads = fake.requests.filter(
    (r) => r.route === 'POST /channels/:id/messages/:id/threads' && r.status === 201,
  ).length;
  await fake.close();

  const o = [...ourRun.latencies].sort((a, b) => a - b);
  const b = [...bareRun.latencies].sort((a, b) => a - b);
  const summary = {
    defer_p50_ms: round(pct(o, 50)),
    defer_p99_ms: round(pct(o, 99)),
    bare_defer_p50_ms: round(pct(b, 50)),
    bare_defer_p99_ms: round(pct(b, 99)),
    ratio_p99: round(pct(o, 99) / Math.max(pct(b, 99), 0.001)),
    max_ms: round(o.at(-1) ?? 0),
    bare_max_ms: round(b.at(-1) ?? 0),
    over_3s: o.filter((ms) => ms > 3000).length,
    interactions: o.length,
    errors: ourRun.errors,
    bare_errors: bareRun.errors,
    threads_opened: threads,
    tasks_queued: Number(stored.tasks ?? 0),
    credits_reserved: Number(stored.reserved ?? 0),
    work_drained: stored.drained === true,
    submissions_per_s: round(Number(stored.tasks ?? 0) / workSeconds),
  };
  console.error(
    `ours: p50 ${summary.defer_p50_ms} ms, p99 ${summary.defer_p99_ms} ms, max ${summary.max_ms} ms; bare: p50 ${summary.bare_defer_p50_ms} ms, p99 ${summary.bare_defer_p99_ms} ms; ` +
      `${summary.tasks_queued} tasks queued, ${summary.threads_opened} threads`,
  );
  console.log(JSON.stringify(summary));
}

const serveAt = process.argv.indexOf('--serve');
if (serveAt >= 0) {
  await serve(
    process.argv[serveAt + 1] as Role,
    process.argv[serveAt + 2]!,
    process.argv[serveAt + 3]!,
    process.argv[serveAt + 4]!,
  );
  process.exit(0);
} else {
  await main();
  process.exit(0);
}
