// The servers an end-to-end research test file needs: the sandbox providers, PostgreSQL (the graph's
// checkpoints) and Redis (the provider cache), opened before the file's tests and closed after them. Apart
// from research.ts because it registers jest hooks, and the benchmark imports research.ts outside jest.
import { afterAll, beforeAll } from '@jest/globals';
import { startSandbox, type Sandbox } from '../../core/sandbox/index.js';
import type { Db } from '../../core/storage/postgres.js';
import type { Redis } from '../../core/storage/redis.js';
import { testPostgres, testRedis } from './storage.js';

export type ResearchServers = { sandbox: Sandbox; pg: Db; redis: Redis };

/** Call once at the top of a test file; the fields are there from its `beforeAll` on. */
export function researchServers(): ResearchServers {
  const servers: Partial<ResearchServers> = {};
  beforeAll(async () => {
    servers.sandbox = await startSandbox();
    servers.pg = testPostgres(4);
    servers.redis = testRedis();
  });
  afterAll(async () => {
    await servers.sandbox?.close();
    await servers.pg?.destroy();
    servers.redis?.disconnect();
  });
  return {
    get sandbox() {
      return defined(servers.sandbox, 'sandbox');
    },
    get pg() {
      return defined(servers.pg, 'pg');
    },
    get redis() {
      return defined(servers.redis, 'redis');
    },
  };
}

function defined<T>(value: T | undefined, name: string): T {
  if (value === undefined) throw new Error(`researchServers().${name} is there only once beforeAll has run`);
  return value;
}
