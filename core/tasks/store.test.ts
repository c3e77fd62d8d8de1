import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { testMongo } from '../../test/helpers/storage.js';
import type { Mongo } from '../storage/index.js';
import { fakeResult } from '../../test/helpers/jobs-fixtures.js';
import type { NewTask } from './doc.js';
import { TaskStore } from './store.js';

let mongo: Mongo;
let store: TaskStore;

beforeAll(async () => {
  mongo = await testMongo('task_store');
  store = new TaskStore(mongo);
  await store.ensureIndexes();
});
afterAll(async () => {
  await mongo.client.close();
});

function newTask(over: Partial<NewTask> = {}): NewTask {
  return {
    requestKey: randomUUID(),
    workspaceId: 'ws-a',
    requester: { id: 'U1', name: 'maria' },
    origin: { platform: 'slack', teamId: 'T1', channelId: 'C1', userId: 'U1' },
    idea: 'An app that matches dog owners with vetted sitters',
    depth: 'standard',
    cost: 12,
    ...over,
  };
}

describe('TaskStore (FerretDB)', () => {
  it('creates one task per request key, even under 50 concurrent creates', async () => {
    const input = newTask();
    const results = await Promise.all(Array.from({ length: 50 }, () => store.create(input)));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.task.id)).size).toBe(1);
    expect(await store.collection.countDocuments({ requestKey: input.requestKey })).toBe(1);
    const task = await store.get(results[0]!.task.id);
    expect(task?.checkpoints.map((c) => c.id)).toEqual(['received']);
    expect(task).not.toHaveProperty('keywords');
  });

  it('records each checkpoint once, in completion order, even when written concurrently', async () => {
    const { task } = await store.create(newTask());
    const base = Date.now();
    const ids = [
      'credits_reserved',
      'queued',
      'started',
      'plan',
      'queries',
      'market_search',
      'competitor_search',
      'customer_search',
    ] as const;
    await Promise.all(
      ids.flatMap((id, i) => [
        store.addCheckpoint(task.id, id, new Date(base + i)),
        store.addCheckpoint(task.id, id, new Date(base + i)),
      ]),
    );
    const stored = await store.get(task.id);
    expect(stored?.checkpoints.map((c) => c.id)).toEqual(['received', ...ids]);
  });

  it('decides an outcome once among 30 concurrent contenders and writes it with the report', async () => {
    const { task } = await store.create(newTask());
    const contenders = Array.from({ length: 30 }, (_, i) =>
      store.decideOutcome(
        task.id,
        i % 2
          ? { status: 'succeeded' }
          : { status: 'cancelled', error: { userMessage: 'c', detail: `${i}` }, refunded: 12 },
      ),
    );
    const results = await Promise.all(contenders);
    expect(results.filter((r) => r.won)).toHaveLength(1);
    const winner = results.find((r) => r.won)!.outcome;
    for (const r of results) expect(r.outcome).toEqual(winner);
    await store.applyOutcome(
      task.id,
      { status: 'succeeded' },
      fakeResult({ runId: task.id, idea: task.idea, depth: task.depth }),
    );
    expect((await store.get(task.id))?.report?.json.score.total).toBe(64);
  });

  it('lets exactly one of 30 concurrent runs claim the final delivery, and a dead claim be taken over once', async () => {
    const { task } = await store.create(newTask());
    const claims = await Promise.all(
      Array.from({ length: 30 }, (_, i) => store.claimDelivery(task.id, `run-${i}`, 60_000)),
    );
    expect(claims.filter(Boolean)).toHaveLength(1);
    // An hour later the first claim is stale: one of the late runs supersedes it, the others see its fresh claim.
    const later = new TaskStore(mongo, { now: () => new Date(Date.now() + 3_600_000) });
    const takeovers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => later.claimDelivery(task.id, `late-${i}`, 60_000)),
    );
    expect(takeovers.filter(Boolean)).toHaveLength(1);
    expect(await store.markDelivered(task.id)).toBeDefined();
    expect(await store.markDelivered(task.id)).toBeUndefined();
    expect(await store.claimDelivery(task.id, 'after', 0)).toBe(false);
    expect((await store.getDoc(task.id))?.deliveredAt).toBeInstanceOf(Date);
  });

  it('still shows what the insert-only records prove after a concurrent write clobbered the document', async () => {
    const { task } = await store.create(newTask());
    await store.addCheckpoint(task.id, 'queued');
    await store.requestCancel(task.id, 'U7');
    await store.decideOutcome(task.id, {
      status: 'cancelled',
      error: { userMessage: 'Cancelled.', detail: 'U7' },
      refunded: 12,
    });
    await store.markDelivered(task.id);
    // What FerretDB's read-modify-write leaves when a stale writer lands last.
    await store.collection.updateOne(
      { _id: task.id },
      {
        $set: { status: 'running', checkpoints: [], checkpointIds: [] },
        $unset: { deliveredAt: '', cancelRequested: '' },
      },
    );
    const doc = await store.getDoc(task.id);
    expect(doc?.checkpoints.map((c) => c.id)).toEqual(['received', 'queued']);
    expect(doc).toMatchObject({ status: 'cancelled', refunded: 12, cancelRequested: { by: 'U7' } });
    expect(doc?.deliveredAt).toBeInstanceOf(Date);
    expect((await store.get(task.id))?.status).toBe('cancelled');
  });

  it('shows a checkpoint recorded without a document write in reads and in lists', async () => {
    const ws = `ws-${randomUUID()}`;
    const { task } = await store.create(newTask({ workspaceId: ws }));
    expect(await store.recordCheckpoint(task.id, 'queued')).toBe(true);
    expect(await store.recordCheckpoint(task.id, 'queued')).toBe(false);
    await store.create(newTask({ workspaceId: ws })); // created, never queued
    expect(await store.countQueued(ws)).toBe(1);
    expect((await store.getStored(task.id))?.checkpointIds).toEqual(['received']);
    expect((await store.get(task.id))?.checkpoints.map((c) => c.id)).toEqual(['received', 'queued']);
    const listed = (await store.listByWorkspace(ws)).find((t) => t.id === task.id);
    expect(listed?.checkpoints.map((c) => c.id)).toEqual(['received', 'queued']);
    const { items } = await store.search({ workspaceId: ws });
    expect(items.find((t) => t.id === task.id)?.checkpoints.map((c) => c.id)).toEqual(['received', 'queued']);
  });

  it('records one cancel request', async () => {
    const { task } = await store.create(newTask());
    const results = await Promise.all(Array.from({ length: 10 }, () => store.requestCancel(task.id, 'U1')));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await store.isCancelRequested(task.id)).toBe(true);
    expect((await store.get(task.id))?.cancelRequested?.by).toBe('U1');
  });

  it('searches by whole words and a prefix being typed, with filters, sort and pages', async () => {
    const ws = `ws-${randomUUID().slice(0, 6)}`;
    const a = (await store.create(newTask({ workspaceId: ws, idea: 'Marketplace for vintage guitars' }))).task;
    const b = (
      await store.create(
        newTask({
          workspaceId: ws,
          idea: 'Guitar lessons over video',
          depth: 'deep',
          origin: { platform: 'discord', guildId: 'G', channelId: 'C', userId: 'U' },
        }),
      )
    ).task;
    await store.create(newTask({ workspaceId: ws, idea: 'Café booking for dog owners' }));
    const result = fakeResult({ runId: b.id, idea: b.idea, depth: 'deep' });
    await store.applyOutcome(
      b.id,
      { status: 'succeeded' },
      {
        ...result,
        report: {
          ...result.report,
          title: 'Remote music teaching',
          score: { total: 81, band: 'exceptional', confidence: 'high', subScores: [] },
        },
      },
    );

    const ids = async (q: Parameters<TaskStore['search']>[0]) =>
      (await store.search({ workspaceId: ws, ...q })).items.map((t) => t.id);
    expect((await ids({ text: 'guit' })).sort()).toEqual([a.id, b.id].sort()); // `guitars` and `guitar`
    expect(await ids({ text: 'guitars ' })).toEqual([a.id]); // a finished word matches whole words only
    expect(await ids({ text: 'vintage gui' })).toEqual([a.id]);
    expect(await ids({ text: 'vintage ' })).toEqual([a.id]);
    expect(await ids({ text: 'CAFÉ' })).toHaveLength(1);
    expect(await ids({ text: 'music' })).toEqual([b.id]); // the report title is searchable once stored
    expect(await ids({ depth: 'deep' })).toEqual([b.id]);
    expect(await ids({ platform: 'discord' })).toEqual([b.id]);
    expect(await ids({ status: 'succeeded', scoreMin: 80 })).toEqual([b.id]);
    expect(await ids({ scoreMax: 50 })).toEqual([]);
    const page1 = await store.search({ workspaceId: ws, sort: 'oldest', pageSize: 2 });
    const page2 = await store.search({ workspaceId: ws, sort: 'oldest', pageSize: 2, page: 2 });
    expect(page1.total).toBe(3);
    expect(page1.items[0]!.id).toBe(a.id);
    expect(page2.items).toHaveLength(1);
    expect((await store.listByWorkspace(ws, 2)).map((t) => t.id)).toEqual(await ids({ pageSize: 2 }));
  });

  it('stores message refs on the origin', async () => {
    const { task } = await store.create(newTask());
    const updated = await store.setOriginRefs(task.id, { parentTs: '1.1', statusTs: '1.2' });
    expect(updated?.origin).toMatchObject({ platform: 'slack', parentTs: '1.1', statusTs: '1.2' });
  });
});
