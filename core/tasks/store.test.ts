import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { testMongo } from '../../test/helpers/storage.js';
import type { Mongo } from '../storage/index.js';
import { fakeResult } from '../jobs/test-fixtures.js';
import { TaskStore, type NewTask } from './store.js';

let mongo: Mongo;
let store: TaskStore;

beforeAll(async () => {
  mongo = await testMongo('task_store');
  store = new TaskStore(mongo);
  await store.ensureIndexes();
});
afterAll(async () => {
  await mongo.db.dropDatabase();
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

  it('appends each checkpoint once and guards start, finish, credits and delivery', async () => {
    const { task } = await store.create(newTask());
    await store.addCheckpoint(task.id, 'credits_reserved');
    expect(await store.addCheckpoint(task.id, 'credits_reserved')).toBeUndefined();
    expect((await store.markStarted(task.id))?.status).toBe('running');
    expect((await store.markStarted(task.id))?.attempts).toBe(2);
    expect(await store.storeResult(task.id, fakeResult({ runId: task.id, idea: task.idea, depth: task.depth }))).toBeDefined();
    expect(await store.storeResult(task.id, fakeResult({ runId: task.id, idea: task.idea, depth: task.depth }))).toBeUndefined();
    expect(await store.finish(task.id, { status: 'failed', error: { userMessage: 'x', detail: 'y' }, refunded: 12 })).toBeUndefined();
    expect(await store.markCredits(task.id, 'captured')).toBe(true);
    expect(await store.markCredits(task.id, 'captured')).toBe(false);
    expect(await store.markCredits(task.id, 'released')).toBe(false);
    expect(await store.claimDelivery(task.id, 'w1', 60_000)).toBeDefined();
    expect(await store.claimDelivery(task.id, 'w2', 60_000)).toBeUndefined();
    expect(await store.claimDelivery(task.id, 'w2', 0)).toBeDefined();
    expect(await store.markDelivered(task.id)).toBeDefined();
    expect(await store.markDelivered(task.id)).toBeUndefined();
    expect(await store.claimDelivery(task.id, 'w3', 0)).toBeUndefined();
    const stored = await store.get(task.id);
    expect(stored?.status).toBe('succeeded');
    expect(stored?.report?.json.score.total).toBe(64);
  });

  it('refuses to start a task with a cancel request', async () => {
    const { task } = await store.create(newTask());
    expect(await store.requestCancel(task.id, 'U1')).toBeDefined();
    expect(await store.requestCancel(task.id, 'U1')).toBeUndefined();
    expect(await store.markStarted(task.id)).toBeUndefined();
    expect(await store.isCancelRequested(task.id)).toBe(true);
  });

  it('searches by whole words and a prefix being typed, with filters, sort and pages', async () => {
    const ws = `ws-${randomUUID().slice(0, 6)}`;
    const a = (await store.create(newTask({ workspaceId: ws, idea: 'Marketplace for vintage guitars' }))).task;
    const b = (await store.create(newTask({ workspaceId: ws, idea: 'Guitar lessons over video', depth: 'deep', origin: { platform: 'discord', guildId: 'G', channelId: 'C', userId: 'U' } }))).task;
    await store.create(newTask({ workspaceId: ws, idea: 'Café booking for dog owners' }));
    await store.markStarted(b.id);
    await store.storeResult(b.id, { ...fakeResult({ runId: b.id, idea: b.idea, depth: 'deep' }), report: { ...fakeResult({ runId: b.id, idea: b.idea, depth: 'deep' }).report, title: 'Remote music teaching', score: { total: 81, band: 'exceptional', confidence: 'high', subScores: [] } } });

    const ids = async (q: Parameters<TaskStore['search']>[0]) => (await store.search({ workspaceId: ws, ...q })).items.map((t) => t.id);
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
