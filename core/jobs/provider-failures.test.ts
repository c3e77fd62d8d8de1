// A provider refusal only an admin can fix, through the whole job layer: the real engine on the sandbox
// (the real @tavily/core client meets the sandbox Tavily's documented 401/432), real FerretDB, Redis and
// PostgreSQL. The task fails at once (no job retry), records the exact cause, tells the requester that the
// bot's setup needs an admin, and the ledger returns the credits (decision 027).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { sandboxEngine } from '../../test/helpers/research.js';
import { ResearchError } from '../research/contract.js';
import { startSandbox } from '../sandbox/index.js';
import type { SubmitRequest } from './index.js';
import { FakeEngine } from '../../test/helpers/jobs-fixtures.js';
import { openHarness, waitFor, type Harness } from '../../test/helpers/jobs-harness.js';

let h: Harness;

beforeAll(async () => {
  h = await openHarness('provider_failures');
  await h.jobs.startWorker();
}, 60_000);
afterAll(async () => {
  await h?.close();
});

function request(idea: string): SubmitRequest {
  return {
    requestKey: randomUUID(),
    workspaceId: h.workspaceId,
    requester: { id: 'U1', name: 'maria' },
    origin: { platform: 'slack', teamId: 'T1', channelId: 'C1', userId: 'U1' },
    // Unique per run: a cached search from an earlier run would never meet the fault.
    idea: `${idea} (${randomUUID().slice(0, 8)})`,
    depth: 'standard',
  };
}

async function settled(taskId: string) {
  return waitFor(
    `task ${taskId} settled`,
    async () => {
      const doc = await h.jobs.tasks.getDoc(taskId);
      return doc?.deliveredAt && (doc.credits?.captured || doc.credits?.released) ? doc : undefined;
    },
    90_000,
  );
}

describe('a Tavily refusal that needs an admin', () => {
  it.each<[string, number, object]>([
    ['a bad TAVILY_API_KEY (401)', 401, { provider: 'tavily', kind: 'bad_credentials', setting: 'TAVILY_API_KEY' }],
    [
      'an exhausted Tavily plan (432)',
      432,
      { provider: 'tavily', kind: 'quota_exhausted', setting: 'the Tavily plan' },
    ],
    [
      'a Tavily pay-as-you-go limit reached (433)',
      433,
      { provider: 'tavily', kind: 'quota_exhausted', setting: 'the Tavily plan' },
    ],
  ])(
    '%s fails the task once, records the cause, and returns the credits',
    async (_name, status, failure) => {
      // A sandbox and an engine of its own: when a run stops at the first refusal, a sibling agent's search
      // may still be on its way, and it must neither be counted in nor take the faults of another test.
      const sandbox = await startSandbox();
      try {
        const req = request('Carbon accounting for small bakeries');
        h.engine.forIdea(
          req.idea,
          sandboxEngine(sandbox, h.storage.redis, h.storage.pg, {
            cachePrefix: `test:provider-failures:${randomUUID().slice(0, 8)}:`,
            maxRetries: 2,
          }),
        );
        sandbox.injectFault('search', { kind: 'tavily_error', status }, 10);
        const balanceBefore = (await h.ledger.balance(h.workspaceId)).balance;
        const { task } = await h.jobs.submitResearch(req);
        const doc = await settled(task.id);

        expect(doc.status).toBe('failed');
        expect(doc.error?.failure).toEqual(failure);
        expect(doc.error?.userMessage).toMatch(/the bot's setup needs an admin/);
        expect(doc.error?.userMessage).toMatch(/Your 12 credits were returned; nothing was charged/);
        expect(doc.error?.userMessage).not.toMatch(/tvly-|TAVILY_API_KEY/);
        expect(doc.error?.detail).toMatch(new RegExp(`tavily search failed after 1 attempt\\(s\\).* ${status}`));
        expect(doc.refunded).toBe(12);
        // One run, at most one search per agent: neither the provider nor the job layer retried (a second
        // run would have sent three more).
        await new Promise((r) => setTimeout(r, 300));
        expect(sandbox.calls.search).toBeGreaterThanOrEqual(1);
        expect(sandbox.calls.search).toBeLessThanOrEqual(3);
        expect(h.delivery.of(task.id, 'failed')).toHaveLength(1);
        expect((await h.jobs.tasks.get(task.id))?.error?.failure).toEqual(failure);

        const rows = (await h.ledger.transactions(h.workspaceId, { pageSize: 100 })).items.filter(
          (t) => t.taskId === task.id,
        );
        expect(rows.filter((r) => r.type === 'reserve')).toHaveLength(1);
        expect(rows.filter((r) => r.type === 'release')).toHaveLength(1);
        expect(rows.filter((r) => r.type === 'capture')).toHaveLength(0);
        expect((await h.ledger.balance(h.workspaceId)).balance).toBe(balanceBefore);
        expect((await h.ledger.checkInvariant(h.workspaceId)).ok).toBe(true);
      } finally {
        await sandbox.close();
      }
    },
    120_000,
  );
});

describe('any refusal that needs an admin', () => {
  it('is not retried by the job layer even when the error calls itself retryable', async () => {
    const req = request('A marketplace for second-hand lab equipment');
    const engine = new FakeEngine({
      stepMs: 1,
      failures: [
        new ResearchError('The model is unknown.', 'llm 404 model_not_found', true, {
          provider: 'llm',
          kind: 'unknown_model',
          setting: 'OPENAI_MODEL',
        }),
      ],
    });
    h.engine.forIdea(req.idea, engine);
    const { task } = await h.jobs.submitResearch(req);
    const doc = await settled(task.id);
    expect(doc.status).toBe('failed');
    expect(engine.runs).toBe(1);
    expect(doc.error?.failure).toEqual({ provider: 'llm', kind: 'unknown_model', setting: 'OPENAI_MODEL' });
    expect(doc.error?.userMessage).toMatch(/AI model in the bot's setup is not available.*needs an admin/);
  }, 60_000);
});
