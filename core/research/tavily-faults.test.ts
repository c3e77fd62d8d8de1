// Every documented Tavily error, injected into the sandbox Tavily and met by the real @tavily/core client
// inside a whole research (real Redis and PostgreSQL): each run ends in a delivered report or in a clear
// refusal that names its cause (decision 027).
import { beforeEach, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { startSandbox, type Fault } from '../sandbox/index.js';
import { uniquePrefix } from '../../test/helpers/storage.js';
import { researchServers } from '../../test/helpers/research-servers.js';
import { sandboxEngine } from '../../test/helpers/research.js';
import { ResearchError, needsAdmin } from './contract.js';

const servers = researchServers();
const prefix = uniquePrefix('tavily-faults');
beforeEach(() => servers.sandbox.clearFaults());

/** A cold cache per run, so every run really calls the sandbox Tavily. */
const engine = () =>
  sandboxEngine(servers.sandbox, servers.redis, servers.pg, {
    cachePrefix: `${prefix}${randomUUID()}:`,
    maxRetries: 2,
  });
const IDEA = 'An app that matches dog owners with vetted sitters in their neighbourhood';

describe('a research meeting a transient Tavily error delivers its report, at the exact price', () => {
  it.each<[string, Fault]>([
    ['429 with Retry-After', { kind: 'rate_limit', retryAfterSeconds: 1 }],
    ['500 with a JSON body', { kind: 'server_error' }],
    ['503 with a JSON body and Retry-After', { kind: 'tavily_error', status: 503, retryAfterSeconds: 1 }],
    ['502 with a plain body', { kind: 'tavily_error', status: 502, plain: true }],
  ])(
    '%s on a search and an extract',
    async (_name, fault) => {
      servers.sandbox.injectFault('search', fault);
      servers.sandbox.injectFault('extract', fault);
      const before = { ...servers.sandbox.calls };
      const result = await engine().run({ runId: `tf-${randomUUID()}`, idea: IDEA, depth: 'standard' });
      expect(result.report.missingSections).toEqual([]);
      expect(result.usage.tavilyCredits).toBe(12);
      // Three searches and three extracts, plus the one retried each.
      expect(servers.sandbox.calls.search - before.search).toBe(4);
      expect(servers.sandbox.calls.extract - before.extract).toBe(4);
    },
    60_000,
  );
});

describe('a research refused by Tavily for good names the cause, and no retry is made', () => {
  it.each<[string, number, string, RegExp]>([
    ['401 bad key', 401, 'TAVILY_API_KEY', /rejected the bot's API key/],
    ['432 plan limit', 432, 'the Tavily plan', /plan has used up its credits/],
    ['433 pay-as-you-go limit', 433, 'the Tavily plan', /pay-as-you-go limit/],
  ])(
    '%s',
    async (_name, status, setting, message) => {
      // A sandbox of its own: when the run stops at the first refusal, a sibling agent's search may still be
      // on its way, and it must neither be counted in nor take the faults of another test.
      const own = await startSandbox();
      try {
        own.injectFault('search', { kind: 'tavily_error', status }, 10);
        const err = await sandboxEngine(own, servers.redis, servers.pg, {
          cachePrefix: `${prefix}${randomUUID()}:`,
          maxRetries: 2,
        })
          .run({ runId: `tf-${randomUUID()}`, idea: IDEA, depth: 'standard' })
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ResearchError);
        const refusal = err as ResearchError;
        expect(refusal.failure).toEqual({
          provider: 'tavily',
          kind: status === 401 ? 'bad_credentials' : 'quota_exhausted',
          setting,
        });
        expect(needsAdmin(refusal.failure)).toBe(true);
        expect(refusal.retryable).toBe(false);
        expect(refusal.userMessage).toMatch(message);
        expect(refusal.detail).toContain(`after 1 attempt(s) (not_retryable)`);
        // At most one search per agent (the run stops at the first refusal, so a sibling may not have sent
        // its own): nothing was retried, nothing extracted.
        await new Promise((r) => setTimeout(r, 300));
        expect(own.calls.search).toBeGreaterThanOrEqual(1);
        expect(own.calls.search).toBeLessThanOrEqual(3);
        expect(own.calls.extract).toBe(0);
      } finally {
        await own.close();
      }
    },
    60_000,
  );

  it('a 400 for one search is a named permanent error: that section is missing, the report still goes out', async () => {
    servers.sandbox.injectFault('search', { kind: 'tavily_error', status: 400 });
    const before = servers.sandbox.calls.search;
    const result = await engine().run({ runId: `tf-${randomUUID()}`, idea: IDEA, depth: 'standard' });
    expect(servers.sandbox.calls.search - before).toBe(3);
    expect(result.report.missingSections).toHaveLength(1);
    expect(result.report.missingSections[0]!.reason).toMatch(/rejected our request as invalid/);
    // The two searches and extracts that ran: 2 × (2 + 2) credits.
    expect(result.usage.tavilyCredits).toBe(8);
  }, 60_000);
});

describe('parameters Tavily would refuse are never sent', () => {
  it('a research with PROVIDER_TIMEOUT_MS above 60 s still extracts (the sandbox answers 400 above 60 s)', async () => {
    const slow = sandboxEngine(servers.sandbox, servers.redis, servers.pg, {
      cachePrefix: `${prefix}${randomUUID()}:`,
      maxRetries: 0,
      timeoutMs: 90_000,
    });
    const result = await slow.run({ runId: `tf-${randomUUID()}`, idea: IDEA, depth: 'essential' });
    expect(result.report.missingSections).toEqual([]);
    expect(result.usage.tavilyCredits).toBe(6);
  }, 60_000);
});
