import { randomUUID } from 'node:crypto';
import {
  checkHealth,
  connectMongo,
  createPostgres,
  createRedis,
  type Db,
  type Mongo,
  type Redis,
  type Storage,
} from '../../core/storage/index.js';

/** PostgreSQL test database (migrated by the global setup). Tests isolate by creating their own workspaces. */
export function testPostgres(max = 20): Db {
  return createPostgres(process.env.DATABASE_URL!, { max });
}

/**
 * A MongoDB database of its own for one test file. Close the client when done but never drop the database:
 * FerretDB 1.24 can crash when a database is dropped under live connections; `services up` removes the files.
 */
export async function testMongo(label: string): Promise<Mongo> {
  return connectMongo(process.env.MONGO_URL!, `t_${label.replace(/[^a-z0-9]/gi, '_')}_${randomUUID().slice(0, 8)}`);
}

export function testRedis(): Redis {
  return createRedis(process.env.REDIS_URL!, 'test');
}

/** A key prefix no other test shares, for Redis keys and channel names. */
export function uniquePrefix(label: string): string {
  return `test:${label}:${randomUUID().slice(0, 8)}:`;
}

/** The product's `Storage` over clients the test opened: its `close` does nothing, the test closes them. */
export function borrowedStorage(clients: { pg: Db; mongo: Mongo; redis: Redis }): Storage {
  return { ...clients, health: () => checkHealth(clients), close: async () => undefined };
}
