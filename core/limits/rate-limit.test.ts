import { afterAll, describe, expect, it } from '@jest/globals';
import { testRedis, uniquePrefix } from '../../test/helpers/storage.js';
import { checkRateLimit, checkRateLimits, checkResearchRateLimit, restampRateLimit } from './rate-limit.js';

const redis = testRedis();
afterAll(async () => {
  await redis.quit();
});

describe('checkRateLimit', () => {
  it('allows up to the limit in a window, then refuses with a wait', async () => {
    const key = `${uniquePrefix('rl')}k`;
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await checkRateLimit(redis, { key, limit: 3, windowSeconds: 60 }));
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, false]);
    expect(results[3]!.retryAfterSeconds).toBeGreaterThanOrEqual(59);
    expect(results[3]!.retryAfterSeconds).toBeLessThanOrEqual(60);
    expect(await redis.pttl(key)).toBeGreaterThan(0);
  });

  it('frees a slot once the window has slid past a request', async () => {
    const key = `${uniquePrefix('rl')}k`;
    expect((await checkRateLimit(redis, { key, limit: 1, windowSeconds: 1 })).allowed).toBe(true);
    expect((await checkRateLimit(redis, { key, limit: 1, windowSeconds: 1 })).allowed).toBe(false);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await checkRateLimit(redis, { key, limit: 1, windowSeconds: 1 })).allowed).toBe(true);
  });

  it('counts a call again from its end when it outlasted the window', async () => {
    const rule = { key: `${uniquePrefix('rl')}k`, limit: 1, windowSeconds: 0.3 };
    const slot = await checkRateLimit(redis, rule);
    expect(slot.allowed).toBe(true);
    await new Promise((r) => setTimeout(r, 400)); // the call is still on its way when its entry expires
    await restampRateLimit(redis, rule, slot.member!);
    const next = await checkRateLimit(redis, rule);
    expect(next.allowed).toBe(false);
    expect(next.retryAfterMs).toBeGreaterThan(200);
    expect(await redis.pttl(rule.key)).toBeGreaterThan(0);
  });

  it('admits exactly the limit under concurrency', async () => {
    const key = `${uniquePrefix('rl')}k`;
    const results = await Promise.all(
      Array.from({ length: 50 }, () => checkRateLimit(redis, { key, limit: 20, windowSeconds: 60 })),
    );
    expect(results.filter((r) => r.allowed)).toHaveLength(20);
  });

  it('does not count a request against any window when one window refuses', async () => {
    const p = uniquePrefix('rl');
    const a = { key: `${p}a`, limit: 5, windowSeconds: 60 };
    const b = { key: `${p}b`, limit: 1, windowSeconds: 60 };
    expect((await checkRateLimits(redis, [a, b])).allowed).toBe(true);
    const refused = await checkRateLimits(redis, [a, b]);
    expect(refused).toMatchObject({ allowed: false, refusedBy: b.key });
    expect(await redis.zcard(a.key)).toBe(1);
  });
});

describe('checkResearchRateLimit', () => {
  const env = { RATE_LIMIT_USER_PER_HOUR: 2, RATE_LIMIT_WORKSPACE_PER_HOUR: 3 };

  it('limits a user, then the workspace, and says which', async () => {
    const prefix = uniquePrefix('rl');
    const who = (user: string) => ({ platform: 'slack', workspace: 'T1', user });
    expect(await checkResearchRateLimit(redis, env, who('U1'), prefix)).toEqual({ allowed: true });
    expect(await checkResearchRateLimit(redis, env, who('U1'), prefix)).toEqual({ allowed: true });
    expect(await checkResearchRateLimit(redis, env, who('U1'), prefix)).toMatchObject({
      allowed: false,
      scope: 'user',
      limit: 2,
    });
    expect(await checkResearchRateLimit(redis, env, who('U2'), prefix)).toEqual({ allowed: true });
    expect(await checkResearchRateLimit(redis, env, who('U3'), prefix)).toMatchObject({
      allowed: false,
      scope: 'workspace',
      limit: 3,
    });
  });
});
