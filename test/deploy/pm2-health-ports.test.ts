// `npm start` as an operator runs it with HEALTH_PORT set: the bot and two workers under PM2 (ecosystem.config.js)
// each serve /health and /metrics on a port of their own (decision 081) instead of the second one dying with
// EADDRINUSE and PM2 restarting it in a loop. PM2 runs with a private PM2_HOME and is killed afterwards.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

const PM2 = path.resolve('node_modules/pm2/bin/pm2');

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer()
      .once('error', () => resolve(false))
      .listen(port, '0.0.0.0', () => srv.close(() => resolve(true)));
  });
}

/** A base port with the two after it free too (bot, worker 0, worker 1). */
async function freeBase(): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const base = 20_000 + Math.floor(Math.random() * 20_000);
    const free = await Promise.all([0, 1, 2].map((n) => portFree(base + n)));
    if (free.every(Boolean)) return base;
  }
  throw new Error('no three consecutive free ports found');
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms: number): Promise<T> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function get(port: number, route: string): Promise<{ status: number; text: string } | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${route}`);
    return { status: res.status, text: await res.text() };
  } catch {
    return undefined;
  }
}

type Pm2Process = { name: string; pm2_env: { status: string; restart_time: number; HEALTH_PORT?: string } };

let home: string;
let env: NodeJS.ProcessEnv;
let base: number;

function pm2(...args: string[]) {
  const r = spawnSync(process.execPath, [PM2, ...args], { env, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`pm2 ${args.join(' ')} failed (${r.status}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

beforeAll(async () => {
  home = mkdtempSync(path.join(tmpdir(), 'pmf-pm2-'));
  base = await freeBase();
  env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    // ecosystem.config.js sets production for the apps themselves.
    NODE_ENV: 'production',
    PM2_HOME: path.join(home, 'pm2'),
    PMF_LOG_DIR: path.join(home, 'logs'),
    DATABASE_URL: process.env.DATABASE_URL,
    REDIS_URL: process.env.REDIS_URL,
    // A database of its own, so these workers take no other test's jobs.
    MONGO_URL: `mongodb://127.0.0.1:27019/t_pm2_${randomUUID().slice(0, 8)}`,
    PMF_SANDBOX: '1',
    HEALTH_PORT: String(base),
    WORKER_INSTANCES: '2',
    WORKER_DRAIN_TIMEOUT_MS: '2000',
    LOG_LEVEL: 'warn',
  };
  pm2('start', 'ecosystem.config.js', '--only', 'bot,worker');
}, 90_000);

afterAll(() => {
  if (env) spawnSync(process.execPath, [PM2, 'kill'], { env, timeout: 60_000 });
  if (home) rmSync(home, { recursive: true, force: true });
});

describe('the PM2 stack with HEALTH_PORT set', () => {
  it('gives the bot and each of two workers its own port, and all answer /health and /metrics', async () => {
    const ports = { bot: base, 'worker 0': base + 1, 'worker 1': base + 2 };
    for (const [who, port] of Object.entries(ports)) {
      const health = await waitFor(
        `${who} on ${port} to be healthy`,
        async () => {
          const r = await get(port, '/health');
          return r?.status === 200 ? r : undefined;
        },
        90_000,
      );
      expect(JSON.parse(health.text)).toMatchObject({ ok: true });
      const metrics = await get(port, '/metrics');
      expect(metrics?.status).toBe(200);
      expect(metrics?.text).toContain('# TYPE pmf_researches_total counter');
      expect(metrics?.text).toContain('process_start_time_seconds');
    }

    // The workers read the ledger gauges at start; the bot never does: each port is the process it should be.
    for (const port of [base + 1, base + 2])
      await waitFor(
        `worker on ${port} to read the ledger gauges`,
        async () => {
          const text = (await get(port, '/metrics'))?.text ?? '';
          return /^pmf_ledger_gauges_timestamp_seconds [1-9]/m.test(text) ? true : undefined;
        },
        30_000,
      );
    expect((await get(base, '/metrics'))?.text).toMatch(/^pmf_ledger_gauges_timestamp_seconds 0$/m);

    // Three distinct processes, none of them restarted (the EADDRINUSE loop restarted the second one).
    const list = JSON.parse(pm2('jlist')) as Pm2Process[];
    expect(list.map((p) => p.name).sort()).toEqual(['bot', 'worker', 'worker']);
    for (const p of list) {
      expect(p.pm2_env.status).toBe('online');
      expect(p.pm2_env.restart_time).toBe(0);
    }
  }, 150_000);
});
