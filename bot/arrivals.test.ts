import { describe, expect, it } from '@jest/globals';
import { ArrivalRate } from './arrivals.js';

describe('ArrivalRate', () => {
  it('counts the arrivals of the last second and calls a burst at the threshold', () => {
    let now = 10_000;
    const rate = new ArrivalRate(3, () => now);
    expect(rate.perSecond).toBe(0);
    expect(rate.bursting).toBe(false);
    rate.note();
    now += 300;
    rate.note();
    expect(rate.bursting).toBe(false);
    now += 300;
    rate.note();
    expect(rate.perSecond).toBe(3);
    expect(rate.bursting).toBe(true);
    // The first arrival is now exactly a second old: gone.
    now += 400;
    expect(rate.perSecond).toBe(2);
    expect(rate.bursting).toBe(false);
    now += 5_000;
    expect(rate.perSecond).toBe(0);
  });

  it('keeps only a second of arrivals however many come', () => {
    let now = 0;
    const rate = new ArrivalRate(20, () => now);
    for (let n = 0; n < 100_000; n++) {
      now += 1;
      rate.note();
    }
    expect(rate.perSecond).toBe(1000);
  });
});
