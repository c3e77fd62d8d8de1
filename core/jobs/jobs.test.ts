import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { IdempotencyConflictError, InsufficientCreditsError } from '../credits/index.js';
import { CHECKPOINTS } from '../research/checkpoints.js';
import { ResearchError } from '../research/contract.js';
import { PermanentDeliveryError } from '../tasks/delivery.js';
import type { Task } from '../tasks/types.js';
import type { LedgerPort, SubmitRequest } from './index.js';
import { FAKE_ORDER, FakeEngine } from '../../test/helpers/jobs-fixtures.js';
import { openHarness, waitFor, type Harness } from '../../test/helpers/jobs-harness.js';

// Job mechanics on the real servers with an engine double (the real engine + sandbox run in
// jobs-engine.test.ts). Each test uses its own tasks; the worker is shared.

let h: Harness;

beforeAll(async () => {
  h = await openHarness('jobs');
  await h.jobs.startWorker();
});
afterAll(async () => {
  await h?.close();
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
  return waitFor(`task ${taskId} settled`, async () => {
    const doc = await h.jobs.tasks.getDoc(taskId);
    return doc?.deliveredAt && (doc.credits?.captured || doc.credits?.released) ? doc : undefined;
  });
}

async function ledgerRows(taskId: string) {
  const all = await h.ledger.transactions(h.workspaceId, { pageSize: 100 });
  return all.items.filter((t) => t.taskId === taskId);
}

/** A workspace of its own whose month holds `amount` credits. */
async function workspaceWithAllowance(name: string, amount: number) {
  const ws = await h.ledger.ensureWorkspace({ platform: 'slack', externalId: `T-${randomUUID()}`, name });
  await h.ledger.setAllowance({
    workspaceId: ws.id,
    amount,
    actor: 'test',
    reason: 'test',
    idempotencyKey: randomUUID(),
  });
  return ws;
}

describe('research jobs (engine double)', () => {
  it('runs a submitted research to a stored, delivered report with 17 checkpoints and one capture', async () => {
    h.engine.impl = new FakeEngine({ stepMs: 30 }); // the default for the tests below
    const live: Task[] = [];
    const { task, created } = await h.jobs.submitResearch(request());
    expect(created).toBe(true);
    const unsubscribe = await h.jobs.subscribeProgress(task.id, (t) => live.push(t));
    const doc = await settled(task.id);
    // The live view hears the final state too (published right after it is stored).
    await waitFor('the final live update', async () => live.at(-1)?.status === 'succeeded');
    await unsubscribe();

    expect(doc.status).toBe('succeeded');
    expect(doc.checkpoints.map((c) => c.id)).toEqual([
      'received',
      'credits_reserved',
      'queued',
      'started',
      ...FAKE_ORDER,
      'delivered',
    ]);
    expect(new Set(doc.checkpoints.map((c) => c.id))).toEqual(new Set(CHECKPOINTS));
    const times = doc.checkpoints.map((c) => c.at.getTime());
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(doc.report?.json.score.total).toBe(64);
    expect(doc.usage?.tavilyCredits).toBe(6);

    expect(h.delivery.of(task.id, 'succeeded')).toHaveLength(1);
    expect(h.delivery.of(task.id, 'failed')).toHaveLength(0);
    const progress = h.delivery.of(task.id, 'progress').map((c) => c.checkpoints);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toBe(17);
    for (let i = 1; i < progress.length; i++) expect(progress[i]!).toBeGreaterThanOrEqual(progress[i - 1]!);

    const rows = await ledgerRows(task.id);
    expect(rows.filter((r) => r.type === 'reserve')).toHaveLength(1);
    expect(rows.filter((r) => r.type === 'capture')).toHaveLength(1);
    expect(rows.filter((r) => r.type === 'release')).toHaveLength(0);
    expect(live.length).toBeGreaterThan(0);
    expect(live.at(-1)?.status).toBe('succeeded');
    expect((await h.ledger.checkInvariant(h.workspaceId)).ok).toBe(true);
  });

  it('makes one task and one hold from 50 concurrent submissions with the same request key', async () => {
    const req = request();
    const results = await Promise.all(Array.from({ length: 50 }, () => h.jobs.submitResearch(req)));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const ids = new Set(results.map((r) => r.task.id));
    expect(ids.size).toBe(1);
    const [taskId] = [...ids];
    await settled(taskId!);
    const rows = await ledgerRows(taskId!);
    expect(rows.filter((r) => r.type === 'reserve')).toHaveLength(1);
    expect(rows.filter((r) => r.type === 'capture')).toHaveLength(1);
    expect(h.delivery.of(taskId!, 'succeeded')).toHaveLength(1);
    expect(await h.jobs.tasks.collection.countDocuments({ requestKey: req.requestKey })).toBe(1);
  });

  it('answers repeats with the task that got the credits, not one discarded because its id was already held', async () => {
    // The first reserve meets an id the ledger already holds (ids are short and random); the job layer draws
    // another. Repeats of the request arriving meanwhile must not be told about the discarded first task.
    let collide = true;
    const colliding: LedgerPort = {
      reserve: async (a) => {
        if (!collide) return h.ledger.reserve(a);
        collide = false;
        await new Promise((resolve) => setTimeout(resolve, 300));
        throw new IdempotencyConflictError(a.taskId);
      },
      capture: (a) => h.ledger.capture(a),
      release: (a) => h.ledger.release(a),
      getHold: (id) => h.ledger.getHold(id),
      refuseEarly: (ws, cost) => h.ledger.refuseEarly(ws, cost),
    };
    const jobs = h.another({ ledger: colliding });
    const req = request();
    const first = jobs.submitResearch(req);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const repeats = await Promise.all(Array.from({ length: 10 }, () => jobs.submitResearch(req)));
    const all = [await first, ...repeats];
    // Whichever submission ends up making it, there is one task, it holds the credits, and everyone is told it.
    expect(all.filter((r) => r.created)).toHaveLength(1);
    const ids = new Set(all.map((r) => r.task.id));
    expect(ids.size).toBe(1);
    const [taskId] = [...ids] as [string];
    expect((await h.ledger.getHold(taskId))?.status).toBeDefined();
    expect(await h.jobs.tasks.collection.countDocuments({ requestKey: req.requestKey })).toBe(1);
    await settled(taskId);
  });

  it('stores the refs announce returns, and fails the task and returns the credits when announce throws', async () => {
    const ok = await h.jobs.submitResearch(request(), {
      announce: async () => ({ parentTs: '100.1', statusTs: '100.2' }),
    });
    expect(ok.task.origin).toMatchObject({ parentTs: '100.1', statusTs: '100.2' });
    await settled(ok.task.id);

    const req = request();
    await expect(
      h.jobs.submitResearch(req, { announce: async () => Promise.reject(new Error('channel_not_found')) }),
    ).rejects.toThrow('channel_not_found');
    const failed = (await h.jobs.tasks.getByRequestKey(req.requestKey))!;
    const doc = await settled(failed.id);
    expect(doc.status).toBe('failed');
    expect(doc.error?.userMessage).toMatch(/credits were returned/);
    expect((await ledgerRows(failed.id)).filter((r) => r.type === 'release')).toHaveLength(1);
  });

  it('refuses a research the workspace cannot pay for, leaving no task behind', async () => {
    const poor = await workspaceWithAllowance('poor', 5);
    const req = request({ workspaceId: poor.id });
    await expect(h.jobs.submitResearch(req)).rejects.toBeInstanceOf(InsufficientCreditsError);
    expect(await h.jobs.tasks.getByRequestKey(req.requestKey)).toBeUndefined();
  });

  it('answers a repeat of an accepted request as already started, even once the credits have run out', async () => {
    const ws = await workspaceWithAllowance('spent', 12);
    const req = request({ workspaceId: ws.id });
    const first = await h.jobs.submitResearch(req);
    expect(first.created).toBe(true);
    expect((await h.ledger.balance(ws.id)).balance).toBe(0);
    const repeat = await h.jobs.submitResearch(req);
    expect(repeat).toMatchObject({ created: false, task: { id: first.task.id } });
    await expect(h.jobs.submitResearch(request({ workspaceId: ws.id }))).rejects.toBeInstanceOf(
      InsufficientCreditsError,
    );
  });

  it('rejects an empty idea with a sentence the user can act on', async () => {
    await expect(h.jobs.submitResearch(request({ idea: '   ' }))).rejects.toThrow(/Tell me the product idea/);
  });

  it('retries a transient failure with backoff and captures once on success', async () => {
    const idea = h.engine.forIdea(
      'transient failure idea',
      new FakeEngine({ stepMs: 5, failures: [new ResearchError('Search is busy.', 'tavily 503', true)] }),
    );
    const { task } = await h.jobs.submitResearch(request({ idea }));
    const doc = await settled(task.id);
    expect(doc.status).toBe('succeeded');
    expect(doc.failures).toBe(1);
    expect(doc.attempts).toBe(2);
    expect((await ledgerRows(task.id)).filter((r) => r.type === 'capture')).toHaveLength(1);
    expect(h.delivery.of(task.id, 'succeeded')).toHaveLength(1);
  });

  it('ends a permanent provider failure at once with a clear message and the credits returned', async () => {
    const idea = h.engine.forIdea(
      'permanent failure idea',
      new FakeEngine({
        stepMs: 5,
        failures: [new ResearchError('The language model refused the request.', 'openai 400', false)],
      }),
    );
    const { task } = await h.jobs.submitResearch(request({ idea }));
    const doc = await settled(task.id);
    expect(doc.status).toBe('failed');
    expect(doc.failures).toBe(1);
    expect(doc.error?.userMessage).toBe(
      'The research could not be finished: The language model refused the request. Your 12 credits were returned; nothing was charged. Try again in a few minutes.',
    );
    expect(doc.refunded).toBe(12);
    expect(h.delivery.of(task.id, 'failed')).toHaveLength(1);
    expect(h.delivery.of(task.id, 'succeeded')).toHaveLength(0);
    const rows = await ledgerRows(task.id);
    expect(rows.filter((r) => r.type === 'release')).toHaveLength(1);
    expect(rows.filter((r) => r.type === 'capture')).toHaveLength(0);
  });

  it('gives up after JOB_MAX_ATTEMPTS transient failures', async () => {
    const busy = () => new ResearchError('Web search kept timing out.', 'tavily timeout', true);
    const idea = h.engine.forIdea('exhausted idea', new FakeEngine({ stepMs: 5, failures: [busy(), busy(), busy()] }));
    const { task } = await h.jobs.submitResearch(request({ idea }));
    const doc = await settled(task.id);
    expect(doc.status).toBe('failed');
    expect(doc.failures).toBe(3);
    expect(doc.error?.userMessage).toMatch(/after 3 attempts: Web search kept timing out\./);
    expect(h.delivery.of(task.id, 'failed')).toHaveLength(1);
  });

  it('records a delivery that can never succeed on the task and charges nothing for a report nobody got', async () => {
    h.delivery.finalFailures = [new Error('socket hang up'), new PermanentDeliveryError('channel_not_found')];
    const { task } = await h.jobs.submitResearch(request());
    const doc = await settled(task.id);
    expect(doc.status).toBe('succeeded');
    expect(doc.delivery?.failedPermanently).toBe('channel_not_found');
    expect(doc.checkpoints.map((c) => c.id)).not.toContain('delivered');
    const rows = await ledgerRows(task.id);
    expect(rows.filter((r) => r.type === 'capture')).toHaveLength(0);
    expect(rows.filter((r) => r.type === 'release')).toHaveLength(1);
  });

  it('a delivery that kept erroring until the retries ran out: the requester is told once, nothing charged', async () => {
    h.delivery.finalFailures = [new Error('socket hang up'), new Error('HTTP 500'), new Error('HTTP 503')];
    const { task } = await h.jobs.submitResearch(request());
    const doc = await settled(task.id);
    expect(doc.delivery?.failedPermanently).toBe('gave up after 3 attempts: HTTP 503');
    expect(h.delivery.of(task.id, 'undelivered')).toHaveLength(1);
    expect((await ledgerRows(task.id)).filter((r) => r.type === 'release')).toHaveLength(1);
  });

  it("a refused delivery is the delivery's own to report: no second notice", async () => {
    h.delivery.finalFailures = [new PermanentDeliveryError('channel_not_found')];
    const { task } = await h.jobs.submitResearch(request());
    await settled(task.id);
    expect(h.delivery.of(task.id, 'undelivered')).toHaveLength(0);
  });

  it('captures a success only after its report was delivered', async () => {
    const captureSeen: (string | undefined)[] = [];
    const watching = h.another({
      tuning: { collection: 'captureOrderJobs' },
      deliveries: () => ({
        progress: () => Promise.resolve(),
        failed: () => Promise.resolve(),
        succeeded: async (t) => {
          captureSeen.push((await h.ledger.getHold(t.id))?.status);
        },
      }),
    });
    await watching.startWorker();
    const { task } = await watching.submitResearch(request());
    await settled(task.id);
    expect(captureSeen).toEqual(['held']);
    expect((await h.ledger.getHold(task.id))?.status).toBe('captured');
  });

  it('a process without the platform hands the end of a cancel to a worker, which posts it once', async () => {
    // The bot's work thread and the console: they settle cancels but hold no platform clients.
    const idle = h.another({ tuning: { collection: 'handOffJobs' }, deliveries: () => undefined });
    const { task } = await idle.submitResearch(request());
    const after = await idle.cancelResearch(task.id, { id: 'U1', isAdmin: false });
    expect(after.status).toBe('cancelled');
    // Credits come back at once, in the cancelling process; nothing is shown yet, and it is not marked delivered.
    expect((await h.ledger.getHold(task.id))?.status).toBe('released');
    expect(h.delivery.of(task.id, 'failed')).toHaveLength(0);
    expect((await idle.tasks.getDoc(task.id))?.deliveredAt).toBeUndefined();
    const jobsOf = (name: string) =>
      h.storage.mongo.db.collection('handOffJobs').countDocuments({ name, 'data.taskId': task.id });
    expect(await jobsOf('research')).toBe(0);
    expect(await jobsOf('research-end')).toBe(1);
    // A worker with the platform starts later (nobody was listening at that instant): it still posts the end.
    const worker = h.another({ tuning: { collection: 'handOffJobs' } });
    await worker.startWorker();
    const doc = await settled(task.id);
    expect(doc.delivery?.failedPermanently).toBeUndefined();
    expect(h.delivery.of(task.id, 'failed')).toHaveLength(1);
    expect(h.delivery.of(task.id, 'failed')[0]!.status).toBe('cancelled');
    await waitFor('the end job removed', async () => (await jobsOf('research-end')) === 0);
    await worker.stop();
  });

  it('an end job on a worker without the platform records why, and does not pass it on forever', async () => {
    const idle = h.another({ tuning: { collection: 'noPlatformJobs' }, deliveries: () => undefined });
    const blind = h.another({ tuning: { collection: 'noPlatformJobs' }, deliveries: () => undefined });
    await blind.startWorker();
    const { task } = await idle.submitResearch(request());
    await idle.cancelResearch(task.id, { id: 'U1', isAdmin: false });
    const doc = await settled(task.id);
    expect(doc.delivery?.failedPermanently).toBe('no slack delivery in this process');
    await blind.stop();
  });

  it('cancels a running research within about a second and returns the credits', async () => {
    const idea = h.engine.forIdea('slow idea to cancel', new FakeEngine({ stepMs: 400 }));
    const { task } = await h.jobs.submitResearch(request({ idea }));
    await waitFor('plan checkpoint', async () =>
      (await h.jobs.tasks.get(task.id))?.checkpoints.some((c) => c.id === 'plan'),
    );
    const requestedAt = Date.now();
    const after = await h.jobs.cancelResearch(task.id, { id: 'U1', isAdmin: false });
    expect(after.cancelRequested?.by).toBe('U1');
    const doc = await settled(task.id);
    expect(doc.status).toBe('cancelled');
    expect(doc.finishedAt!.getTime() - requestedAt).toBeLessThan(1500);
    expect(doc.error?.userMessage).toBe(
      'The research was cancelled. Your 12 credits were returned; nothing was charged.',
    );
    expect(doc.checkpoints.map((c) => c.id)).not.toContain('report');
    expect(h.delivery.of(task.id, 'failed')).toHaveLength(1);
    const rows = await ledgerRows(task.id);
    expect(rows.filter((r) => r.type === 'release')).toHaveLength(1);
    expect(rows.filter((r) => r.type === 'capture')).toHaveLength(0);
  });

  it('cancels a queued research at once and removes its job', async () => {
    // A second instance on its own queue collection that no worker serves: its jobs stay queued.
    const idle = h.another({ tuning: { collection: 'idleJobs' } });
    const { task } = await idle.submitResearch(request());
    expect((await idle.tasks.get(task.id))?.status).toBe('queued');
    await expect(idle.cancelResearch(task.id, { id: 'U2', isAdmin: false })).rejects.toThrow(
      /Only the person who asked/,
    );
    const after = await idle.cancelResearch(task.id, { id: 'admin', isAdmin: true });
    expect(after.status).toBe('cancelled');
    expect(after.refunded).toBe(12);
    expect(h.delivery.of(task.id, 'failed')).toHaveLength(1);
    expect((await ledgerRows(task.id)).filter((r) => r.type === 'release')).toHaveLength(1);
    expect(await h.storage.mongo.db.collection('idleJobs').countDocuments({ 'data.taskId': task.id })).toBe(0);
    await expect(idle.cancelResearch(task.id, { id: 'admin', isAdmin: true })).resolves.toMatchObject({
      status: 'cancelled',
    });
  });

  it('ends the tasks a crash left without a job: credits returned, or the task dropped if it never got any', async () => {
    const sweeper = h.another({ tuning: { collection: 'orphanJobs', orphanAfterMs: 0 } });
    const orphan = async (reserve: boolean) => {
      const { task } = await h.jobs.tasks.create({ ...request(), cost: 12 });
      if (reserve) {
        await h.ledger.reserve({ workspaceId: h.workspaceId, cost: 12, taskId: task.id, actor: 'U1' });
        await h.jobs.tasks.addCheckpoint(task.id, 'credits_reserved');
      }
      return task.id; // ...and the process died before it saved the job
    };
    const held = await orphan(true);
    const unheld = await orphan(false);
    const { task: waiting } = await sweeper.submitResearch(request()); // queued, its job saved: not an orphan
    const before = (await h.ledger.balance(h.workspaceId)).balance;

    expect(await sweeper.sweepOrphans()).toBeGreaterThanOrEqual(2);

    const ended = await settled(held);
    expect(ended.status).toBe('failed');
    expect(ended.error?.userMessage).toMatch(/interrupted before it could be queued.*12 credits were returned/);
    expect((await h.ledger.getHold(held))?.status).toBe('released');
    expect((await h.ledger.balance(h.workspaceId)).balance).toBe(before + 12);
    expect(await h.jobs.tasks.get(unheld)).toBeUndefined();
    expect((await h.jobs.tasks.get(waiting.id))?.status).toBe('queued');
    expect(await sweeper.sweepOrphans()).toBe(0);
    await sweeper.cancelResearch(waiting.id, { id: 'U1', isAdmin: false });
  });

  it('retries a failed research as a new task with a new hold, once per failed task', async () => {
    const idea = h.engine.forIdea(
      'retry me idea',
      new FakeEngine({ stepMs: 5, failures: [new ResearchError('Bad input.', 'x', false)] }),
    );
    const { task } = await h.jobs.submitResearch(request({ idea }));
    await settled(task.id);
    const retry = await h.jobs.retryResearch(task.id, { id: 'U1', isAdmin: false });
    const again = await h.jobs.retryResearch(task.id, { id: 'U1', isAdmin: false });
    expect(again.id).toBe(retry.id);
    expect(retry.id).not.toBe(task.id);
    expect(retry.retryOf).toBe(task.id);
    const doc = await settled(retry.id);
    expect(doc.status).toBe('succeeded');
    expect((await ledgerRows(retry.id)).filter((r) => r.type === 'capture')).toHaveLength(1);
    await expect(h.jobs.retryResearch(retry.id, { id: 'U1', isAdmin: false })).rejects.toThrow(
      /Only a failed research/,
    );
    expect((await h.ledger.checkInvariant(h.workspaceId)).ok).toBe(true);
  });
});
