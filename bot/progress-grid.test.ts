import { describe, expect, it } from '@jest/globals';
import { CHECKPOINTS } from '../core/research/checkpoints.js';
import { checkpointGridLines, formatDuration, progressBar } from './progress-grid.js';

describe('progressBar', () => {
  it.each([
    [0, '▱'.repeat(17)],
    [7, '▰'.repeat(7) + '▱'.repeat(10)],
    [17, '▰'.repeat(17)],
    [20, '▰'.repeat(17)],
  ])('bar %i', (n, bar) => expect(progressBar(n)).toBe(bar));
});

describe('formatDuration', () => {
  it('formats elapsed time', () => {
    expect(formatDuration(48_000)).toBe('0:48');
    expect(formatDuration(112_000)).toBe('1:52');
    expect(formatDuration(3_725_000)).toBe('1:02:05');
  });
});

describe('checkpointGridLines', () => {
  const plain = { separator: ' | ', row: (name: string, marks: string) => `${name}: ${marks}` };

  it('lays out head, a row per agent and tail in the style it is given', () => {
    const done = new Set(CHECKPOINTS.slice(0, 6)); // up to queries
    expect(checkpointGridLines(done, true, plain)).toEqual([
      '✓ received | ✓ credits | ✓ queued | ✓ started | ✓ plan | ✓ queries',
      'Market: ◌ search | · extract | · analysis',
      'Competitors: ◌ search | · extract | · analysis',
      'Customers: ◌ search | · extract | · analysis',
      '· report | · delivered',
    ]);
  });

  it('puts the report in progress only once every agent has finished', () => {
    const allButOne = new Set(CHECKPOINTS.slice(0, 14)); // customer_analysis missing
    expect(checkpointGridLines(allButOne, true, plain).at(-1)).toBe('· report | · delivered');
    const all = new Set(CHECKPOINTS.slice(0, 15));
    expect(checkpointGridLines(all, true, plain).at(-1)).toBe('◌ report | · delivered');
  });
});
