import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { TaskSearch } from '../../core/tasks/search.js';
import { testRedis, uniquePrefix } from '../../test/helpers/storage.js';
import { TaskIndex } from '../app/lib/task-index.server.js';
import { seedReport } from './fixtures.js';
import { createHarness, type Harness } from './harness.js';

let h: Harness;
const ws = [randomUUID(), randomUUID()];

beforeAll(async () => {
  h = await createHarness('console_task_index');
  const ideas = [
    'dog sitters for busy families',
    'dog walking marketplace in suburbs',
    'invoicing for freelance translators',
    'door-to-door dry cleaning',
    'AI tutor for dyslexic students',
    'marketplace for used lab equipment',
    'dental clinic scheduling assistant',
    'solar panel cleaning drones',
  ];
  let i = 0;
  for (const idea of ideas) {
    await seedReport(h.tasks, {
      workspaceId: ws[i % 2]!,
      idea,
      total: (i * 37) % 101,
      depth: (['essential', 'standard', 'deep'] as const)[i % 3],
    });
    i++;
  }
});

afterAll(async () => {
  await h.close();
});

describe('TaskIndex', () => {
  it('answers every search exactly as the TaskStore does', async () => {
    const index = new TaskIndex();
    await index.load(h.mongo.db.collection('tasks'));
    expect(index.size).toBe(8);
    const queries: TaskSearch[] = [
      {},
      { text: 'd' },
      { text: 'do' },
      { text: 'dog' },
      { text: 'dog ' },
      { text: 'dog s' },
      { text: 'marketplace' },
      { text: 'zzz' },
      { text: 'd', sort: 'score_desc' },
      { text: 'd', sort: 'score_asc', page: 2, pageSize: 2 },
      { sort: 'oldest', pageSize: 3, page: 2 },
      { workspaceId: ws[0] },
      { depth: 'deep' },
      { scoreMin: 30, scoreMax: 80 },
      { status: 'succeeded', platform: 'slack', text: 'ma' },
      { from: new Date(Date.now() - 60_000), to: new Date(Date.now() + 60_000), text: 'sol' },
    ];
    for (const q of queries) {
      const fromStore = await h.tasks.search(q);
      const fromIndex = index.search(q);
      expect({ q, ids: fromIndex.items.map((t) => t.id), total: fromIndex.total }).toEqual({
        q,
        ids: fromStore.items.map((t) => t.id),
        total: fromStore.total,
      });
    }
  });

  it('follows task changes published on the progress channel and forgets deleted ones', async () => {
    const redis = testRedis();
    const subscriber = redis.duplicate();
    const prefix = uniquePrefix('console-index');
    const index = new TaskIndex();
    try {
      await index.start({
        collection: h.mongo.db.collection('tasks'),
        subscriber,
        prefix,
        rescanMs: 0,
        onError: () => undefined,
      });
      expect(index.search({ text: 'quokka' }).total).toBe(0);
      const id = `R-Q${randomUUID().slice(0, 6).toUpperCase()}`;
      const task = {
        id,
        idea: 'quokka photo tours',
        depth: 'essential',
        status: 'running',
        origin: { platform: 'slack' },
        workspaceId: ws[0],
        createdAt: new Date().toISOString(),
        cost: 6,
        checkpoints: [],
      };
      // Not in this install's database (another install publishing on the same channel): not listed.
      await redis.publish(`${prefix}${id}`, JSON.stringify(task));
      await new Promise((r) => setTimeout(r, 300));
      expect(index.search({ text: 'quok' }).total).toBe(0);
      await h.mongo.db.collection('tasks').insertOne({ _id: id, ...task } as never);
      await redis.publish(`${prefix}${id}`, JSON.stringify(task));
      await waitFor(() => index.search({ text: 'quok' }).total === 1);
      expect(index.search({ text: 'quok' }).items[0]).toMatchObject({ id, status: 'running' });
      await redis.publish(
        `${prefix}${id}`,
        JSON.stringify({
          ...task,
          status: 'succeeded',
          report: { json: { title: 'Wallaby tours', summary: 'Marsupials', score: { total: 55, band: 'moderate' } } },
        }),
      );
      await waitFor(() => index.search({ text: 'wallaby' }).total === 1);
      expect(index.search({ text: 'quokka' }).items[0]).toMatchObject({ status: 'succeeded', score: 55 });
      index.remove(id);
      expect(index.search({ text: 'quok' }).total).toBe(0);
    } finally {
      await index.stop();
      subscriber.disconnect();
      await redis.quit();
    }
  });
});

async function waitFor(check: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
