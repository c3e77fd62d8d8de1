// A research engine on the sandbox providers, real Redis and real PostgreSQL, for engine tests and the benchmark.
import { parseEnv, type Env } from '../../core/config/index.js';
import { createResearchEngine } from '../../core/research/engine.js';
import type { ResearchEngine } from '../../core/research/contract.js';
import { createStructuredLlm } from '../../core/research/providers/llm.js';
import { createTavilySearch } from '../../core/research/providers/tavily.js';
import type { Providers } from '../../core/research/providers/index.js';
import type { Sandbox } from '../../core/sandbox/index.js';
import type { Db } from '../../core/storage/postgres.js';
import type { Redis } from '../../core/storage/redis.js';

export function sandboxEnv(overrides: Record<string, string> = {}): Env {
  return parseEnv({ ...process.env, PMF_SANDBOX: '1', ...overrides });
}

export type ProviderTuning = { timeoutMs?: number; maxRetries?: number; cachePrefix: string; cacheTtlSeconds?: number };

/** Where a sandbox answers (one in another process is reached by its URLs alone). */
export type SandboxUrls = Pick<Sandbox, 'tavilyUrl' | 'openaiUrl'>;

/** Real SDK clients pointed at the sandbox; their retries sleep for real. */
export function sandboxProviders(sandbox: SandboxUrls, redis: Redis, t: ProviderTuning): Providers {
  const timeoutMs = t.timeoutMs ?? 10_000;
  const maxRetries = t.maxRetries ?? 2;
  return {
    search: createTavilySearch({
      apiKey: 'tvly-sandbox',
      apiUrl: sandbox.tavilyUrl,
      redis,
      cacheTtlSeconds: t.cacheTtlSeconds ?? 3600,
      timeoutMs,
      maxRetries,
      cachePrefix: t.cachePrefix,
    }),
    llm: createStructuredLlm({
      kind: 'openai',
      apiKey: 'sk-sandbox',
      baseURL: sandbox.openaiUrl,
      model: 'sandbox',
      timeoutMs,
      maxRetries,
    }),
  };
}

export function sandboxEngine(sandbox: SandboxUrls, redis: Redis, pg: Db, t: ProviderTuning): ResearchEngine {
  return createResearchEngine({
    env: sandboxEnv(),
    redis,
    pg,
    providers: sandboxProviders(sandbox, redis, t),
    sandbox: true,
  });
}
