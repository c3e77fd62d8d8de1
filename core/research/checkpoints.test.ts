import { describe, expect, it } from '@jest/globals';
import {
  AGENTS,
  CHECKPOINTS,
  CHECKPOINT_GRID,
  ENGINE_CHECKPOINTS,
  checkpointPrerequisites,
  checkpointState,
} from './checkpoints.js';

describe('checkpoints', () => {
  it('gives the engine plan through report, and the job layer intake and delivery', () => {
    expect(ENGINE_CHECKPOINTS).toEqual(
      CHECKPOINTS.slice(CHECKPOINTS.indexOf('plan'), CHECKPOINTS.indexOf('delivered')),
    );
  });

  it('derives a grid that holds every checkpoint once, in order within each line', () => {
    const { head, agents, tail } = CHECKPOINT_GRID;
    expect(head).toEqual(['received', 'credits_reserved', 'queued', 'started', 'plan', 'queries']);
    expect(agents.map((a) => a.agent)).toEqual([...AGENTS]);
    expect(agents.map((a) => a.steps)).toEqual(
      AGENTS.map((agent) => [`${agent}_search`, `${agent}_extract`, `${agent}_analysis`]),
    );
    expect(tail).toEqual(['report', 'delivered']);
    expect([...head, ...agents.flatMap((a) => a.steps), ...tail].sort()).toEqual([...CHECKPOINTS].sort());
  });

  it.each([
    ['received', []],
    ['plan', ['started']],
    ['market_search', ['queries']],
    ['competitor_extract', ['competitor_search']],
    ['report', ['market_analysis', 'competitor_analysis', 'customer_analysis']],
    ['delivered', ['report']],
  ] as const)('%s waits for %j', (id, before) => {
    expect(checkpointPrerequisites(id)).toEqual(before);
  });

  it('is in progress only while running and once its prerequisites are done', () => {
    const done = new Set(['received', 'credits_reserved'] as const);
    expect(checkpointState('received', done, true)).toBe('done');
    expect(checkpointState('queued', done, true)).toBe('in_progress');
    expect(checkpointState('queued', done, false)).toBe('waiting');
    expect(checkpointState('started', done, true)).toBe('waiting');
  });
});
