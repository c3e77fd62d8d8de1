// Wires the real provider clients from the environment (or at the sandbox's URLs).
import type { Redis } from 'ioredis';
import type { Env } from '../../config/env.js';
import type { SearchProvider } from './tavily.js';
import type { StructuredLlm } from './llm.js';

export type { SearchProvider, SearchRequest, SearchHit, ExtractRequest, ExtractedPage, ExtractResult } from './tavily.js';
export type { StructuredLlm, GenerateArgs } from './llm.js';
export { UsageMeter, type UsageSnapshot, type NodeUsage } from './usage.js';

export type Providers = { search: SearchProvider; llm: StructuredLlm };

/** `urls` (from the sandbox) override TAVILY_API_URL / OPENAI_BASE_URL; keys then default to a placeholder. */
export function createProviders(env: Env, redis: Redis, urls?: { tavilyUrl?: string; openaiUrl?: string }): Providers {
  void env;
  void redis;
  void urls;
  throw new Error('not implemented yet');
}
