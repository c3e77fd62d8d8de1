import { describe, expect, it } from '@jest/globals';
import {
  backoffDelayMs,
  decideRetry,
  parseRetryAfter,
  withRetry,
  type FailureClass,
  type RetryPolicy,
} from './retry.js';
import { classifyTavilyError } from './tavily.js';
import { classifyLlmError } from './llm-errors.js';

const policy: RetryPolicy = { maxRetries: 3, baseDelayMs: 500, maxDelayMs: 8000, maxRetryAfterMs: 60_000 };
const NOW = Date.parse('2025-01-01T00:00:00Z');

describe('backoffDelayMs (equal jitter)', () => {
  it.each([
    [0, 0, 250],
    [0, 1, 500],
    [1, 0, 500],
    [2, 0.5, 1500],
    [3, 1, 4000],
    [5, 0, 4000],
    [9, 1, 8000],
  ])('attempt %i, random %f -> %i ms', (attempt, random, expected) => {
    expect(backoffDelayMs(attempt, policy, random)).toBe(expected);
  });
});

describe('parseRetryAfter', () => {
  it.each<[{ retryAfter?: string | null; retryAfterMs?: string | null }, number | undefined]>([
    [{ retryAfter: '1' }, 1000],
    [{ retryAfter: ' 2.5 ' }, 2500],
    [{ retryAfter: '0' }, 0],
    [{ retryAfter: 'Wed, 01 Jan 2025 00:00:30 GMT' }, 30_000],
    [{ retryAfter: 'Tue, 31 Dec 2024 23:59:00 GMT' }, 0],
    [{ retryAfter: 'soon' }, undefined],
    [{ retryAfter: '-3' }, undefined],
    [{ retryAfter: null }, undefined],
    [{}, undefined],
    [{ retryAfter: '5', retryAfterMs: '1200' }, 1200],
  ])('%j -> %s', (headers, expected) => {
    expect(parseRetryAfter(headers, NOW)).toBe(expected);
  });
});

describe('decideRetry', () => {
  const transient: FailureClass = { retryable: true, reason: 'server error 500' };
  it.each<[FailureClass, number, number, ReturnType<typeof decideRetry>]>([
    [{ retryable: false, reason: '401' }, 0, 0.5, { retry: false, why: 'not_retryable' }],
    [transient, 0, 0.5, { retry: true, delayMs: 375 }],
    [transient, 2, 0, { retry: true, delayMs: 1000 }],
    [transient, 3, 0.5, { retry: false, why: 'exhausted' }],
    [{ ...transient, retryAfterMs: 1000 }, 0, 0, { retry: true, delayMs: 1000 }],
    [{ ...transient, retryAfterMs: 1000 }, 0, 1, { retry: true, delayMs: 1100 }],
    [{ ...transient, retryAfterMs: 10_000 }, 1, 1, { retry: true, delayMs: 10_250 }],
    [{ ...transient, retryAfterMs: 120_000 }, 0, 0, { retry: false, why: 'retry_after_too_long' }],
    [{ ...transient, retryAfterMs: 1000 }, 3, 0, { retry: false, why: 'exhausted' }],
  ])('%j after attempt %i (random %f)', (failure, attempt, random, expected) => {
    expect(decideRetry(failure, attempt, policy, random)).toEqual(expected);
  });
});

describe('withRetry', () => {
  it('retries transient failures with the decided delays, then succeeds', async () => {
    const waits: number[] = [];
    let n = 0;
    const out = await withRetry(async () => (++n < 3 ? Promise.reject(new Error('boom')) : 'ok'), {
      policy,
      classify: () => ({ retryable: true, reason: 'x', retryAfterMs: 1000 }),
      random: () => 0,
      sleep: async (ms) => {
        waits.push(ms);
      },
    });
    expect(out).toEqual({ ok: true, value: 'ok', attempts: 3 });
    expect(waits).toEqual([1000, 1000]);
  });

  it('stops at once on a non-retryable failure and reports why', async () => {
    const out = await withRetry(() => Promise.reject(new Error('bad key')), {
      policy,
      classify: () => ({ retryable: false, reason: 'bad key' }),
    });
    expect(out).toMatchObject({ ok: false, attempts: 1, why: 'not_retryable' });
  });

  it('never retries after an abort', async () => {
    const controller = new AbortController();
    let n = 0;
    const run = withRetry(
      async () => {
        n++;
        controller.abort();
        throw new Error('network');
      },
      { policy, classify: () => ({ retryable: true, reason: 'x' }), signal: controller.signal },
    );
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(n).toBe(1);
  });
});

describe('error classification', () => {
  it.each<[string, Partial<FailureClass>]>([
    [
      'Rate limit exceeded: too many requests. Retry after 1 seconds.',
      { retryable: true, reason: 'rate limited', retryAfterMs: 1000 },
    ],
    ['429 Error: {"error":"slow down"}', { retryable: true, reason: 'rate limited' }],
    ['500 Error: {"error":"Internal Server Error"}', { retryable: true, reason: 'server error 500' }],
    ['Request timed out after 0.3 seconds.', { retryable: true, reason: 'timed out' }],
    [
      "An unexpected error occurred while making the request. Error: TypeError: Cannot read properties of undefined (reading 'map')",
      { retryable: true },
    ],
    ['Unauthorized: missing or invalid API key.', { retryable: false }],
    ['Invalid request: query is required.', { retryable: false }],
  ])('tavily: %s', (message, expected) => {
    expect(classifyTavilyError(new Error(message))).toMatchObject(expected);
  });

  it.each<[unknown, Partial<FailureClass>]>([
    [
      Object.assign(new Error('rate'), { status: 429, headers: new Headers({ 'retry-after': '2' }) }),
      { retryable: true, retryAfterMs: 2000 },
    ],
    [
      Object.assign(new Error('rate'), { status: 429, headers: { 'retry-after-ms': '150' } }),
      { retryable: true, retryAfterMs: 150 },
    ],
    [
      Object.assign(new Error('oops'), { status: 503, headers: new Headers() }),
      { retryable: true, reason: 'server error 503' },
    ],
    [
      Object.assign(new Error('Request timed out.'), { name: 'TimeoutError' }),
      { retryable: true, reason: 'timed out' },
    ],
    [Object.assign(new Error('Connection error.'), { name: 'APIConnectionError' }), { retryable: true }],
    [Object.assign(new Error('bad'), { status: 400 }), { retryable: false }],
    [Object.assign(new Error('key'), { status: 401 }), { retryable: false }],
  ])('llm: %s', (err, expected) => {
    expect(classifyLlmError(err, NOW)).toMatchObject(expected);
  });
});
