import { describe, expect, it } from '@jest/globals';
import { StatementBatcher, type Claim } from './statement-batcher.js';

// The batcher's scheduling, without a database: `run` is a stand-in statement that records each batch and
// finishes only when the test says so.

type Pending = {
  items: readonly string[];
  finish: (results?: (string | undefined)[]) => void;
  fail: (e: Error) => void;
};

function harness(options = { maxInFlight: 1, maxBatch: 64 }) {
  const started: Pending[] = [];
  const batcher = new StatementBatcher<string, string>(
    (items) =>
      new Promise((resolve, reject) => {
        started.push({
          items,
          finish: (results) => resolve(results ?? items.map((i) => `done ${i}`)),
          fail: reject,
        });
      }),
    options,
  );
  return { batcher, started };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));
const claim = (...exclusive: string[]): Claim => ({ exclusive });

describe('StatementBatcher', () => {
  it('sends the first call at once and gathers the calls that arrive meanwhile into one statement', async () => {
    const { batcher, started } = harness();
    const first = batcher.submit('a', claim('a'));
    const later = ['b', 'c', 'd'].map((x) => batcher.submit(x, claim(x)));
    expect(started.map((s) => s.items)).toEqual([['a']]);
    started[0]!.finish();
    await expect(first).resolves.toBe('done a');
    await settle();
    expect(started.map((s) => s.items)).toEqual([['a'], ['b', 'c', 'd']]);
    started[1]!.finish();
    await expect(Promise.all(later)).resolves.toEqual(['done b', 'done c', 'done d']);
  });

  it('runs up to maxInFlight statements at once and caps a batch at maxBatch calls', async () => {
    const { batcher, started } = harness({ maxInFlight: 2, maxBatch: 2 });
    const all = ['a', 'b', 'c', 'd', 'e'].map((x) => batcher.submit(x, claim(x)));
    expect(started.map((s) => s.items)).toEqual([['a'], ['b']]);
    started[0]!.finish();
    await settle();
    expect(started.map((s) => s.items)).toEqual([['a'], ['b'], ['c', 'd']]);
    started[1]!.finish();
    await settle();
    expect(started.map((s) => s.items)).toEqual([['a'], ['b'], ['c', 'd'], ['e']]);
    started[2]!.finish();
    started[3]!.finish();
    await expect(Promise.all(all)).resolves.toHaveLength(5);
  });

  it('never runs two calls with one exclusive key at once, and lets later calls overtake the one waiting', async () => {
    const { batcher, started } = harness({ maxInFlight: 2, maxBatch: 64 });
    void batcher.submit('t1', claim('task:1'));
    void batcher.submit('t1 again', claim('task:1'));
    void batcher.submit('t2', claim('task:2'));
    expect(started.map((s) => s.items)).toEqual([['t1'], ['t2']]);
    started[1]!.finish();
    await settle();
    expect(started).toHaveLength(2);
    started[0]!.finish();
    await settle();
    expect(started.map((s) => s.items)).toEqual([['t1'], ['t2'], ['t1 again']]);
  });

  it('lets calls share a grouped key within one batch but not across two running batches', async () => {
    const { batcher, started } = harness({ maxInFlight: 2, maxBatch: 64 });
    const onA = (x: string): Claim => ({ exclusive: [x], grouped: ['balance:A'] });
    void batcher.submit('a1', onA('a1'));
    void batcher.submit('a2', onA('a2'));
    void batcher.submit('a3', onA('a3'));
    void batcher.submit('b1', { exclusive: ['b1'], grouped: ['balance:B'] });
    // a1 runs; a2 and a3 may not start a second statement on A, b1 may.
    expect(started.map((s) => s.items)).toEqual([['a1'], ['b1']]);
    started[0]!.finish();
    await settle();
    expect(started.map((s) => s.items)).toEqual([['a1'], ['b1'], ['a2', 'a3']]);
  });

  it('holds grouped keys apart only when a statement can carry several calls', () => {
    const { batcher, started } = harness({ maxInFlight: 3, maxBatch: 1 });
    for (const x of ['a1', 'a2', 'a3']) void batcher.submit(x, { exclusive: [x], grouped: ['balance:A'] });
    expect(started.map((s) => s.items)).toEqual([['a1'], ['a2'], ['a3']]);
  });

  it('gives an alone call a statement of its own', async () => {
    const { batcher, started } = harness();
    void batcher.submit('first', claim('first'));
    void batcher.submit('x', claim('x'));
    void batcher.submit('solo', { exclusive: ['solo'], alone: true });
    void batcher.submit('y', claim('y'));
    started[0]!.finish();
    await settle();
    expect(started.map((s) => s.items)).toEqual([['first'], ['x', 'y']]);
    started[1]!.finish();
    await settle();
    expect(started.map((s) => s.items)).toEqual([['first'], ['x', 'y'], ['solo']]);
  });

  it('passes "changed nothing" through as undefined, per call', async () => {
    const { batcher, started } = harness();
    void batcher.submit('first', claim('first'));
    const hit = batcher.submit('hit', claim('hit'));
    const miss = batcher.submit('miss', claim('miss'));
    started[0]!.finish();
    await settle();
    started[1]!.finish(['row for hit', undefined]);
    await expect(hit).resolves.toBe('row for hit');
    await expect(miss).resolves.toBeUndefined();
  });

  it('re-runs each call of a failed batch alone, so only the call at fault gets the error', async () => {
    const { batcher, started } = harness();
    void batcher.submit('first', claim('first'));
    const good = batcher.submit('good', claim('good'));
    const bad = batcher.submit('bad', claim('bad'));
    started[0]!.finish();
    await settle();
    started[1]!.fail(new Error('unique violation'));
    await settle();
    expect(started.slice(2).map((s) => s.items)).toEqual([['good'], ['bad']]);
    started[2]!.finish();
    started[3]!.fail(new Error('unique violation: bad'));
    await expect(good).resolves.toBe('done good');
    await expect(bad).rejects.toThrow('unique violation: bad');
    expect(batcher.stats).toEqual({ statements: 2, calls: 3 });
  });

  it('a key stays taken until the statement holding it finishes', async () => {
    const { batcher, started } = harness({ maxInFlight: 2, maxBatch: 64 });
    void batcher.submit('first', claim('k1'));
    void batcher.submit('second', claim('k2'));
    void batcher.submit('third', claim('k3'));
    expect(started.map((s) => s.items)).toEqual([['first'], ['second']]);
    started[0]!.finish();
    await settle();
    expect(started[2]!.items).toEqual(['third']);
    void batcher.submit('k3 again', claim('k3'));
    started[1]!.finish();
    await settle();
    expect(started).toHaveLength(3);
    started[2]!.finish();
    await settle();
    expect(started[3]!.items).toEqual(['k3 again']);
  });

  it('refuses options that could never run a statement', () => {
    expect(() => new StatementBatcher(async () => [], { maxInFlight: 0, maxBatch: 1 })).toThrow(/maxInFlight/);
    expect(() => new StatementBatcher(async () => [], { maxInFlight: 1, maxBatch: 0 })).toThrow(/maxBatch/);
  });
});
