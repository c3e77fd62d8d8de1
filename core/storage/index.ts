import type { Env } from '../config/index.js';
import { checkHealth, type Health } from './health.js';
import { connectMongo, type Mongo } from './mongo.js';
import { createPostgres, type Db } from './postgres.js';
import { createRedis, redisNamespace, type Redis } from './redis.js';

export { createPostgres, type Db } from './postgres.js';
export { connectMongo, type Mongo } from './mongo.js';
export { createRedis, namespacedChannel, redisNamespace, type Redis } from './redis.js';
export { checkHealth, type Health, type DependencyHealth } from './health.js';
export { migrateLatest } from './migrate.js';

export type Storage = {
  pg: Db;
  mongo: Mongo;
  redis: Redis;
  health(): Promise<Health>;
  close(): Promise<void>;
};

export async function openStorage(
  env: Pick<Env, 'DATABASE_URL' | 'MONGO_URL' | 'REDIS_URL'> & Partial<Pick<Env, 'REDIS_NAMESPACE'>>,
  name = 'pmf',
): Promise<Storage> {
  const pg = createPostgres(env.DATABASE_URL);
  const redis = createRedis(env.REDIS_URL, name, redisNamespace(env));
  const mongo = await connectMongo(env.MONGO_URL);
  return {
    pg,
    mongo,
    redis,
    health: () => checkHealth({ pg, mongo, redis }),
    async close() {
      await Promise.allSettled([pg.destroy(), mongo.client.close(), redis.quit()]);
    },
  };
}
