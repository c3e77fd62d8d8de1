import { afterAll, describe, expect, it } from '@jest/globals';
import { checkHealth, connectMongo, createPostgres, createRedis, openStorage } from './index.js';

describe('storage health (real servers)', () => {
  it('reports every dependency up with a latency', async () => {
    const storage = await openStorage({
      DATABASE_URL: process.env.DATABASE_URL!,
      MONGO_URL: process.env.MONGO_URL!,
      REDIS_URL: process.env.REDIS_URL!,
    });
    try {
      const health = await storage.health();
      expect(health.ok).toBe(true);
      expect(health.dependencies.map((d) => d.name).sort()).toEqual(['mongodb', 'postgres', 'redis']);
      for (const d of health.dependencies) expect(d.latencyMs).toBeGreaterThanOrEqual(0);
    } finally {
      await storage.close();
    }
  });

  const closers: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    await Promise.allSettled(closers.map((c) => c()));
  });

  it('reports a server that is down as down, with the reason, without throwing', async () => {
    const pg = createPostgres('postgres://pmf@127.0.0.1:1/none');
    const redis = createRedis('redis://127.0.0.1:1');
    redis.on('error', () => undefined);
    closers.push(
      () => pg.destroy(),
      async () => redis.disconnect(),
    );
    const mongo = await connectMongo(process.env.MONGO_URL!);
    closers.push(() => mongo.client.close());
    const health = await checkHealth({ pg, mongo, redis }, 500);
    expect(health.ok).toBe(false);
    const byName = Object.fromEntries(health.dependencies.map((d) => [d.name, d]));
    expect(byName.postgres?.up).toBe(false);
    expect(byName.postgres?.error).toBeTruthy();
    expect(byName.redis?.up).toBe(false);
    expect(byName.mongodb?.up).toBe(true);
  });
});
