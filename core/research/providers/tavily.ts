// Tavily search/extract behind a small port, with a Redis cache, retries and credit accounting.
// The official @tavily/core client does the HTTP; see docs/decisions/021 (cache), 022 (retries), 027 (errors)
// and 028 (parameter ranges).
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { tavily } from '@tavily/core';
import axios, { isAxiosError } from 'axios';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { ResearchError, type ProviderFailure, type ProviderFailureKind } from '../contract.js';
import { observed } from './observe.js';
import {
  AbortedError,
  DEFAULT_RETRY_POLICY,
  parseRetryAfter,
  raceAbort,
  withRetry,
  type FailureClass,
  type Sleep,
} from './retry.js';
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
function searchCredits(depth: SearchRequest['searchDepth']): number {
  return depth === 'advanced' ? 2 : 1;
}

function extractCredits(depth: ExtractRequest['extractDepth'], successfulUrls: number): number {
  return Math.ceil(successfulUrls / 5) * (depth === 'advanced' ? 2 : 1);
}

/** URL identity for the cache: trimmed, scheme and host lower-cased by WHATWG parsing, no fragment. */
function normalizeUrl(url: string): string {
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

// Tavily's documented request ranges (docs.tavily.com API reference, decision 028).
/** Tavily answers 400 "Query is too long. Max query length is 400 characters." above this. */
export const MAX_QUERY_CHARS = 400;
/** `max_results`: 0 ≤ x ≤ 20. */
const MAX_RESULTS_LIMIT = 20;
/** Extract `timeout`: 1.0 ≤ x ≤ 60.0 seconds. */
const EXTRACT_TIMEOUT_RANGE_S = { min: 1, max: 60 } as const;

/** The extract `timeout` Tavily accepts, whatever PROVIDER_TIMEOUT_MS says. */
export function extractTimeoutSeconds(timeoutMs: number): number {
  return Math.min(EXTRACT_TIMEOUT_RANGE_S.max, Math.max(EXTRACT_TIMEOUT_RANGE_S.min, timeoutMs / 1000));
}

// Words that carry no search meaning: dropped first when a query must be shortened.
const FILLER = new Set(
  (
    'a an the and or but of for to in on at by with from into onto that which who whom whose this these those ' +
    'is are was were be been being it its as than so such very really just also about our your their my we you ' +
    'they i me us them there here can could would should will shall may might do does did has have had'
  ).split(' '),
);

/**
 * A query within Tavily's length limit. One that fits is sent as it is. A longer one (a long idea, a
 * verbose planner) loses filler words and repeated words first, keeping the order of the rest, and is then
 * cut at a word boundary: the content words at its start (the product and its market) survive.
 */
export function fitSearchQuery(query: string, max = MAX_QUERY_CHARS): string {
  if (query.length <= max) return query;
  const seen = new Set<string>();
  const words = query.split(/\s+/).filter((word) => {
    const key = word.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '');
    if (key === '' || FILLER.has(key) || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  let out = '';
  for (const word of words) {
    const next = out ? `${out} ${word}` : word;
    if (next.length > max) break;
    out = next;
  }
  // Only a first "word" longer than the limit leaves nothing: cut it.
  return out || query.trim().slice(0, max);
}

/** What a failed Tavily call means: a ProviderFailureKind, or a request Tavily found invalid (our bug). */
export type TavilyFailureClass = FailureClass & { kind: ProviderFailureKind | 'bad_request' };

/** The status and Retry-After of a failed Tavily response, as the HTTP layer saw them. */
export type TavilyHttp = { status?: number; retryAfter?: string };

/**
 * @tavily/core turns an HTTP failure into a plain Error and keeps neither the status nor the headers: the
 * message is `"<status> Error: <body>"` — unless the body is Tavily's documented `{"detail":{"error":…}}`,
 * when the message is only that text. A 5xx with such a JSON body therefore used to look like a permanent
 * error, and no Retry-After ever reached us. So each attempt runs in an AsyncLocalStorage scope and an axios
 * response interceptor (axios is the HTTP client @tavily/core uses) notes the status and Retry-After of a
 * failed response there. It only observes, and only inside our scope: every other axios user is untouched.
 */
const seenHttp = new AsyncLocalStorage<TavilyHttp>();
let observing = false;

function observeTavilyHttp(): void {
  if (observing) return;
  observing = true;
  axios.interceptors.response.use(undefined, (err: unknown) => {
    const seen = seenHttp.getStore();
    if (seen && isAxiosError(err) && err.response) {
      seen.status = err.response.status;
      const retryAfter: unknown = err.response.headers['retry-after'];
      if (typeof retryAfter === 'string') seen.retryAfter = retryAfter;
    }
    return Promise.reject(err);
  });
}

/**
 * Classifies a failed call by Tavily's documented errors (docs.tavily.com, help.tavily.com "Errors Code"):
 * 401 bad key, 429 rate limit, 432 plan limit, 433 pay-as-you-go limit, 5xx server error, 400 invalid
 * parameters. `http` is what the interceptor saw; without it the status is read from the message, and the
 * documented message texts stand in for a status the client dropped.
 */
export function classifyTavilyError(err: unknown, http: TavilyHttp = {}, now = Date.now()): TavilyFailureClass {
  const message = err instanceof Error ? err.message : String(err);
  const status = http.status ?? Number(/^(\d{3}) Error/.exec(message)?.[1] ?? NaN);
  const said = message.replace(/\s+/g, ' ').slice(0, 200);
  const headerWait = parseRetryAfter({ retryAfter: http.retryAfter ?? null }, now);
  const textWait = /retry[ _-]?after[^0-9]{0,12}(\d+(?:\.\d+)?)/i.exec(message)?.[1];
  const retryAfterMs = headerWait ?? (textWait !== undefined ? Math.ceil(Number(textWait) * 1000) : undefined);
  const withWait = (c: TavilyFailureClass): TavilyFailureClass =>
    retryAfterMs !== undefined ? { ...c, retryAfterMs } : c;
  const code = Number.isNaN(status) ? '' : ` ${status}`;

  // A status, when known, decides; the documented texts only stand in for one the client dropped.
  const known = !Number.isNaN(status);
  const is = (s: number, text: RegExp): boolean => (known ? status === s : text.test(message));
  if (is(401, /unauthorized|invalid api key|missing api key/i))
    return { retryable: false, kind: 'bad_credentials', reason: `bad credentials${code}: ${said}` };
  if (is(432, /exceeds your plan'?s set usage limit/i))
    return { retryable: false, kind: 'quota_exhausted', reason: `plan limit${code}: ${said}` };
  if (is(433, /pay-as-you-go limit/i))
    return { retryable: false, kind: 'quota_exhausted', reason: `pay-as-you-go limit${code}: ${said}` };
  if (is(429, /rate limit|too many requests|excessive requests/i))
    return withWait({ retryable: true, kind: 'rate_limited', reason: 'rate limited' });
  if (status >= 500 || status === 408)
    return withWait({ retryable: true, kind: 'transient', reason: `server error ${status}` });
  if (!known && /timed out|timeout/i.test(message)) return { retryable: true, kind: 'transient', reason: 'timed out' };
  if (
    !known &&
    /unexpected error occurred|ECONNRESET|ECONNREFUSED|socket hang up|Unexpected token|JSON|Cannot read propert/i.test(
      message,
    )
  ) {
    return { retryable: true, kind: 'transient', reason: 'connection or response error' };
  }
  return { retryable: false, kind: 'bad_request', reason: `request rejected${code}: ${said}` };
}

/** What the requester reads (Slack, Discord, console); operators get the detail. Never a key or a URL. */
function userMessageFor(f: TavilyFailureClass): string {
  switch (f.kind) {
    case 'bad_credentials':
      return "Web search is not available: the search provider (Tavily) rejected the bot's API key. An admin needs to fix the bot's setup.";
    case 'quota_exhausted':
      return /pay-as-you-go/.test(f.reason)
        ? "Web search is not available: the bot's Tavily account reached its pay-as-you-go limit. An admin needs to raise it on the Tavily dashboard."
        : "Web search is not available: the bot's Tavily plan has used up its credits. An admin needs to upgrade the plan on the Tavily dashboard.";
    case 'rate_limited':
      return 'Web search is busy (the search provider is rate-limiting us). Please try again in a few minutes.';
    case 'bad_request':
      return 'The search provider rejected our request as invalid. This is a problem in the bot, not in your idea; an admin can see the details.';
    default:
      return 'Web search is temporarily unavailable. Please try again in a few minutes.';
  }
}

/** The setting an admin changes for each permanent refusal (ProviderFailure.setting). */
const TAVILY_SETTING: Partial<Record<ProviderFailureKind, string>> = {
  bad_credentials: 'TAVILY_API_KEY',
  quota_exhausted: 'the Tavily plan',
};

function tavilyResearchError(
  what: 'search' | 'extract',
  outcome: { failure: TavilyFailureClass; attempts: number; why: string },
): ResearchError {
  const f = outcome.failure;
  const setting = f.kind === 'bad_request' ? undefined : TAVILY_SETTING[f.kind];
  const failure: ProviderFailure | undefined =
    f.kind === 'bad_request' ? undefined : { provider: 'tavily', kind: f.kind, ...(setting ? { setting } : {}) };
  return new ResearchError(
    userMessageFor(f),
    `tavily ${what} failed after ${outcome.attempts} attempt(s) (${outcome.why}): ${f.reason}`,
    f.retryable,
    failure,
  );
}

export function createTavilySearch(opts: TavilyOptions): SearchProvider {
  const client = tavily({
    apiKey: opts.apiKey,
    ...(opts.apiUrl ? { apiBaseURL: opts.apiUrl.replace(/\/+$/, '') } : {}),
  });
  observeTavilyHttp();
  const prefix = opts.cachePrefix ?? 'pmf:cache:';
  const timeoutSeconds = opts.timeoutMs / 1000;
  const extractTimeout = extractTimeoutSeconds(opts.timeoutMs);
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
    // Each attempt gets its own scope, so the status it reads is its own response's.
    let http: TavilyHttp = {};
    const classify = (err: unknown): TavilyFailureClass => classifyTavilyError(err, http);
    const outcome = await withRetry(
      () => {
        http = {};
        const scope = http;
        return observed('tavily', what, classify, () => raceAbort(seenHttp.run(scope, fn), signal));
      },
      {
        policy,
        classify,
        ...(signal ? { signal } : {}),
        ...(opts.sleep ? { sleep: opts.sleep } : {}),
      },
    );
    if (outcome.ok) return outcome.value;
    throw tavilyResearchError(what, outcome);
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
    search(asked, meter, signal) {
      // The cache key is made from what is sent, so a shortened query and its original share an entry.
      const req: SearchRequest = {
        ...asked,
        query: fitSearchQuery(asked.query),
        maxResults: Math.min(MAX_RESULTS_LIMIT, Math.max(0, Math.floor(asked.maxResults))),
      };
      return once(cacheKey(prefix, 'search', normalizeSearch(req)), cachedSearchSchema, meter, signal, async () => {
        const response = await call(
          'search',
          () =>
            client.search(req.query, {
              searchDepth: req.searchDepth,
              maxResults: req.maxResults,
              // Search sends no timeout to Tavily: this is only how long the client waits.
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
          // @tavily/core sends this as the body's `timeout` and also waits this long for the answer.
          () => client.extract(req.urls, { extractDepth: req.extractDepth, timeout: extractTimeout }),
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
