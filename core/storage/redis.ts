import { Redis } from 'ioredis';

export type { Redis } from 'ioredis';

/**
 * Commands wait for a reconnect instead of failing at once, so a Redis restart is a pause, not an error.
 * `namespace` becomes ioredis' `keyPrefix`: every key this connection (and its duplicates) touches,
 * including a script's KEYS, is `<namespace>:<key>`, so two installs sharing a Redis never read each
 * other's keys. Pub/sub channels are not keys (and ignore the database number): see `namespacedChannel`
 * (decision 083).
 */
export function createRedis(url: string, name = 'pmf', namespace?: string): Redis {
  return new Redis(url, {
    connectionName: name,
    maxRetriesPerRequest: 20,
    retryStrategy: (times) => Math.min(times * 100, 2000),
    lazyConnect: false,
    ...(namespace ? { keyPrefix: `${namespace}:` } : {}),
  });
}

/**
 * The install's namespace: `REDIS_NAMESPACE`, else the MongoDB database name (`mongodb://host/pmf_eu` →
 * `pmf_eu`), which already tells two installs apart, else `pmf`.
 */
export function redisNamespace(env: { REDIS_NAMESPACE?: string; MONGO_URL: string }): string {
  if (env.REDIS_NAMESPACE) return env.REDIS_NAMESPACE;
  try {
    return decodeURIComponent(new URL(env.MONGO_URL).pathname.slice(1)) || 'pmf';
  } catch {
    return 'pmf';
  }
}

/** A pub/sub channel (or PSUBSCRIBE pattern) in the connection's namespace: ioredis prefixes keys only. */
export function namespacedChannel(redis: Redis, channel: string): string {
  return `${redis.options.keyPrefix ?? ''}${channel}`;
}
