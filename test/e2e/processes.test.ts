// The product as it runs: the bot and worker processes (bot/main.ts, bot/worker.ts) started as separate
// programs in sandbox mode, a signed /pmf sent to the bot over HTTP, and the report delivered by the worker
// to the fake Slack. Also checks the logs: JSON lines that never contain a configured secret.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { startFakeSlack, type FakeSlack } from '../fakes/slack/server.js';
import { sendSigned, slashCommandBody } from '../fakes/slack/signer.js';

const BOT_TOKEN = `xoxb-e2e-${randomUUID()}`;
const SIGNING_SECRET = `signing-${randomUUID()}`;
const TEAM = `TE2E${randomUUID().slice(0, 6).toUpperCase()}`;

type Proc = { child: ChildProcess; output: string[]; exit: Promise<number | null> };

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function start(script: string, env: NodeJS.ProcessEnv): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  child.stdout!.on('data', (c: Buffer) => output.push(c.toString()));
  child.stderr!.on('data', (c: Buffer) => output.push(c.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output, exit };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms: number): Promise<T> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function healthy(port: number): Promise<true | undefined> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/health`)).status === 200 ? true : undefined;
  } catch {
    return undefined;
  }
}

let fake: FakeSlack;
let bot: Proc;
let worker: Proc;
let slackPort: number;

beforeAll(async () => {
  fake = await startFakeSlack({
    // Slow enough that the worker is still delivering when it is told to stop.
    latencyMs: 150,
    teams: { [BOT_TOKEN]: { teamId: TEAM, botUserId: 'UBOT', botId: 'BBOT', admins: [] } },
  });
  slackPort = await freePort();
  const [botHealth, workerHealth] = [await freePort(), await freePort()];
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    LOG_LEVEL: 'debug',
    DATABASE_URL: process.env.DATABASE_URL,
    REDIS_URL: process.env.REDIS_URL,
    // A database of its own, so no other test's worker takes this test's job.
    MONGO_URL: `mongodb://127.0.0.1:27019/t_e2e_${randomUUID().slice(0, 8)}`,
    PMF_SANDBOX: '1',
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_MODE: 'http',
    SLACK_API_URL: fake.apiUrl,
    SLACK_PORT: String(slackPort),
    // Long on purpose: the worker must stop when its research is delivered, not when the drain times out.
    WORKER_DRAIN_TIMEOUT_MS: '60000',
  };
  bot = start('bot/main.ts', { ...env, HEALTH_PORT: String(botHealth) });
  worker = start('bot/worker.ts', { ...env, HEALTH_PORT: String(workerHealth) });
  await waitFor('the bot to be healthy', () => healthy(botHealth), 60_000);
  await waitFor('the worker to be healthy', () => healthy(workerHealth), 60_000);
}, 120_000);

afterAll(async () => {
  for (const p of [bot, worker]) if (p && p.child.exitCode === null) p.child.kill('SIGKILL');
  await fake?.close();
});

describe('bot and worker processes, end to end', () => {
  it('turns a signed /pmf into a report in the thread, and both processes stop on SIGTERM as soon as their work is done', async () => {
    const body = slashCommandBody({
      teamId: TEAM,
      channelId: 'CE2E',
      userId: 'U0MARIA',
      text: 'essential an app that matches dog owners with sitters',
      responseUrl: fake.responseUrl('e2e'),
    });
    const res = await sendSigned(`http://127.0.0.1:${slackPort}/slack/events`, SIGNING_SECRET, body);
    expect(res.status).toBe(200);
    expect(res.ms).toBeLessThan(3000);

    // SIGTERM reaches the worker while its research runs: it finishes and delivers it, then exits at once.
    await waitFor(
      'the research to show progress',
      () => (fake.messages.find((m) => m.channel === 'CE2E' && !m.threadTs)?.edits.length ? true : undefined),
      60_000,
    );
    worker.child.kill('SIGTERM');
    expect(await worker.exit).toBe(0);
    const workerExitedAt = Date.now();
    const upload = fake.callsOf('files.completeUploadExternal').find((c) => c.status === 200);
    expect(upload).toBeDefined();
    const lastWorkerCall = Math.max(...fake.calls.map((c) => c.at));
    expect(workerExitedAt - lastWorkerCall).toBeLessThan(3_000);

    const asked = fake.callsOf('files.getUploadURLExternal').map((c) => String(c.args.filename));
    expect(asked).toEqual([expect.stringMatching(/^pmf-R-[A-Z0-9]+\.md$/)]);
    expect(upload!.args.channel_id).toBe('CE2E');
    expect(upload!.args.thread_ts).toBeTruthy();

    const parent = fake.messages.find((m) => m.channel === 'CE2E' && !m.threadTs)!;
    await waitFor(
      'the parent to show the score',
      () => (JSON.stringify(parent.edits.at(-1)?.blocks ?? '').match(/PMF \d+\/100/) ? true : undefined),
      30_000,
    );

    // Commands acknowledged just before a shutdown are still worked through before the bot exits.
    const lastOrders = ['e2e-last-1', 'e2e-last-2', 'e2e-last-3'];
    const acked = await Promise.all(
      lastOrders.map((id, n) =>
        sendSigned(
          `http://127.0.0.1:${slackPort}/slack/events`,
          SIGNING_SECRET,
          slashCommandBody({
            teamId: TEAM,
            channelId: 'CE2E',
            userId: `U0LAST${n}`,
            text: `essential a tool that plans school runs #${n}`,
            responseUrl: fake.responseUrl(id),
          }),
        ),
      ),
    );
    expect(acked.map((r) => r.status)).toEqual([200, 200, 200]);
    const stopAsked = Date.now();
    bot.child.kill('SIGTERM');
    expect(await bot.exit).toBe(0);
    // The bot's drain (7 s) is an upper bound: three acknowledged commands take far less.
    expect(Date.now() - stopAsked).toBeLessThan(4_000);
    for (const id of lastOrders) {
      const replies = fake.responses.filter((r) => r.id === id).map((r) => String(r.body.text ?? ''));
      expect(replies).toEqual([expect.stringMatching(/research \(`R-[A-Z0-9]+`\) for 6 credits/)]);
    }
  }, 200_000);

  it('logs JSON lines that carry the task id and never a configured secret', () => {
    const lines = [...bot.output, ...worker.output].join('').split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(5);
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed.some((l) => typeof l.taskId === 'string' && /^R-/.test(l.taskId))).toBe(true);
    const all = lines.join('\n');
    expect(all).not.toContain(BOT_TOKEN);
    expect(all).not.toContain(SIGNING_SECRET);
  });
});
