import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { CommandStartedEvent } from 'mongodb';
import { connectMongo, type Mongo } from '../storage/index.js';
import { FakeEngine } from '../../test/helpers/jobs-fixtures.js';
import { openHarness, waitFor, type Harness } from '../../test/helpers/jobs-harness.js';

// How many MongoDB commands one research costs from submit to delivery (decision 046), counted with the
// driver's command monitoring. Every write is a round trip to the server and, on FerretDB, a transaction on
// PostgreSQL; the budget below is what the exactly-once records need, so a new write has to be argued for.
// PRINT_MONGO_COMMANDS=1 prints the breakdown.

const WRITES = new Set(['insert', 'update', 'findAndModify', 'delete']);
// 31: the research-end job's definition (decision 055) costs Agenda one more lock attempt per research.
const BUDGET = { writes: 31, commands: 40 };

let h: Harness;
let mongo: Mongo;
let watcher: Mongo;
const seen: CommandStartedEvent[] = [];

beforeAll(async () => {
  const db = `t_jobs_writes_${randomUUID().slice(0, 8)}`;
  mongo = await connectMongo(process.env.MONGO_URL!, db, { monitorCommands: true });
  mongo.client.on('commandStarted', (e) => {
    if (e.databaseName === db) seen.push(e);
  });
  watcher = await connectMongo(process.env.MONGO_URL!, db);
  // The channel wakes the worker; polling is pushed out of the window so it does not count.
  h = await openHarness('writes', {
    mongo,
    engine: new FakeEngine({ stepMs: 1 }),
    tuning: { processEveryMs: 60_000, progressIntervalMs: 60_000 },
    env: { JOB_LOCK_LIFETIME_MS: 30_000 },
  });
  await h.jobs.startWorker();
});

afterAll(async () => {
  await h?.close();
  await mongo?.client.close();
  await watcher?.client.close();
});

function count(events: CommandStartedEvent[]) {
  const byCommand: Record<string, number> = {};
  for (const e of events) {
    const target = String(e.command[e.commandName] ?? '');
    const key = `${e.commandName} ${target}`;
    byCommand[key] = (byCommand[key] ?? 0) + 1;
  }
  return {
    writes: events.filter((e) => WRITES.has(e.commandName)).length,
    commands: events.length,
    byCommand,
  };
}

describe('one research, submit to delivery', () => {
  it('stays within its MongoDB command budget', async () => {
    seen.length = 0;
    const { task } = await h.jobs.submitResearch({
      requestKey: randomUUID(),
      workspaceId: h.workspaceId,
      requester: { id: 'U1' },
      origin: { platform: 'slack', teamId: 'T1', channelId: 'C1', userId: 'U1' },
      idea: 'A booking tool for independent bicycle repair shops',
      depth: 'standard',
    });
    await waitFor('delivered', async () =>
      watcher.db.collection('tasks_guards').findOne({ _id: `${task.id}:delivered` as never }),
    );
    // Whatever follows the delivered record in the same handler run (the job's completion) counts too.
    await waitFor(
      'job removed',
      async () => (await watcher.db.collection('agendaJobs').countDocuments({ 'data.taskId': task.id })) === 0,
    );
    const counted = count(seen);
    if (process.env.PRINT_MONGO_COMMANDS) process.stderr.write(`${JSON.stringify(counted, null, 1)}\n`);
    expect((await h.jobs.tasks.get(task.id))?.status).toBe('succeeded');
    expect(counted.writes).toBeLessThanOrEqual(BUDGET.writes);
    expect(counted.commands).toBeLessThanOrEqual(BUDGET.commands);
  });
});
