import { Redis } from 'ioredis';

export type { Redis } from 'ioredis';

/** Commands wait for a reconnect instead of failing at once, so a Redis restart is a pause, not an error. */
export function createRedis(url: string, name = 'pmf'): Redis {
  return new Redis(url, {
    connectionName: name,
    maxRetriesPerRequest: 20,
    retryStrategy: (times) => Math.min(times * 100, 2000),
    lazyConnect: false,
  });
}
