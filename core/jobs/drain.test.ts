import { afterEach, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { FakeEngine } from '../../test/helpers/jobs-fixtures.js';
import { openHarness, waitFor, type Harness } from '../../test/helpers/jobs-harness.js';

// A worker's stop is as fast as its work: the drain timeout is an upper bound, not a wait.

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function open(stepMs: number) {
  h = await openHarness('drain', {
    engine: new FakeEngine({ stepMs }),
    env: { WORKER_DRAIN_TIMEOUT_MS: 30_000 },
  });
  await h.jobs.startWorker();
  return h;
}

function submit(harness: Harness, idea: string) {
  return harness.jobs.submitResearch({
    requestKey: randomUUID(),
    workspaceId: harness.workspaceId,
    requester: { id: 'U1' },
    origin: { platform: 'console', userId: 'U1' },
    idea,
    depth: 'essential',
  });
}

async function timedStop(harness: Harness): Promise<number> {
  const started = Date.now();
  await harness.jobs.stop();
  return Date.now() - started;
}

describe('worker drain', () => {
  it('ends as soon as the running research is delivered, not at the drain timeout', async () => {
    const harness = await open(60);
    const { task } = await submit(harness, 'A rota planner for volunteer fire stations in small towns');
    await waitFor('the research to start', async () => (await harness.jobs.tasks.get(task.id))?.status === 'running');
    const ms = await timedStop(harness);
    const doc = await harness.jobs.tasks.getDoc(task.id);
    expect(doc?.status).toBe('succeeded');
    expect(doc?.deliveredAt).toBeTruthy();
    // Far below the 30 s timeout (generous for a loaded machine): the drain ended with the work.
    expect(ms).toBeLessThan(10_000);
  }, 90_000);

  it('is not held by a research cancelled while it runs', async () => {
    const harness = await open(400);
    const { task } = await submit(harness, 'A booking tool for shared allotment tools and sheds');
    await waitFor('the research to start', async () => (await harness.jobs.tasks.get(task.id))?.status === 'running');
    await harness.jobs.cancelResearch(task.id, { id: 'U1', isAdmin: false });
    const ms = await timedStop(harness);
    expect((await harness.jobs.tasks.getDoc(task.id))?.status).toBe('cancelled');
    expect(ms).toBeLessThan(10_000);
  }, 90_000);

  it('returns at once when nothing runs', async () => {
    const harness = await open(5);
    expect(await timedStop(harness)).toBeLessThan(5_000);
  }, 30_000);
});
