// The Tavily client against the sandbox over real HTTP: search, extract, cache, credits and every documented
// error. Long because each documented answer of the API is a case; they share one sandbox and one Redis.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { testRedis, uniquePrefix } from '../../../test/helpers/storage.js';
import { startSandbox, type Sandbox } from '../../sandbox/index.js';
import { ResearchError } from '../contract.js';
import { abortableSleep, type Sleep } from './retry.js';
import {
  MAX_QUERY_CHARS,
  cacheKey,
  classifyTavilyError,
  createTavilySearch,
  extractTimeoutSeconds,
  fitSearchQuery,
  normalizeExtract,
  normalizeSearch,
  type TavilyOptions,
} from './tavily.js';
import { UsageMeter } from './usage.js';

const redis = testRedis();
const prefix = uniquePrefix('tavily');
let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await startSandbox({ port: 0 });
});

afterEach(() => sandbox.clearFaults());

afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
  await sandbox.close();
});

/** Records every wait the retry policy asks for, and really waits (so Retry-After is observable). */
function recordingSleep(): { sleep: Sleep; waits: number[] } {
  const waits: number[] = [];
  return { waits, sleep: (ms, signal) => (waits.push(ms), abortableSleep(Math.min(ms, 1500), signal)) };
}

let n = 0;
function provider(overrides: Partial<TavilyOptions> = {}) {
  return createTavilySearch({
    apiKey: 'tvly-test',
    apiUrl: sandbox.tavilyUrl,
    redis,
    cachePrefix: `${prefix}${++n}:`,
    cacheTtlSeconds: 3600,
    timeoutMs: 5000,
    maxRetries: 3,
    sleep: async () => undefined,
    ...overrides,
  });
}

describe('round trip through @tavily/core', () => {
  it('searches and extracts', async () => {
    const meter = new UsageMeter();
    const search = provider();
    const hits = await search.search(
      { query: 'dog sitter marketplace', searchDepth: 'advanced', maxResults: 20 },
      meter,
    );
    expect(hits).toHaveLength(20);
    expect(hits[0]).toEqual({
      url: expect.stringMatching(/^https:\/\//),
      title: expect.any(String),
      content: expect.stringMatching(/\d/),
      score: expect.any(Number),
    });
    const urls = [...hits.slice(0, 5).map((h) => h.url), 'https://dead.example/_broken/page'];
    const { pages, failed } = await search.extract({ urls, extractDepth: 'advanced' }, meter);
    expect(pages.map((p) => p.url)).toEqual(urls.slice(0, 5));
    expect(failed).toEqual(['https://dead.example/_broken/page']);
    for (const p of pages) expect(p.rawContent.split(/\s+/).length).toBeGreaterThanOrEqual(1500);
  });
});

describe('credits', () => {
  it.each<['basic' | 'advanced', number, number, number]>([
    ['basic', 1, 5, 1],
    ['basic', 1, 6, 2],
    ['advanced', 2, 5, 2],
    ['advanced', 2, 10, 4],
    ['advanced', 2, 11, 6],
  ])('%s search costs %i; extract of %i URLs costs %i', async (depth, searchCost, urlCount, extractCost) => {
    const search = provider();
    const meter = new UsageMeter();
    const hits = await search.search(
      { query: `credits ${depth} ${urlCount}`, searchDepth: depth, maxResults: 20 },
      meter,
    );
    expect(meter.snapshot()).toMatchObject({ tavilyCalls: 1, tavilyCredits: searchCost, cacheHits: 0 });
    await search.extract({ urls: hits.slice(0, urlCount).map((h) => h.url), extractDepth: depth }, meter);
    expect(meter.snapshot()).toMatchObject({ tavilyCalls: 2, tavilyCredits: searchCost + extractCost, cacheHits: 0 });
  });
});

describe('cache', () => {
  it('serves a repeated (normalized) request from Redis for 0 credits and counts the hit', async () => {
    const search = provider();
    const cold = new UsageMeter();
    const hits = await search.search({ query: 'Meal Kits for  Students', searchDepth: 'basic', maxResults: 10 }, cold);
    const urls = hits.slice(0, 5).map((h) => h.url);
    await search.extract({ urls, extractDepth: 'basic' }, cold);
    const callsBefore = { ...sandbox.calls };

    const warm = new UsageMeter();
    const again = await search.search(
      { query: '  meal kits for students ', searchDepth: 'basic', maxResults: 10 },
      warm,
    );
    const pages = await search.extract({ urls: [...urls].reverse(), extractDepth: 'basic' }, warm);
    expect(again).toEqual(hits);
    expect(pages.pages).toHaveLength(5);
    expect(warm.snapshot()).toMatchObject({ tavilyCalls: 0, tavilyCredits: 0, cacheHits: 2 });
    expect(sandbox.calls.search).toBe(callsBefore.search);
    expect(sandbox.calls.extract).toBe(callsBefore.extract);
  });

  it('keys on depth and result count, and expires after the configured TTL', async () => {
    expect(normalizeSearch({ query: 'A  b', searchDepth: 'basic', maxResults: 5 })).toBe(
      normalizeSearch({ query: ' a b ', searchDepth: 'basic', maxResults: 5 }),
    );
    expect(normalizeSearch({ query: 'a b', searchDepth: 'basic', maxResults: 5 })).not.toBe(
      normalizeSearch({ query: 'a b', searchDepth: 'advanced', maxResults: 5 }),
    );
    expect(normalizeExtract({ urls: ['https://B.example/x', 'https://a.example/y#frag'], extractDepth: 'basic' })).toBe(
      normalizeExtract({ urls: ['https://a.example/y', ' https://b.example/x'], extractDepth: 'basic' }),
    );
    const cachePrefix = `${prefix}ttl:`;
    const search = provider({ cachePrefix, cacheTtlSeconds: 123 });
    const req = { query: 'ttl check', searchDepth: 'basic' as const, maxResults: 3 };
    await search.search(req, new UsageMeter());
    const ttl = await redis.ttl(cacheKey(cachePrefix, 'search', normalizeSearch(req)));
    expect(ttl).toBeGreaterThan(100);
    expect(ttl).toBeLessThanOrEqual(123);
  });

  it('treats a corrupt cache entry as a miss and overwrites it', async () => {
    const cachePrefix = `${prefix}corrupt:`;
    const req = { query: 'corrupt entry', searchDepth: 'basic' as const, maxResults: 3 };
    const key = cacheKey(cachePrefix, 'search', normalizeSearch(req));
    await redis.set(key, '{"not": "hits"', 'EX', 60);
    const meter = new UsageMeter();
    await expect(provider({ cachePrefix }).search(req, meter)).resolves.toHaveLength(3);
    expect(meter.snapshot()).toMatchObject({ tavilyCalls: 1, cacheHits: 0 });
    expect(JSON.parse((await redis.get(key))!)).toHaveLength(3);
  });

  it('shares one call between identical concurrent requests; the others count a cache hit', async () => {
    const search = provider();
    sandbox.setLatency({ search: 150 });
    try {
      const before = sandbox.calls.search;
      const meters = [new UsageMeter(), new UsageMeter(), new UsageMeter()];
      const req = { query: 'concurrent twins', searchDepth: 'advanced' as const, maxResults: 5 };
      const results = await Promise.all(meters.map((m) => search.search(req, m)));
      expect(results[1]).toEqual(results[0]);
      expect(sandbox.calls.search - before).toBe(1);
      expect(meters.map((m) => m.snapshot().tavilyCredits).sort()).toEqual([0, 0, 2]);
      expect(meters.map((m) => m.snapshot().cacheHits).sort()).toEqual([0, 1, 1]);
    } finally {
      sandbox.setLatency({ search: 0 });
    }
  });

  it('lets a waiting request make its own call when the one it shared was aborted', async () => {
    const search = provider();
    sandbox.setLatency({ search: 300 });
    try {
      const before = sandbox.calls.search;
      const req = { query: 'leader aborts', searchDepth: 'basic' as const, maxResults: 5 };
      const controller = new AbortController();
      const leader = search.search(req, new UsageMeter(), controller.signal);
      const followerMeter = new UsageMeter();
      const follower = search.search(req, followerMeter);
      while (sandbox.calls.search === before) await new Promise((r) => setTimeout(r, 10));
      controller.abort();
      await expect(leader).rejects.toMatchObject({ name: 'AbortError' });
      await expect(follower).resolves.toHaveLength(5);
      expect(followerMeter.snapshot()).toMatchObject({ tavilyCalls: 1, tavilyCredits: 1, cacheHits: 0 });
    } finally {
      sandbox.setLatency({ search: 0 });
    }
  });

  it('does not cache when the TTL is 0', async () => {
    const search = provider({ cacheTtlSeconds: 0 });
    const meter = new UsageMeter();
    await search.search({ query: 'no cache', searchDepth: 'basic', maxResults: 3 }, meter);
    await search.search({ query: 'no cache', searchDepth: 'basic', maxResults: 3 }, meter);
    expect(meter.snapshot()).toMatchObject({ tavilyCalls: 2, tavilyCredits: 2, cacheHits: 0 });
  });
});

describe('faults', () => {
  it('honours Retry-After on 429, then succeeds', async () => {
    const { sleep, waits } = recordingSleep();
    const search = provider({ sleep });
    sandbox.injectFault('search', { kind: 'rate_limit', retryAfterSeconds: 1 });
    const before = sandbox.calls.search;
    const meter = new UsageMeter();
    await expect(
      search.search({ query: 'rate limited', searchDepth: 'basic', maxResults: 3 }, meter),
    ).resolves.toHaveLength(3);
    expect(sandbox.calls.search - before).toBe(2);
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThanOrEqual(1000);
    expect(waits[0]).toBeLessThanOrEqual(1100);
    expect(meter.snapshot().tavilyCredits).toBe(1);
  });

  it.each([
    ['server_error', { kind: 'server_error' as const }],
    ['malformed', { kind: 'malformed' as const }],
  ])('retries a %s and succeeds', async (_name, fault) => {
    const search = provider();
    sandbox.injectFault('extract', fault, 2);
    const before = sandbox.calls.extract;
    const { pages } = await search.extract(
      { urls: ['https://www.x-insights.example/report/solar-robots/1'], extractDepth: 'basic' },
      new UsageMeter(),
    );
    expect(pages).toHaveLength(1);
    expect(sandbox.calls.extract - before).toBe(3);
  });

  it('retries a hang past the timeout, and fails with a clear retryable ResearchError when it persists', async () => {
    const search = provider({ timeoutMs: 300, maxRetries: 1 });
    sandbox.injectFault('search', { kind: 'hang' }, 2);
    const before = sandbox.calls.search;
    const err = await search
      .search({ query: 'hangs', searchDepth: 'basic', maxResults: 3 }, new UsageMeter())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ResearchError);
    expect(err).toMatchObject({
      retryable: true,
      detail: expect.stringMatching(/tavily search failed after 2 attempt\(s\) \(exhausted\): timed out/),
    });
    expect(sandbox.calls.search - before).toBe(2);
  });

  it('gives up after PROVIDER_MAX_RETRIES server errors', async () => {
    const search = provider({ maxRetries: 2 });
    sandbox.injectFault('search', { kind: 'server_error' }, 5);
    const meter = new UsageMeter();
    await expect(search.search({ query: 'down', searchDepth: 'basic', maxResults: 3 }, meter)).rejects.toMatchObject({
      name: 'ResearchError',
      retryable: true,
      userMessage: expect.stringMatching(/temporarily unavailable/),
      detail: expect.stringMatching(/after 3 attempt\(s\).*server error 500/),
    });
    expect(meter.snapshot()).toMatchObject({ tavilyCalls: 0, tavilyCredits: 0 });
  });

  it('does not retry a rejected request', async () => {
    const search = provider();
    const before = sandbox.calls.search;
    await expect(
      search.search({ query: ' ', searchDepth: 'basic', maxResults: 3 }, new UsageMeter()),
    ).rejects.toMatchObject({ name: 'ResearchError', retryable: false });
    expect(sandbox.calls.search - before).toBe(1);
  });

  it('stops promptly on abort, without retrying', async () => {
    const search = provider({ timeoutMs: 30_000 });
    sandbox.injectFault('search', { kind: 'hang' }, 5);
    const before = sandbox.calls.search;
    const controller = new AbortController();
    const run = search.search(
      { query: 'abort me', searchDepth: 'basic', maxResults: 3 },
      new UsageMeter(),
      controller.signal,
    );
    while (sandbox.calls.search === before) await new Promise((r) => setTimeout(r, 10));
    const started = Date.now();
    controller.abort();
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    // Far below the 30 s client timeout: the abort, not the timeout, ended the call.
    expect(Date.now() - started).toBeLessThan(5000);
    expect(sandbox.calls.search - before).toBe(1);
  });
});

describe('classifying what @tavily/core throws (pure)', () => {
  const detail = (text: string) => new Error(text); // the client's message for a {"detail":{"error"}} body
  it.each<[string, Error, { status?: number; retryAfter?: string }, object]>([
    [
      '401 with the documented body',
      detail('Unauthorized: missing or invalid API key.'),
      { status: 401 },
      { kind: 'bad_credentials', retryable: false },
    ],
    [
      '401 seen only in the text',
      detail('Unauthorized: missing or invalid API key.'),
      {},
      { kind: 'bad_credentials', retryable: false },
    ],
    [
      '432',
      detail(
        "This request exceeds your plan's set usage limit. Please upgrade your plan or contact support@tavily.com",
      ),
      { status: 432 },
      { kind: 'quota_exhausted', retryable: false },
    ],
    [
      '433 seen only in the text',
      detail('This request exceeds the pay-as-you-go limit. You can increase your limit on the Tavily dashboard.'),
      {},
      { kind: 'quota_exhausted', retryable: false },
    ],
    [
      '429 with Retry-After',
      detail('Your request has been blocked due to excessive requests. Please reduce rate of requests.'),
      { status: 429, retryAfter: '7' },
      { kind: 'rate_limited', retryable: true, retryAfterMs: 7000 },
    ],
    [
      '500 with a JSON body (the status only the interceptor saw)',
      detail('Internal Server Error'),
      { status: 500 },
      { kind: 'transient', retryable: true },
    ],
    ['502 with a plain body', new Error('502 Error: "502 Bad Gateway"'), {}, { kind: 'transient', retryable: true }],
    ['a timeout', new Error('Request timed out after 30 seconds.'), {}, { kind: 'transient', retryable: true }],
    [
      'a status decides over the text',
      detail('Invalid rate limit setting.'),
      { status: 400 },
      { kind: 'bad_request', retryable: false },
    ],
    [
      '400 out of range',
      detail('Query is too long. Max query length is 400 characters.'),
      { status: 400 },
      { kind: 'bad_request', retryable: false },
    ],
  ])('%s', (_name, err, http, expected) => {
    expect(classifyTavilyError(err, http)).toMatchObject(expected);
  });

  it('reads an HTTP-date Retry-After', () => {
    const now = Date.parse('2026-12-04T12:00:00Z');
    const c = classifyTavilyError(
      detail('Too many requests'),
      { status: 429, retryAfter: 'Fri, 04 Dec 2026 12:00:05 GMT' },
      now,
    );
    expect(c.retryAfterMs).toBe(5000);
  });
});

describe("request parameters stay inside Tavily's documented ranges (pure)", () => {
  it('clamps the extract timeout to 1–60 s', () => {
    expect(extractTimeoutSeconds(120_000)).toBe(60);
    expect(extractTimeoutSeconds(60_000)).toBe(60);
    expect(extractTimeoutSeconds(25_000)).toBe(25);
    expect(extractTimeoutSeconds(300)).toBe(1);
  });

  it('sends a query that fits as it is', () => {
    const q = `dog sitter  marketplace ${'x'.repeat(300)}`;
    expect(fitSearchQuery(q)).toBe(q);
  });

  it('shortens a long query at a word boundary, dropping filler and repeats before content words', () => {
    const idea =
      'An app that matches dog owners with vetted sitters in their neighbourhood, and that lets the owners ' +
      'book the sitters for walks and for overnight stays. '.repeat(12);
    const q = fitSearchQuery(idea);
    expect(q.length).toBeLessThanOrEqual(MAX_QUERY_CHARS);
    expect(q.startsWith('app matches dog owners vetted sitters neighbourhood, lets book walks overnight stays.')).toBe(
      true,
    );
    expect(q.split(' ').every((w) => idea.includes(w))).toBe(true);
    const words = Array.from({ length: 120 }, (_, i) => `word${i}`).join(' ');
    const cut = fitSearchQuery(words);
    expect(cut.length).toBeLessThanOrEqual(MAX_QUERY_CHARS);
    expect(words.startsWith(cut)).toBe(true);
    expect(words.charAt(cut.length)).toBe(' ');
    expect(fitSearchQuery('y'.repeat(900))).toHaveLength(MAX_QUERY_CHARS);
  });
});

describe('documented Tavily errors through @tavily/core', () => {
  const search = (p: ReturnType<typeof provider>, query: string) =>
    p.search({ query, searchDepth: 'basic', maxResults: 3 }, new UsageMeter());

  it.each<[string, number, object, RegExp]>([
    ['401 bad key', 401, { provider: 'tavily', kind: 'bad_credentials', setting: 'TAVILY_API_KEY' }, /API key/],
    [
      '432 plan limit',
      432,
      { provider: 'tavily', kind: 'quota_exhausted', setting: 'the Tavily plan' },
      /upgrade the plan/,
    ],
    [
      '433 pay-as-you-go limit',
      433,
      { provider: 'tavily', kind: 'quota_exhausted', setting: 'the Tavily plan' },
      /pay-as-you-go/,
    ],
  ])(
    '%s: a ResearchError naming the cause, after one attempt, for no credits',
    async (_name, status, failure, said) => {
      const p = provider();
      sandbox.injectFault('search', { kind: 'tavily_error', status }, 5);
      const before = sandbox.calls.search;
      const meter = new UsageMeter();
      const err = await p
        .search({ query: `refused ${status}`, searchDepth: 'basic', maxResults: 3 }, meter)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ResearchError);
      expect(err).toMatchObject({ retryable: false, failure, userMessage: expect.stringMatching(said) });
      expect(sandbox.calls.search - before).toBe(1);
      expect(meter.snapshot()).toMatchObject({ tavilyCalls: 0, tavilyCredits: 0 });
    },
  );

  it.each<[string, Parameters<Sandbox['injectFault']>[1]]>([
    ['500 with a JSON body', { kind: 'tavily_error', status: 500 }],
    ['503 with a JSON body', { kind: 'tavily_error', status: 503 }],
    ['502 with a plain body', { kind: 'tavily_error', status: 502, plain: true }],
  ])('retries a %s and succeeds', async (_name, fault) => {
    sandbox.injectFault('search', fault, 2);
    const before = sandbox.calls.search;
    await expect(search(provider(), `transient ${_name}`)).resolves.toHaveLength(3);
    expect(sandbox.calls.search - before).toBe(3);
  });

  it('honours Retry-After on a 503 too', async () => {
    const { sleep, waits } = recordingSleep();
    sandbox.injectFault('extract', { kind: 'tavily_error', status: 503, retryAfterSeconds: 1 });
    const { pages } = await provider({ sleep }).extract(
      { urls: ['https://www.x-insights.example/report/solar-robots/2'], extractDepth: 'basic' },
      new UsageMeter(),
    );
    expect(pages).toHaveLength(1);
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThanOrEqual(1000);
    expect(waits[0]).toBeLessThanOrEqual(1100);
  });

  it('names a 400 a permanent error of the request, without blaming the idea or an admin setting', async () => {
    sandbox.injectFault('search', { kind: 'tavily_error', status: 400 });
    const before = sandbox.calls.search;
    const err = await search(provider(), 'bad request').catch((e: unknown) => e);
    expect(err).toMatchObject({
      name: 'ResearchError',
      retryable: false,
      failure: undefined,
      userMessage: expect.stringMatching(/rejected our request as invalid/),
      detail: expect.stringMatching(/request rejected 400: Bad Request/),
    });
    expect(sandbox.calls.search - before).toBe(1);
  });

  it('gives up on a 429 whose Retry-After is longer than we wait, as retryable and rate limited', async () => {
    sandbox.injectFault('search', { kind: 'rate_limit', retryAfterSeconds: 3600 });
    const err = await search(provider(), 'long wait').catch((e: unknown) => e);
    expect(err).toMatchObject({
      retryable: true,
      failure: { provider: 'tavily', kind: 'rate_limited' },
      detail: expect.stringMatching(/retry_after_too_long/),
    });
  });

  it('sends an extract timeout Tavily accepts when PROVIDER_TIMEOUT_MS is above 60 s', async () => {
    // The sandbox answers 400 for a timeout outside 1–60 s, as Tavily documents.
    const { pages } = await provider({ timeoutMs: 120_000 }).extract(
      { urls: ['https://www.x-insights.example/report/solar-robots/3'], extractDepth: 'advanced' },
      new UsageMeter(),
    );
    expect(pages).toHaveLength(1);
  });

  it("sends a long query shortened to Tavily's limit, and caches it under what was sent", async () => {
    const p = provider();
    const long = `An app that matches dog owners with vetted sitters ${'in their busy neighbourhood '.repeat(40)}`;
    const meter = new UsageMeter();
    await expect(p.search({ query: long, searchDepth: 'basic', maxResults: 3 }, meter)).resolves.toHaveLength(3);
    await p.search({ query: fitSearchQuery(long), searchDepth: 'basic', maxResults: 3 }, meter);
    expect(meter.snapshot()).toMatchObject({ tavilyCalls: 1, cacheHits: 1 });
  });
});
