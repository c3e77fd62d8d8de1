// The bot process (bot/main.ts) started with wrong credentials, as a new user would: each problem is one plain
// line naming the variable, a bot with no platform left exits 78 (PM2 does not restart it: ecosystem.config.js),
// and a bot with one platform left keeps serving it and says on /health which one is down.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { startFakeDiscord, type FakeDiscord } from '../fakes/discord/index.js';
import { startFakeSlack, type FakeSlack } from '../fakes/slack/server.js';

const BOT_TOKEN = `xoxb-cred-${randomUUID()}`;
const APP_TOKEN = `xapp-1-A1-${randomUUID()}`;

type Proc = { child: ChildProcess; stderr: () => string; exit: Promise<number | null> };

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

let slack: FakeSlack;
let discord: FakeDiscord;
const running: Proc[] = [];

beforeAll(async () => {
  slack = await startFakeSlack({
    teams: { [BOT_TOKEN]: { teamId: 'TCRED', botUserId: 'UBOT', botId: 'BBOT' } },
    socketMode: { appTokens: { [APP_TOKEN]: 'A1' } },
  });
  discord = await startFakeDiscord();
});
afterAll(async () => {
  for (const p of running) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  await slack?.close();
  await discord?.close();
});

function bot(vars: Record<string, string>, args: string[] = []): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bot/main.ts', ...args], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      DATABASE_URL: process.env.DATABASE_URL,
      REDIS_URL: process.env.REDIS_URL,
      MONGO_URL: `mongodb://127.0.0.1:27019/t_cred_${randomUUID().slice(0, 8)}`,
      PMF_SANDBOX: '1',
      SLACK_API_URL: slack.apiUrl,
      DISCORD_API_URL: discord.apiUrl,
      ...vars,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const err: string[] = [];
  child.stderr!.on('data', (c: Buffer) => err.push(c.toString()));
  child.stdout!.resume();
  const proc = { child, stderr: () => err.join(''), exit: new Promise<number | null>((r) => child.on('exit', r)) };
  running.push(proc);
  return proc;
}

async function health(port: number): Promise<{ status: number; body: Record<string, unknown> } | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  } catch {
    return undefined;
  }
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('bot start-up with wrong credentials', () => {
  it('a bot token pasted as SLACK_APP_TOKEN: one line naming it, exit 78, nothing listening', async () => {
    const healthPort = await freePort();
    const p = bot({
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_APP_TOKEN: BOT_TOKEN,
      SLACK_MODE: 'socket',
      HEALTH_PORT: String(healthPort),
    });
    expect(await p.exit).toBe(78);
    const lines = p.stderr().trim().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(
        /^Slack: SLACK_APP_TOKEN is a bot token \(xoxb-…\), not an app-level token \(xapp-…\).*README: "Set up Slack"/,
      ),
      expect.stringMatching(/^No platform left to serve: the bot stops/),
    ]);
    expect(p.stderr()).not.toContain(BOT_TOKEN);
    expect(await health(healthPort)).toBeUndefined();
  }, 60_000);

  it('a revoked app token and a wrong Discord token: one line each, exit 78, no stack trace', async () => {
    const p = bot({
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_APP_TOKEN: `xapp-1-A1-${randomUUID()}`,
      DISCORD_TOKEN: 'wrong-token',
      DISCORD_APPLICATION_ID: discord.applicationId,
    });
    expect(await p.exit).toBe(78);
    const lines = p.stderr().trim().split('\n');
    expect(lines.sort()).toEqual([
      expect.stringMatching(/^Discord: DISCORD_TOKEN was refused by Discord \(401 Unauthorized\)/),
      expect.stringMatching(/^No platform left to serve/),
      expect.stringMatching(/^Slack: SLACK_APP_TOKEN was refused by Slack \(invalid_auth\)/),
    ]);
  }, 60_000);

  it('an app token refused when Socket Mode starts (after the check passed): the same one line, no stack, exit 78', async () => {
    // The check's apps.connections.open passes; the receiver's own is refused, as for a token revoked meanwhile.
    slack.socketMode.failOpen('invalid_auth', 1, 1);
    const p = bot({ SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_APP_TOKEN: APP_TOKEN, SLACK_MODE: 'socket' });
    expect(await p.exit).toBe(78);
    expect(p.stderr().trim().split('\n')).toEqual([
      expect.stringMatching(/^Slack: SLACK_APP_TOKEN was refused by Slack \(invalid_auth\)/),
      expect.stringMatching(/^No platform left to serve/),
    ]);
  }, 60_000);

  it('--check prints the lines and exits 78, or 0 when all is well', async () => {
    const bad = bot({ DISCORD_TOKEN: discord.token, DISCORD_APPLICATION_ID: '123456789012345678' }, ['--check']);
    expect(await bad.exit).toBe(78);
    expect(bad.stderr()).toMatch(
      /^Discord: DISCORD_APPLICATION_ID is 123456789012345678, but DISCORD_TOKEN belongs to/,
    );
    const good = bot({ DISCORD_TOKEN: discord.token, DISCORD_APPLICATION_ID: discord.applicationId }, ['--check']);
    expect(await good.exit).toBe(0);
    expect(good.stderr()).toBe('');
  }, 60_000);

  it('keeps serving the platform that is left, in Socket Mode, and /health names the one that is down', async () => {
    const healthPort = await freePort();
    const p = bot({
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_APP_TOKEN: APP_TOKEN,
      SLACK_MODE: 'socket',
      DISCORD_TOKEN: 'wrong-token',
      HEALTH_PORT: String(healthPort),
    });
    const h = await until('the bot to answer /health', () => health(healthPort));
    expect(h.body.platforms).toEqual({ slack: 'connected', discord: 'failed' });
    expect(h.status).toBe(503);
    expect(p.stderr()).toMatch(/^Discord: DISCORD_TOKEN was refused by Discord/);
    expect(slack.socketMode.live()).toHaveLength(1);
    p.child.kill('SIGTERM');
    expect(await p.exit).toBe(0);
  }, 90_000);
});
