import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { startSandbox, type Sandbox } from '../sandbox/index.js';
import { sandboxEngine } from '../../test/helpers/research.js';
import { CHECKPOINTS, ENGINE_CHECKPOINTS } from '../research/checkpoints.js';
import type { SubmitRequest } from './index.js';
import { openHarness, waitFor, type Harness } from '../../test/helpers/jobs-harness.js';

// The job layer with the real research engine on the sandbox providers (real SDK clients over HTTP),
// real FerretDB, Redis and PostgreSQL.

let h: Harness;
let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await startSandbox({ latencyMs: { search: 20, extract: 20, llm: 30 } });
  h = await openHarness('jobs_engine');
  h.engine.impl = sandboxEngine(sandbox, h.storage.redis, h.storage.pg, {
    cachePrefix: `test:jobs-engine:${randomUUID().slice(0, 8)}:`,
    maxRetries: 1,
    timeoutMs: 20_000,
  });
  await h.jobs.startWorker();
}, 60_000);
afterAll(async () => {
  await h?.close();
  await sandbox?.close();
});

function request(over: Partial<SubmitRequest> = {}): SubmitRequest {
  return {
    requestKey: randomUUID(),
    workspaceId: h.workspaceId,
    requester: { id: 'U1', name: 'maria' },
    origin: { platform: 'slack', teamId: 'T1', channelId: 'C1', userId: 'U1' },
    idea: 'An app that matches dog owners with vetted sitters in their neighbourhood',
    depth: 'standard',
    ...over,
  };
}

async function settled(taskId: string) {
  return waitFor(
    `task ${taskId} settled`,
    async () => {
      const doc = await h.jobs.tasks.getDoc(taskId);
      return doc?.deliveredAt && (doc.credits?.captured || doc.credits?.released) ? doc : undefined;
    },
    120_000,
  );
}

async function ledgerRows(taskId: string) {
  return (await h.ledger.transactions(h.workspaceId, { pageSize: 100 })).items.filter((t) => t.taskId === taskId);
}

describe('research jobs (real engine, sandbox providers)', () => {
  it('submits, runs and delivers a report: 17 checkpoints in completion order, one capture, one delivery', async () => {
    const { task } = await h.jobs.submitResearch(request());
    const doc = await settled(task.id);
    expect(doc.status).toBe('succeeded');
    const ids = doc.checkpoints.map((c) => c.id);
    expect(ids).toHaveLength(17);
    expect(new Set(ids)).toEqual(new Set(CHECKPOINTS));
    expect(ids.slice(0, 5)).toEqual(['received', 'credits_reserved', 'queued', 'started', 'plan']);
    expect(ids.slice(-2)).toEqual(['report', 'delivered']);
    expect(new Set(ids.slice(4, 16))).toEqual(new Set(ENGINE_CHECKPOINTS));
    const times = doc.checkpoints.map((c) => c.at.getTime());
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(doc.report?.markdown).toContain('#');
    expect(doc.report?.json.sandbox).toBe(true);
    expect(doc.usage?.tavilyCalls).toBeGreaterThan(0);
    expect(h.delivery.of(task.id, 'succeeded')).toHaveLength(1);
    // With the report stored, the run's checkpoints have served their purpose and are gone.
    for (const table of ['research_checkpoints', 'research_checkpoint_blobs', 'research_checkpoint_writes']) {
      const { rows } = await h.storage.pg.raw<{ rows: { n: number }[] }>(
        `select count(*)::int as n from ${table} where thread_id = ?`,
        [task.id],
      );
      expect([table, rows[0]?.n]).toEqual([table, 0]);
    }
    // The last status edit follows the delivery record by a moment: wait for it, then check nothing follows.
    await waitFor(
      'the final status edit',
      async () => h.delivery.of(task.id, 'progress').at(-1)?.status === 'succeeded',
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(h.delivery.of(task.id, 'progress').at(-1)).toMatchObject({ checkpoints: 17, status: 'succeeded' });
    const rows = await ledgerRows(task.id);
    expect(rows.filter((r) => r.type === 'reserve')).toHaveLength(1);
    expect(rows.filter((r) => r.type === 'capture')).toHaveLength(1);
    expect((await h.ledger.checkInvariant(h.workspaceId)).ok).toBe(true);
  }, 150_000);

  it('cancels a running research promptly and returns the credits', async () => {
    sandbox.setLatency({ search: 1500, extract: 1500, llm: 1500 });
    try {
      const { task } = await h.jobs.submitResearch(request({ idea: 'A subscription box for indoor herb gardens' }));
      await waitFor('the research to start', async () =>
        (await h.jobs.tasks.get(task.id))?.checkpoints.some((c) => c.id === 'started'),
      );
      const t0 = Date.now();
      await h.jobs.cancelResearch(task.id, { id: 'U1', isAdmin: false });
      const doc = await settled(task.id);
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(doc.status).toBe('cancelled');
      expect(doc.error?.userMessage).toMatch(/cancelled/);
      expect(h.delivery.of(task.id, 'failed')).toHaveLength(1);
      expect(h.delivery.of(task.id, 'succeeded')).toHaveLength(0);
      expect((await ledgerRows(task.id)).filter((r) => r.type === 'release')).toHaveLength(1);
      // The aborted engine run must not resurrect the task.
      await new Promise((r) => setTimeout(r, 2000));
      expect((await h.jobs.tasks.get(task.id))?.status).toBe('cancelled');
    } finally {
      sandbox.setLatency({ search: 20, extract: 20, llm: 30 });
    }
  }, 60_000);

  it('ends the task with a clear message and no charge when the LLM provider keeps failing', async () => {
    sandbox.injectFault('llm', { kind: 'server_error' }, 10_000);
    try {
      const { task } = await h.jobs.submitResearch(request({ idea: 'Carbon accounting for small bakeries' }));
      const doc = await settled(task.id);
      expect(doc.status).toBe('failed');
      expect(doc.error?.userMessage).toMatch(/credits were returned; nothing was charged/);
      expect(doc.error?.detail).toBeTruthy();
      expect(h.delivery.of(task.id, 'failed')).toHaveLength(1);
      const rows = await ledgerRows(task.id);
      expect(rows.filter((r) => r.type === 'release')).toHaveLength(1);
      expect(rows.filter((r) => r.type === 'capture')).toHaveLength(0);
    } finally {
      sandbox.clearFaults();
    }
  }, 150_000);
});
