// Two installs of PMF Scout on one Redis server (each with its own MongoDB database, the second on another
// Redis database number): keys, the job layer's channels and the console's task index stay apart.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { parseEnv, type Env } from '../../core/config/index.js';
import { checkRateLimit } from '../../core/limits/rate-limit.js';
import { createLogger } from '../../core/observability/logger.js';
import { testRedis } from '../../test/helpers/storage.js';
import { fundPlayground } from './harness.js';
import { CONSOLE_WORKSPACE } from '../app/lib/jobs.server.js';
import { createConsoleRuntime, type ConsoleRuntime } from '../composition.js';
import { CreditLedger } from '../../core/credits/index.js';

const run = randomUUID().slice(0, 8);
let a: ConsoleRuntime;
let b: ConsoleRuntime;

function installEnv(name: string, redisDb: number): Env {
  const mongo = new URL(process.env.MONGO_URL!);
  mongo.pathname = `/t_${name}_${run}`;
  const redis = new URL(process.env.REDIS_URL!);
  redis.pathname = `/${redisDb}`;
  return parseEnv({ ...process.env, MONGO_URL: mongo.href, REDIS_URL: redis.href, LOG_LEVEL: 'silent' });
}

beforeAll(async () => {
  const logger = createLogger('two-installs', 'silent');
  a = await createConsoleRuntime(installEnv('install_a', 0), logger);
  b = await createConsoleRuntime(installEnv('install_b', 1), logger);
  await Promise.all([a.indexReady, b.indexReady]);
});

afterAll(async () => {
  await a.close();
  await b.close();
});

it('keeps keys, channels and the report index of two installs apart', async () => {
  // Keys: the same logical rate-limit key counts separately per install.
  const rule = { key: `pmf:rl:two-installs:${run}`, limit: 1, windowSeconds: 60 };
  expect((await checkRateLimit(a.storage.redis, rule)).allowed).toBe(true);
  expect((await checkRateLimit(a.storage.redis, rule)).allowed).toBe(false);
  expect((await checkRateLimit(b.storage.redis, rule)).allowed).toBe(true);

  // Channels: a research submitted in install A is published only under A's namespace...
  const spy = testRedis();
  const heard: string[] = [];
  spy.on('pmessage', (_p: string, channel: string) => heard.push(channel));
  await spy.psubscribe('*progress*');
  try {
    const ledger = new CreditLedger(a.storage.pg);
    await fundPlayground(ledger);
    const workspace = await ledger.ensureWorkspace(CONSOLE_WORKSPACE);
    const { task } = await a.services.jobs!.submitResearch({
      requestKey: `two-installs:${run}`,
      workspaceId: workspace.id,
      requester: { id: 'console:test' },
      origin: { platform: 'console', userId: 'test' },
      idea: `quokka photo tours for install ${run}`,
      depth: 'essential',
    });
    await waitFor(() => a.services.taskIndex!.search({ text: `quokka ${run}` }).total === 1);
    const mine = heard.filter((c) => c.endsWith(task.id));
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((c) => c.startsWith(`t_install_a_${run}:`))).toBe(true);
    // ...so install B's console never lists it, and its report index stays empty.
    await new Promise((r) => setTimeout(r, 300));
    expect(b.services.taskIndex!.search({ text: `quokka ${run}` }).total).toBe(0);
    expect(b.services.taskIndex!.size).toBe(0);
    // Agenda's wake-up channel is the install's own too.
    const probe = testRedis();
    const [, subscribers] = (await probe.pubsub('NUMSUB', `t_install_a_${run}:pmf:agenda`)) as [string, number];
    await probe.quit();
    expect(Number(subscribers)).toBeGreaterThan(0);
  } finally {
    spy.disconnect();
  }
});

async function waitFor(check: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}
