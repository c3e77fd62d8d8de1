// Wires the real provider clients from the environment (or at the sandbox's URLs).
import type { Redis } from 'ioredis';
import type { Env } from '../../config/env.js';
import { createTavilySearch, type SearchProvider } from './tavily.js';
import { createStructuredLlm, type LlmOptions, type StructuredLlm } from './llm.js';

export type {
  SearchProvider,
  SearchRequest,
  SearchHit,
  ExtractRequest,
  ExtractedPage,
  ExtractResult,
} from './tavily.js';
export type { StructuredLlm, GenerateArgs, StructuredOutputMode } from './llm.js';
export { UsageMeter, type UsageSnapshot, type NodeUsage } from './usage.js';

export type Providers = { search: SearchProvider; llm: StructuredLlm };

/** Sent to the sandbox, which accepts any bearer token; never used against a real provider. */
const SANDBOX_KEY = 'sandbox-key';

/** Which LLM endpoint the environment selects: Azure when its key and endpoint are set, else OpenAI(-compatible). */
export function llmOptionsFromEnv(env: Env, openaiUrl?: string): LlmOptions {
  const shared = {
    timeoutMs: env.PROVIDER_TIMEOUT_MS,
    maxRetries: env.PROVIDER_MAX_RETRIES,
    structuredOutput: env.LLM_STRUCTURED_OUTPUT,
  };
  if (!openaiUrl && env.AZURE_OPENAI_API_KEY && env.AZURE_OPENAI_ENDPOINT) {
    return {
      ...shared,
      kind: 'azure',
      apiKey: env.AZURE_OPENAI_API_KEY,
      endpoint: env.AZURE_OPENAI_ENDPOINT,
      deployment: env.AZURE_OPENAI_DEPLOYMENT ?? env.OPENAI_MODEL,
      apiVersion: env.AZURE_OPENAI_API_VERSION,
    };
  }
  const baseURL = openaiUrl ?? env.OPENAI_BASE_URL;
  return {
    ...shared,
    kind: 'openai',
    apiKey: env.OPENAI_API_KEY ?? SANDBOX_KEY,
    model: env.OPENAI_MODEL,
    ...(baseURL ? { baseURL } : {}),
  };
}

/**
 * `urls` (from the sandbox) override TAVILY_API_URL / OPENAI_BASE_URL; keys then default to a placeholder.
 * `opts.cachePrefix` isolates the Redis cache (tests that need a cold cache pass a unique one).
 */
export function createProviders(
  env: Env,
  redis: Redis,
  urls?: { tavilyUrl?: string; openaiUrl?: string },
  opts: { cachePrefix?: string } = {},
): Providers {
  const tavilyUrl = urls?.tavilyUrl ?? env.TAVILY_API_URL;
  const search = createTavilySearch({
    apiKey: env.TAVILY_API_KEY ?? SANDBOX_KEY,
    ...(tavilyUrl ? { apiUrl: tavilyUrl } : {}),
    redis,
    // Sandbox answers live in their own cache namespace so they never mix with real Tavily results.
    cachePrefix: opts.cachePrefix ?? (urls?.tavilyUrl || env.PMF_SANDBOX ? 'pmf:cache:sandbox:' : 'pmf:cache:'),
    cacheTtlSeconds: env.RESEARCH_CACHE_TTL_SECONDS,
    timeoutMs: env.PROVIDER_TIMEOUT_MS,
    maxRetries: env.PROVIDER_MAX_RETRIES,
  });
  return { search, llm: createStructuredLlm(llmOptionsFromEnv(env, urls?.openaiUrl)) };
}
