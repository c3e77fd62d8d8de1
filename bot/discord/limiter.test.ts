import { describe, expect, it } from '@jest/globals';
import { Limiter } from './limiter.js';

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
});
