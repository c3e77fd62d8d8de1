// Tavily search/extract behind a small port, with a Redis cache, retries and credit accounting.
import type { Redis } from 'ioredis';
import type { UsageMeter } from './usage.js';

export type SearchRequest = { query: string; searchDepth: 'basic' | 'advanced'; maxResults: number };
export type SearchHit = { url: string; title: string; content: string; score: number };
export type ExtractRequest = { urls: string[]; extractDepth: 'basic' | 'advanced' };
export type ExtractedPage = { url: string; title?: string; rawContent: string };
export type ExtractResult = { pages: ExtractedPage[]; failed: string[] };

export interface SearchProvider {
  search(req: SearchRequest, meter: UsageMeter, signal?: AbortSignal): Promise<SearchHit[]>;
  extract(req: ExtractRequest, meter: UsageMeter, signal?: AbortSignal): Promise<ExtractResult>;
}

export type TavilyOptions = {
  apiKey: string;
  /** TAVILY_API_URL, e.g. the sandbox's `tavilyUrl`; undefined means api.tavily.com. */
  apiUrl?: string;
  redis: Redis;
  cacheTtlSeconds: number;
  timeoutMs: number;
  maxRetries: number;
  /** Redis key prefix; tests pass a unique one. */
  cachePrefix?: string;
};

export function createTavilySearch(opts: TavilyOptions): SearchProvider {
  void opts;
  throw new Error('not implemented yet');
}
