import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { Agenda } from 'agenda';
import { connectMongo, createRedis, type Mongo, type Redis } from '../storage/index.js';
import { createAgenda, RESEARCH_JOB, type ResearchJobData } from './agenda.js';
import { TEST_JOBS_ENV } from '../../test/helpers/jobs-fixtures.js';
import { testTuning, waitFor } from '../../test/helpers/jobs-harness.js';

// FerretDB applies findAndModify as read then write (decision 045): lock attempts that overlap all "win" the
// same job. Agenda makes one per notification, so a burst of jobs used to run each job several times at once
// in one worker, and the burst's duplicates kept the worker from starting the rest (issue 17: 44 of 100).

let mongo: Mongo;
let redis: Redis;
let agenda: Agenda | undefined;

beforeAll(async () => {
  mongo = await connectMongo(process.env.MONGO_URL!, `t_agenda_${randomUUID().slice(0, 8)}`);
  redis = createRedis(process.env.REDIS_URL!, 'test');
});

afterAll(async () => {
  await agenda?.stop(false);
  await mongo?.client.close();
  redis?.disconnect();
});

describe('a burst of 40 jobs in one worker', () => {
  it('runs each job once, all of them at the same time', async () => {
    const env = { ...TEST_JOBS_ENV, WORKER_CONCURRENCY: 40 };
    const tuning = { ...testTuning('agenda'), workerName: 'burst', collection: 'agendaJobs', notify: true };
    const parts = createAgenda(mongo, redis, env, tuning as never, () => undefined);
    agenda = parts.agenda;
    const runs = new Map<string, number>();
    let running = 0;
    let peak = 0;
    agenda.define<ResearchJobData>(
      RESEARCH_JOB,
      async (job) => {
        const id = job.attrs.data.taskId;
        runs.set(id, (runs.get(id) ?? 0) + 1);
        peak = Math.max(peak, ++running);
        await waitFor('every job started', async () => runs.size === 40 || peak >= 40, 20_000, 20).catch(() => 0);
        running--;
      },
      { concurrency: 40, lockLimit: 40, lockLifetime: 30_000, removeOnComplete: true },
    );
    await agenda.start();
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => agenda!.now<ResearchJobData>(RESEARCH_JOB, { taskId: `j${i}` })),
    );
    await waitFor('all jobs ran', async () => runs.size === 40 && running === 0, 30_000, 50);
    expect([...runs.values()].filter((n) => n > 1)).toEqual([]);
    expect(peak).toBe(40);
  }, 60_000);
});
