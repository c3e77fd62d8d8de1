import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { connectMongo, createRedis, type Mongo, type Redis } from '../storage/index.js';
import { startPrivateFerretDb, startPrivateRedis, type PrivateServer } from '../../test/helpers/private-servers.js';
import { FakeEngine } from '../../test/helpers/jobs-fixtures.js';
import { openHarness, waitFor, type Harness } from '../../test/helpers/jobs-harness.js';

// Redis, then MongoDB (FerretDB), restarted while researches run: every task still reaches a final state
// the user hears about once, and no credit is lost. Private servers: the shared ones are never touched.

let ferret: PrivateServer;
let redisServer: PrivateServer;
let mongo: Mongo;
let redis: Redis;
let h: Harness;

beforeAll(async () => {
  [ferret, redisServer] = await Promise.all([startPrivateFerretDb(), startPrivateRedis()]);
  mongo = await connectMongo(ferret.url, 't_jobs_restart');
  redis = createRedis(redisServer.url, 'test-restart');
  redis.on('error', () => undefined);
  h = await openHarness('restart', {
    mongo,
    redis,
    engine: new FakeEngine({ stepMs: 250 }),
    tuning: { retryBaseMs: 500 },
  });
  await h.jobs.startWorker();
}, 60_000);

afterAll(async () => {
  await h?.close();
  redis?.disconnect();
  await mongo?.client.close().catch(() => undefined);
  await Promise.allSettled([ferret?.close(), redisServer?.close()]);
});

async function submit(n: number, label: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const { task } = await h.jobs.submitResearch({
      requestKey: randomUUID(),
      workspaceId: h.workspaceId,
      requester: { id: 'U1' },
      origin: { platform: 'console', userId: 'U1' },
      idea: `${label} ${i}: a booking tool for community sports halls`,
      depth: 'essential',
    });
    ids.push(task.id);
  }
  return ids;
}

/**
 * `outage` is when the server was away. A final call made before it ended may not have been recorded, so the
 * next run repeats it (the contract: each visible step of a final delivery is done-once on its own); a repeat
 * of a call made after the outage is a defect.
 */
async function expectSettledOnce(ids: string[], outage: { to: Date }) {
  for (const id of ids) {
    const doc = await waitFor(
      `task ${id} settled`,
      async () => {
        const d = await h.jobs.tasks.getDoc(id).catch(() => undefined);
        return d?.deliveredAt && (d.credits?.captured || d.credits?.released) ? d : undefined;
      },
      120_000,
      200,
    );
    expect(['succeeded', 'failed']).toContain(doc.status);
    if (doc.status === 'failed') expect(doc.error?.userMessage).toMatch(/credits were returned/);
    const finals = h.delivery.of(id).filter((c) => c.kind !== 'progress');
    expect(finals.length).toBeGreaterThanOrEqual(1);
    expect(new Set(finals.map((c) => c.status))).toEqual(new Set([doc.status]));
    for (const repeated of finals.slice(0, -1)) expect(repeated.at.getTime()).toBeLessThanOrEqual(outage.to.getTime());
    const hold = await h.ledger.getHold(id);
    expect(hold?.status).toBe(doc.status === 'succeeded' ? 'captured' : 'released');
  }
  expect(await h.ledger.checkInvariant(h.workspaceId)).toEqual({ ok: true, problems: [] });
}

describe('servers restarted mid-run', () => {
  it('Redis restart: nothing lost, one outcome each, no credit lost', async () => {
    const ids = await submit(3, 'Redis restart');
    await waitFor('a research running', async () =>
      (await h.jobs.tasks.get(ids[0]!))?.checkpoints.some((c) => c.id === 'plan'),
    );
    await redisServer.stop();
    await new Promise((r) => setTimeout(r, 1500));
    await redisServer.start();
    await expectSettledOnce(ids, { to: new Date() });
  }, 150_000);

  it('MongoDB restart: nothing lost, one outcome each, no credit lost', async () => {
    const ids = await submit(3, 'Mongo restart');
    await waitFor('a research running', async () =>
      (await h.jobs.tasks.get(ids[0]!))?.checkpoints.some((c) => c.id === 'plan'),
    );
    await ferret.stop();
    await new Promise((r) => setTimeout(r, 1500));
    await ferret.start();
    // The outage ends when the client can talk to the server again, which can take a while on a busy machine.
    await waitFor(
      'MongoDB answering again',
      () =>
        mongo.db.command({ ping: 1 }).then(
          () => true,
          () => false,
        ),
      150_000,
    );
    await expectSettledOnce(ids, { to: new Date() });
  }, 300_000);
});
