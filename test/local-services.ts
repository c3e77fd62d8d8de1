// The URLs of the servers `npm run services -- up` starts (ports fixed in scripts/local-servers.mjs).
export const LOCAL_URLS = {
  DATABASE_URL: 'postgres://pmf@127.0.0.1:54329/pmf_test',
  MONGO_URL: 'mongodb://127.0.0.1:27019/pmf_test',
  REDIS_URL: 'redis://127.0.0.1:63799',
} as const;

export function applyLocalServiceDefaults(env: NodeJS.ProcessEnv = process.env): void {
  for (const [key, url] of Object.entries(LOCAL_URLS)) env[key] ??= url;
  env.NODE_ENV ??= 'test';
  env.LOG_LEVEL ??= 'silent';
}
