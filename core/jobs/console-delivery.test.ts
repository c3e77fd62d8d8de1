import { afterAll, describe, expect, it } from '@jest/globals';
import { testRedis, uniquePrefix } from '../../test/helpers/storage.js';
import type { Task } from '../tasks/types.js';
import { consoleDeliveryChannel, createConsoleDelivery, type ConsoleEvent } from './console-delivery.js';
import { reviveTask } from './progress.js';

const pub = testRedis();
const sub = testRedis();
afterAll(() => {
  pub.disconnect();
  sub.disconnect();
});

const task: Task = {
  id: 'R-TEST',
  workspaceId: 'ws',
  requester: { id: 'U1' },
  origin: { platform: 'console', userId: 'U1' },
  idea: 'x',
  depth: 'essential',
  cost: 6,
  status: 'running',
  checkpoints: [{ id: 'received', at: new Date('2026-01-01T00:00:00Z') }],
  createdAt: new Date('2026-01-01T00:00:00Z'),
};

describe('console delivery', () => {
  it('publishes progress, success and failure as events on the task channel', async () => {
    const prefix = uniquePrefix('console-delivery');
    const events: ConsoleEvent[] = [];
    await sub.subscribe(consoleDeliveryChannel(task.id, prefix));
    sub.on('message', (_c: string, m: string) => events.push(JSON.parse(m) as ConsoleEvent));
    const delivery = createConsoleDelivery(pub, prefix);
    await delivery.progress(task);
    await delivery.failed({ ...task, status: 'failed' });
    await new Promise((r) => setTimeout(r, 200));
    expect(events.map((e) => e.kind)).toEqual(['progress', 'failed']);
    expect(events[1]!.task.status).toBe('failed');
    expect(reviveTask(JSON.stringify(events[0]!.task)).checkpoints[0]!.at).toEqual(task.checkpoints[0]!.at);
  });
});
