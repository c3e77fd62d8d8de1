// Tavily search/extract behind a small port, with a Redis cache, retries and credit accounting.
// The official @tavily/core client does the HTTP; see docs/decisions/021 (cache) and 022 (retries).
import { createHash } from 'node:crypto';
import { tavily } from '@tavily/core';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { ResearchError } from '../contract.js';
import { observed } from './observe.js';
import { AbortedError, DEFAULT_RETRY_POLICY, raceAbort, withRetry, type FailureClass, type Sleep } from './retry.js';
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
  /** Injected in tests to observe the waits without timing them. */
  sleep?: Sleep;
};

/** Tavily's prices (credits): a search by depth; an extract per started group of 5 successful URLs. */
export function searchCredits(depth: SearchRequest['searchDepth']): number {
  return depth === 'advanced' ? 2 : 1;
}

export function extractCredits(depth: ExtractRequest['extractDepth'], successfulUrls: number): number {
  return Math.ceil(successfulUrls / 5) * (depth === 'advanced' ? 2 : 1);
}

/** URL identity for the cache: trimmed, scheme and host lower-cased by WHATWG parsing, no fragment. */
export function normalizeUrl(url: string): string {
  const trimmed = url.trim();
  try {
    const u = new URL(trimmed);
    u.hash = '';
    return u.toString();
  } catch {
    return trimmed.toLowerCase();
  }
}

/** The cache key's input: equal for requests that must return the same answer. */
export function normalizeSearch(req: SearchRequest): string {
  return JSON.stringify({
    q: req.query.trim().toLowerCase().replace(/\s+/g, ' '),
    d: req.searchDepth,
    n: req.maxResults,
  });
}

export function normalizeExtract(req: ExtractRequest): string {
  return JSON.stringify({ u: [...new Set(req.urls.map(normalizeUrl))].sort(), d: req.extractDepth });
}

export function cacheKey(prefix: string, kind: 'search' | 'extract', normalized: string): string {
  return `${prefix}tavily:${kind}:v1:${createHash('sha256').update(normalized).digest('hex')}`;
}

const hitSchema = z.object({ url: z.string(), title: z.string(), content: z.string(), score: z.number() });
const cachedSearchSchema = z.array(hitSchema);
const cachedExtractSchema = z.object({
  pages: z.array(z.object({ url: z.string(), title: z.string().optional(), rawContent: z.string() })),
  failed: z.array(z.string()),
});

/**
 * @tavily/core turns every HTTP failure into a plain Error whose message is either
 * `"<status> Error: <body>"` or the API's `detail.error` text, and timeouts into "Request timed out".
 * The status and Retry-After header are not kept, so we read them back out of the message.
 */
export function classifyTavilyError(err: unknown): FailureClass {
  const message = err instanceof Error ? err.message : String(err);
  const status = Number(/^(\d{3}) Error/.exec(message)?.[1] ?? NaN);
  const retryAfterSec = /retry[ _-]?after[^0-9]{0,12}(\d+(?:\.\d+)?)/i.exec(message)?.[1];
  const retryAfterMs = retryAfterSec !== undefined ? Math.ceil(Number(retryAfterSec) * 1000) : undefined;
  const withWait = (c: FailureClass): FailureClass => (retryAfterMs !== undefined ? { ...c, retryAfterMs } : c);
  if (status === 429 || /rate limit|too many requests|excessive requests/i.test(message))
    return withWait({ retryable: true, reason: 'rate limited' });
  if (status >= 500 || status === 408) return withWait({ retryable: true, reason: `server error ${status}` });
  if (/timed out|timeout/i.test(message)) return { retryable: true, reason: 'timed out' };
  if (
    /unexpected error occurred|ECONNRESET|ECONNREFUSED|socket hang up|Unexpected token|JSON|Cannot read propert/i.test(
      message,
    )
  ) {
    return { retryable: true, reason: 'connection or response error' };
  }
  return { retryable: false, reason: message.slice(0, 200) };
}

export function createTavilySearch(opts: TavilyOptions): SearchProvider {
  const client = tavily({
    apiKey: opts.apiKey,
    ...(opts.apiUrl ? { apiBaseURL: opts.apiUrl.replace(/\/+$/, '') } : {}),
  });
  const prefix = opts.cachePrefix ?? 'pmf:cache:';
  const timeoutSeconds = opts.timeoutMs / 1000;
  const policy = { ...DEFAULT_RETRY_POLICY, maxRetries: opts.maxRetries };

  // The cache is an optimisation: a Redis error or a corrupt entry is a miss, never a failed research.
  async function cached<T>(key: string, schema: z.ZodType<T>): Promise<T | undefined> {
    if (opts.cacheTtlSeconds <= 0) return undefined;
    try {
      const raw = await opts.redis.get(key);
      if (raw === null) return undefined;
      const parsed = schema.safeParse(JSON.parse(raw));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }

  async function store(key: string, value: unknown): Promise<void> {
    if (opts.cacheTtlSeconds <= 0) return;
    await opts.redis.set(key, JSON.stringify(value), 'EX', opts.cacheTtlSeconds).catch(() => undefined);
  }

  async function call<T>(what: 'search' | 'extract', fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const outcome = await withRetry(
      () => observed('tavily', what, classifyTavilyError, () => raceAbort(fn(), signal)),
      {
        policy,
        classify: classifyTavilyError,
        ...(signal ? { signal } : {}),
        ...(opts.sleep ? { sleep: opts.sleep } : {}),
      },
    );
    if (outcome.ok) return outcome.value;
    const transient = outcome.failure.retryable;
    throw new ResearchError(
      transient
        ? 'Web search is temporarily unavailable. Please try again in a few minutes.'
        : 'Web search failed: the search provider rejected the request.',
      `tavily ${what} failed after ${outcome.attempts} attempt(s) (${outcome.why}): ${outcome.failure.reason}`,
      transient,
    );
  }

  // Identical requests in flight in this process share one Tavily call (decision 021): the first caller
  // pays, the others count a cache hit. If the first caller aborts, the others make their own call.
  const inflight = new Map<string, Promise<{ value: unknown; credits: number }>>();

  async function once<T>(
    key: string,
    schema: z.ZodType<T>,
    meter: UsageMeter,
    signal: AbortSignal | undefined,
    fetchFresh: () => Promise<{ value: T; credits: number }>,
  ): Promise<T> {
    const hit = await cached(key, schema);
    if (hit) {
      meter.recordTavily(0, true);
      return hit;
    }
    const shared = inflight.get(key);
    if (shared) {
      try {
        const { value } = await raceAbort(shared, signal);
        meter.recordTavily(0, true);
        return schema.parse(value);
      } catch (err) {
        if (!(err instanceof AbortedError) || signal?.aborted) throw err;
      }
    }
    const mine = fetchFresh().then(async (fresh) => {
      await store(key, fresh.value);
      return fresh;
    });
    inflight.set(key, mine);
    try {
      const { value, credits } = await mine;
      meter.recordTavily(credits, false);
      return value;
    } finally {
      if (inflight.get(key) === mine) inflight.delete(key);
    }
  }

  return {
    search(req, meter, signal) {
      return once(cacheKey(prefix, 'search', normalizeSearch(req)), cachedSearchSchema, meter, signal, async () => {
        const response = await call(
          'search',
          () =>
            client.search(req.query, {
              searchDepth: req.searchDepth,
              maxResults: req.maxResults,
              timeout: timeoutSeconds,
            }),
          signal,
        );
        const hits = response.results.map((r) => ({
          url: r.url,
          title: r.title ?? '',
          content: r.content ?? '',
          score: r.score ?? 0,
        }));
        return { value: hits, credits: searchCredits(req.searchDepth) };
      });
    },

    async extract(req, meter, signal) {
      if (req.urls.length === 0) return { pages: [], failed: [] };
      return once(cacheKey(prefix, 'extract', normalizeExtract(req)), cachedExtractSchema, meter, signal, async () => {
        const response = await call(
          'extract',
          () => client.extract(req.urls, { extractDepth: req.extractDepth, timeout: timeoutSeconds }),
          signal,
        );
        const pages = response.results.map((r) => ({
          url: r.url,
          ...(r.title ? { title: r.title } : {}),
          rawContent: r.rawContent ?? '',
        }));
        const failed = response.failedResults.map((f) => f.url);
        return { value: { pages, failed }, credits: extractCredits(req.extractDepth, pages.length) };
      });
    },
  };
}
