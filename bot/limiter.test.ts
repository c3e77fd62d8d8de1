import { describe, expect, it } from '@jest/globals';
import { BURST_REST_FACTOR, Limiter, LimiterClosedError } from './limiter.js';

describe('Limiter', () => {
  it('runs at most `max` at once, in arrival order, and survives failures', async () => {
    const limiter = new Limiter(2);
    let active = 0;
    let peak = 0;
    const started: number[] = [];
    const gates = Array.from({ length: 6 }, () => {
      let open!: () => void;
      const opened = new Promise<void>((r) => (open = r));
      return { open, opened };
    });
    const runs = gates.map((g, n) =>
      limiter.run(async () => {
        started.push(n);
        active++;
        peak = Math.max(peak, active);
        await g.opened;
        active--;
        if (n === 1) throw new Error('boom');
        return n;
      }),
    );
    const settled = Promise.allSettled(runs);
    for (const g of gates) {
      await new Promise((r) => setImmediate(r));
      g.open();
    }
    const results = await settled;
    expect(peak).toBe(2);
    expect(started).toEqual([0, 1, 2, 3, 4, 5]);
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'fulfilled',
    ]);
  });

  it('on shutdown refuses new work but finishes every task already accepted, queued ones included', async () => {
    const limiter = new Limiter(1);
    const finished: number[] = [];
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const accepted = [0, 1, 2].map((n) =>
      limiter.run(async () => {
        await gate;
        finished.push(n);
      }),
    );
    expect(limiter.size).toBe(3);
    limiter.close();
    await expect(limiter.run(async () => 'late')).rejects.toBeInstanceOf(LimiterClosedError);
    const drained = limiter.drained(5_000);
    open();
    await expect(drained).resolves.toBe(true);
    expect(finished).toEqual([0, 1, 2]);
    expect(limiter.size).toBe(0);
    await Promise.all(accepted);
  });

  it('stops waiting for the drain after the timeout, and an idle limiter is drained at once', async () => {
    const limiter = new Limiter(2);
    await expect(limiter.drained(1)).resolves.toBe(true);
    let open!: () => void;
    const stuck = limiter.run(() => new Promise<void>((r) => (open = r)));
    await expect(limiter.drained(20)).resolves.toBe(false);
    open();
    await stuck;
    await expect(limiter.drained(1)).resolves.toBe(true);
  });

  it('sheds the tasks still waiting when the time to finish runs out, and lets the running one finish', async () => {
    const limiter = new Limiter(1);
    let open!: () => void;
    const running = limiter.run(() => new Promise<string>((r) => (open = () => r('finished'))));
    const waiting = [limiter.run(async () => 'never'), limiter.run(async () => 'never')];
    limiter.close();
    await expect(limiter.drained(10)).resolves.toBe(false);
    limiter.shed();
    await expect(Promise.allSettled(waiting)).resolves.toEqual([
      { status: 'rejected', reason: expect.any(LimiterClosedError) },
      { status: 'rejected', reason: expect.any(LimiterClosedError) },
    ]);
    expect(limiter.size).toBe(1);
    open();
    await expect(running).resolves.toBe('finished');
    await expect(limiter.drained(10)).resolves.toBe(true);
  });

  it('finish: closes, finishes what was accepted, and sheds only when out of time', async () => {
    const quick = new Limiter(1);
    const done = quick.run(async () => 'done');
    await expect(quick.finish(1_000, 10)).resolves.toBe(true);
    await expect(done).resolves.toBe('done');
    await expect(quick.run(async () => 'late')).rejects.toBeInstanceOf(LimiterClosedError);

    const slow = new Limiter(1);
    let open!: () => void;
    const running = slow.run(() => new Promise<void>((r) => (open = r)));
    const waiting = slow.run(async () => 'never');
    const finished = slow.finish(20, 20);
    await expect(waiting).rejects.toBeInstanceOf(LimiterClosedError);
    await expect(finished).resolves.toBe(false);
    open();
    await running;
  });

  it('gives way during a burst: one task at a time, each followed by a rest BURST_REST_FACTOR times as long as it took', async () => {
    const frontDoor = { bursting: true };
    const limiter = new Limiter(4, frontDoor);
    let active = 0;
    let peak = 0;
    const spans: { start: number; end: number }[] = [];
    const task = async () => {
      active++;
      peak = Math.max(peak, active);
      const start = performance.now();
      await new Promise((r) => setTimeout(r, 40));
      spans.push({ start, end: performance.now() });
      active--;
    };
    await Promise.all([task, task, task].map((t) => limiter.run(t)));
    expect(peak).toBe(1);
    for (let n = 1; n < spans.length; n++) {
      const took = spans[n - 1]!.end - spans[n - 1]!.start;
      // Timers may fire a millisecond early.
      expect(spans[n]!.start - spans[n - 1]!.end).toBeGreaterThanOrEqual(took * BURST_REST_FACTOR - 2);
    }

    frontDoor.bursting = false;
    peak = 0;
    spans.length = 0;
    const quietStart = performance.now();
    await Promise.all(Array.from({ length: 4 }, () => limiter.run(task)));
    expect(peak).toBe(4);
    // Four 40 ms tasks side by side, no rests: well under one task plus its rest (160 ms).
    expect(performance.now() - quietStart).toBeLessThan(150);
  });

  it('widens again when the burst ends, starting the tasks that waited', async () => {
    const frontDoor = { bursting: true };
    const limiter = new Limiter(3, frontDoor);
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    let active = 0;
    let peak = 0;
    const task = async () => {
      active++;
      peak = Math.max(peak, active);
      await gate;
      await new Promise((r) => setTimeout(r, 20));
      active--;
    };
    const runs = Array.from({ length: 4 }, () => limiter.run(task));
    await new Promise((r) => setImmediate(r));
    expect(active).toBe(1);
    frontDoor.bursting = false;
    open();
    await Promise.all(runs);
    expect(peak).toBe(3);
    expect(limiter.size).toBe(0);
  });

  it('caps the tasks of one key, letting later keys through, and still drains them all on close', async () => {
    const limiter = new Limiter(4, undefined, 2);
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const started: string[] = [];
    const task = (name: string) => async () => {
      started.push(name);
      await gate;
    };
    const runs = [...['a1', 'a2', 'a3', 'a4'].map((n) => limiter.run(task(n), 'A')), limiter.run(task('b1'), 'B')];
    await new Promise((r) => setImmediate(r));
    // A holds two slots; B, later, runs at once; A's other two wait their turn without a slot.
    expect(started).toEqual(['a1', 'a2', 'b1']);
    expect(limiter.size).toBe(5);
    limiter.close();
    open();
    await Promise.all(runs);
    expect(started.sort()).toEqual(['a1', 'a2', 'a3', 'a4', 'b1']);
    await expect(limiter.drained(100)).resolves.toBe(true);
  });
});
