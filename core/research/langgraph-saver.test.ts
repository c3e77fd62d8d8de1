// The LangGraph saver (ResearchCheckpointSaver) against the real PostgreSQL: a small graph interrupted by a failing node
// resumes from its last completed step, and finished steps are not run again.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Annotation, END, START, StateGraph } from '@langchain/langgraph';
import { randomUUID } from 'node:crypto';
import type { Db } from '../storage/postgres.js';
import { testPostgres } from '../../test/helpers/storage.js';
import { ResearchCheckpointSaver } from './langgraph-saver.js';

let pg: Db;
beforeAll(() => {
  pg = testPostgres(4);
});
afterAll(async () => {
  await pg.destroy();
});

// Threads of their own: the test database is shared by every run of the suite.
const thread = (label: string) => `${label}:${randomUUID()}`;

const State = Annotation.Root({
  log: Annotation<string[]>({ reducer: (a, b) => [...a, ...b], default: () => [] }),
});

function graph(saver: ResearchCheckpointSaver, runs: Record<string, number>, failAt: string | undefined) {
  const node = (name: string) => async () => {
    runs[name] = (runs[name] ?? 0) + 1;
    if (name === failAt) throw new Error(`crash in ${name}`);
    return { log: [name] };
  };
  return (
    new StateGraph(State)
      .addNode({ a: node('a'), b1: node('b1'), b2: node('b2'), c: node('c') })
      .addEdge(START, 'a')
      .addEdge('a', 'b1')
      .addEdge('a', 'b2')
      // Plain edges, not a join: LangGraph 1.7 does not fire a join whose other half finished before the crash.
      .addEdge('b1', 'c')
      .addEdge('b2', 'c')
      .addEdge('c', END)
      .compile({ checkpointer: saver })
  );
}

describe('ResearchCheckpointSaver', () => {
  it('groups the statements of concurrent runs, and each run resumes with its own state', async () => {
    const saver = new ResearchCheckpointSaver(pg);
    const ids = Array.from({ length: 12 }, () => thread('many'));
    const runs = ids.map((): Record<string, number> => ({}));
    const config = (id: string) => ({ configurable: { thread_id: id } });
    const crashed = await Promise.allSettled(
      ids.map((id, i) => graph(saver, runs[i]!, 'b2').invoke({ log: [`start ${i}`] }, config(id))),
    );
    expect(crashed.every((r) => r.status === 'rejected')).toBe(true);

    const finals = await Promise.all(ids.map((id, i) => graph(saver, runs[i]!, undefined).invoke(null, config(id))));
    finals.forEach((final, i) => {
      expect([...final.log].sort()).toEqual(['a', 'b1', 'b2', 'c', `start ${i}`]);
      expect(runs[i]).toEqual({ a: 1, b1: 1, b2: 2, c: 1 });
    });
    const { checkpoints, writes } = saver.batching;
    expect(checkpoints.statements).toBeLessThan(checkpoints.calls);
    expect(writes.statements).toBeLessThan(writes.calls);
  });

  it('resumes after a crash without re-running finished steps, including a finished parallel sibling', async () => {
    const saver = new ResearchCheckpointSaver(pg);
    const runs: Record<string, number> = {};
    const id = thread('crash');
    const config = { configurable: { thread_id: id } };
    await expect(graph(saver, runs, 'b2').invoke({ log: [] }, config)).rejects.toThrow(/crash in b2/);
    expect(runs).toEqual({ a: 1, b1: 1, b2: 1 });

    const state = await graph(saver, runs, undefined).getState(config);
    expect(state.next).toEqual(['b2']);

    const final = await graph(saver, runs, undefined).invoke(null, config);
    expect(runs).toEqual({ a: 1, b1: 1, b2: 2, c: 1 });
    expect([...final.log].sort()).toEqual(['a', 'b1', 'b2', 'c']);

    const done = await graph(saver, runs, undefined).getState(config);
    expect(done.next).toEqual([]);
    const history = [];
    for await (const t of saver.list(config)) history.push(t.checkpoint.id);
    expect(history.length).toBeGreaterThan(3);
    expect([...history].sort().reverse()).toEqual(history);

    await saver.deleteThread(id);
    expect(await saver.getTuple(config)).toBeUndefined();
  });

  it('keeps threads apart', async () => {
    const saver = new ResearchCheckpointSaver(pg);
    const runs: Record<string, number> = {};
    const [x, y] = [thread('x'), thread('y')];
    await graph(saver, runs, undefined).invoke({ log: [] }, { configurable: { thread_id: x } });
    expect(await saver.getTuple({ configurable: { thread_id: y } })).toBeUndefined();
    expect((await saver.getTuple({ configurable: { thread_id: x } }))?.checkpoint.id).toBeTruthy();
  });

  it("keeps the first copy of a task's writes when a late duplicate of the task stores its own", async () => {
    const saver = new ResearchCheckpointSaver(pg);
    const config = { configurable: { thread_id: thread('dup'), checkpoint_ns: '' } };
    const stored = await saver.put(
      config,
      {
        v: 4,
        id: '1f0c0000-0000-6000-8000-000000000001',
        ts: new Date().toISOString(),
        channel_values: {},
        channel_versions: {},
        versions_seen: {},
      },
      { source: 'loop', step: 1, parents: {} },
      {},
    );
    await saver.putWrites(stored, [['log', ['first']]], 'task-1');
    await saver.putWrites(stored, [['log', ['late duplicate']]], 'task-1');
    await saver.putWrites(stored, [['log', ['other task']]], 'task-2');
    const tuple = await saver.getTuple(config);
    expect(tuple?.pendingWrites).toEqual([
      ['task-1', 'log', ['first']],
      ['task-2', 'log', ['other task']],
    ]);
  });
});
