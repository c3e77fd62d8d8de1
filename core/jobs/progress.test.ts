import { describe, expect, it } from '@jest/globals';
import type { Task } from '../tasks/types.js';
import { CHECKPOINTS } from '../research/checkpoints.js';
import { ProgressCoalescer } from './progress.js';

function taskWith(n: number, status: Task['status'] = 'running'): Task {
  return {
    id: 'R-AAAA',
    workspaceId: 'w',
    requester: { id: 'u' },
    origin: { platform: 'console', userId: 'u' },
    idea: 'i',
    depth: 'standard',
    cost: 12,
    status,
    checkpoints: CHECKPOINTS.slice(0, n).map((id) => ({ id, at: new Date(0) })),
    createdAt: new Date(0),
  };
}

describe('ProgressCoalescer', () => {
  it('sends the first state at once, then only the newest, never going backwards, and the final always', async () => {
    let clock = 0;
    const sent: { n: number; final: boolean }[] = [];
    const c = new ProgressCoalescer(
      async (t, final) => void sent.push({ n: t.checkpoints.length, final }),
      1000,
      () => clock,
    );
    c.offer(taskWith(4));
    await new Promise((r) => setTimeout(r, 10));
    clock = 100;
    c.offer(taskWith(5));
    c.offer(taskWith(7));
    c.offer(taskWith(6)); // older than what is waiting: ignored
    await c.flush(taskWith(16, 'succeeded'));
    c.offer(taskWith(17)); // after the final: ignored
    expect(sent).toEqual([
      { n: 4, final: false },
      { n: 16, final: true },
    ]);
  });

  it('waits out the interval before the next send', async () => {
    let clock = 0;
    const sent: number[] = [];
    const c = new ProgressCoalescer(
      async (t) => void sent.push(t.checkpoints.length),
      50,
      () => clock,
    );
    c.offer(taskWith(4));
    await new Promise((r) => setTimeout(r, 5));
    clock = 10;
    c.offer(taskWith(5));
    expect(sent).toEqual([4]);
    clock = 60;
    await new Promise((r) => setTimeout(r, 80));
    expect(sent).toEqual([4, 5]);
    c.close();
  });

  it('close aborts a send under way and waits for it, so the final state is the last one sent', async () => {
    const events: string[] = [];
    let release!: () => void;
    const c = new ProgressCoalescer(async (t, final, signal) => {
      const n = t.checkpoints.length;
      if (!final) await new Promise<void>((r) => (release = r));
      events.push(`${n}${final ? ' final' : ''}${signal.aborted ? ' aborted' : ''}`);
    }, 1000);
    c.offer(taskWith(15));
    await new Promise((r) => setTimeout(r, 10));
    let closed = false;
    const closing = c.close().then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(closed).toBe(false);
    release();
    await closing;
    c.offer(taskWith(16)); // after close: ignored
    await c.flush(taskWith(17, 'succeeded'));
    expect(events).toEqual(['15 aborted', '17 final']);
  });
});
