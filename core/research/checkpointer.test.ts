// The _id-keyed LangGraph checkpointer against the real FerretDB/MongoDB: a small graph interrupted by a
// failing node resumes from its last completed step, and finished steps are not run again.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Annotation, END, START, StateGraph } from '@langchain/langgraph';
import type { Mongo } from '../storage/mongo.js';
import { testMongo } from '../../test/helpers/storage.js';
import { ResearchCheckpointSaver } from './checkpointer.js';

let mongo: Mongo;
beforeAll(async () => {
  mongo = await testMongo('research_checkpointer');
});
afterAll(async () => {
  await mongo.client.close();
});

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
  it('resumes after a crash without re-running finished steps, including a finished parallel sibling', async () => {
    const saver = new ResearchCheckpointSaver(mongo.db);
    await saver.setup();
    const runs: Record<string, number> = {};
    const config = { configurable: { thread_id: 'thread:1' } };
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

    await saver.deleteThread('thread:1');
    expect(await saver.getTuple(config)).toBeUndefined();
  });

  it('keeps threads apart', async () => {
    const saver = new ResearchCheckpointSaver(mongo.db);
    const runs: Record<string, number> = {};
    await graph(saver, runs, undefined).invoke({ log: [] }, { configurable: { thread_id: 'x' } });
    expect(await saver.getTuple({ configurable: { thread_id: 'y' } })).toBeUndefined();
    expect((await saver.getTuple({ configurable: { thread_id: 'x' } }))?.checkpoint.id).toBeTruthy();
  });
});
