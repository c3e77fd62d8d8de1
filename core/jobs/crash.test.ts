import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { startSandbox, type Sandbox } from '../sandbox/index.js';
import { connectMongo, type Mongo } from '../storage/index.js';
import { sandboxEngine } from '../../test/helpers/research.js';
import { CHECKPOINTS } from '../research/checkpoints.js';
import type { DeliveryCall } from '../../test/helpers/jobs-fixtures.js';
import { startPrivateFerretDb, type PrivateServer } from '../../test/helpers/private-servers.js';
import { openHarness, waitFor, type Harness } from '../../test/helpers/jobs-harness.js';
import type { Jobs } from './types.js';

// A worker process is SIGKILLed at a random point of a running job while another worker (this process)
// stays alive: the survivor takes the job over once the dead worker's short lock expires, and every task
// still ends delivered with its credits captured once. Real engine on the sandbox providers.

const TRIALS = 20;
const JOBS_PER_TRIAL = 1;
const WORKER = fileURLToPath(new URL('../../test/helpers/jobs-worker-process.ts', import.meta.url));

let h: Harness;
/** Submits and publishes on the Redis channel (the survivor worker itself does not listen to it). */
let submitter: Jobs;
let mongo: Mongo;
let sandbox: Sandbox;
let ferret: PrivateServer;
const children = new Set<ChildProcess>();
const cachePrefix = `test:crash:${randomUUID().slice(0, 8)}:`;

beforeAll(async () => {
  sandbox = await startSandbox({ latencyMs: { search: 40, extract: 40, llm: 60 } });
  const db = `t_jobs_crash_${randomUUID().slice(0, 8)}`;
  // A private FerretDB: killing clients mid-write can crash FerretDB 1.24, and the shared one is everyone's.
  ferret = await startPrivateFerretDb();
  mongo = await connectMongo(ferret.url, db);
  // The survivor learns of new jobs only by polling, so the child (on the Redis channel) starts them.
  h = await openHarness('crash', {
    mongo,
    deliverySink: mongo.db.collection<DeliveryCall>('delivery_log'),
    tuning: { notify: false, processEveryMs: 1000 },
  });
  h.engine.impl = sandboxEngine(sandbox, h.storage.redis, h.storage.pg, { cachePrefix });
  await h.jobs.startWorker();
  submitter = h.another({ tuning: { notify: true } });
}, 60_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await h?.close();
  await sandbox?.close();
  await mongo.client.close();
  await ferret?.close();
});

function spawnWorker(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER], {
    env: {
      ...process.env,
      MONGO_URL: ferret.url,
      WORKER_DB: mongo.db.databaseName,
      // The doomed workers take new jobs from the Redis channel only (no polling): take-overs are the
      // survivor's, so each job is interrupted once rather than again by every later kill.
      WORKER_TUNING: JSON.stringify({ ...h.tuning, notify: true, processEveryMs: 3_600_000 }),
      WORKER_ENV: JSON.stringify(h.env),
      WORKER_ENGINE: 'sandbox',
      SANDBOX_TAVILY_URL: sandbox.tavilyUrl,
      SANDBOX_OPENAI_URL: sandbox.openaiUrl,
      WORKER_CACHE_PREFIX: cachePrefix,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (b: Buffer) => b.toString().includes('ready') && resolve(child));
    child.on('exit', (code) => reject(new Error(`worker exited early (${code})`)));
  });
}

const log = () => mongo.db.collection<DeliveryCall>('delivery_log');

/** What a failing run needs to be diagnosed: the task, its Agenda job and every delivery call it made. */
async function describeStuck(taskId: string): Promise<string> {
  const task = await h.jobs.tasks.getDoc(taskId);
  const job = await mongo.db.collection('agendaJobs').findOne({ 'data.taskId': taskId });
  const calls = await log().find({ taskId }).toArray();
  const { report: _report, ...taskWithoutReport } = task ?? {};
  return JSON.stringify({ task: taskWithoutReport, job, calls: calls.map((c) => [c.kind, c.pid]) }, null, 1);
}

describe('a worker killed mid-job', () => {
  it(`loses nothing and duplicates nothing over ${TRIALS} SIGKILLs`, async () => {
    const taskIds: string[] = [];
    let crashes = 0;
    const killed = new Set<number>();
    // Two worker processes are up at a time (tsx start-up takes seconds): whichever starts one of the
    // trial's jobs is killed at a random point of it, and a fresh one warms up in its place.
    const pool = await Promise.all([spawnWorker(), spawnWorker()]);
    for (let trial = 0; crashes < TRIALS && trial < TRIALS * 2; trial++) {
      const ids: string[] = [];
      for (let j = 0; j < JOBS_PER_TRIAL; j++) {
        const { task } = await submitter.submitResearch({
          requestKey: randomUUID(),
          workspaceId: h.workspaceId,
          requester: { id: 'U1' },
          origin: { platform: 'console', userId: 'U1' },
          idea: `Crash trial ${trial}.${j}: a marketplace for renting camping gear between neighbours`,
          depth: 'essential',
        });
        ids.push(task.id);
      }
      taskIds.push(...ids);
      const pids = pool.map((c) => c.pid);
      const started = await waitFor(
        'a worker process to start a job',
        async () =>
          (await log().findOne({
            taskId: { $in: ids },
            pid: { $in: pids.filter((p): p is number => p !== undefined) },
          })) ?? undefined,
        30_000,
      ).catch(() => undefined);
      const victim = pool.findIndex((c) => c.pid === started?.pid);
      if (victim >= 0) {
        await new Promise((r) => setTimeout(r, Math.random() * 2500));
        killed.add(pool[victim]!.pid!);
        pool[victim]!.kill('SIGKILL');
        crashes++;
        pool[victim] = await spawnWorker();
      }
      if (process.env.CRASH_TEST_VERBOSE)
        process.stderr.write(
          `${new Date().toISOString()} trial ${trial}: ${victim >= 0 ? 'killed mid-job' : 'no worker process started a job'}\n`,
        );
    }
    for (const c of pool) c.kill('SIGKILL');
    expect(crashes).toBe(TRIALS);

    for (const id of taskIds) {
      const doc = await waitFor(
        `task ${id} delivered`,
        async () => {
          const d = await h.jobs.tasks.getDoc(id);
          return d?.deliveredAt ? d : undefined;
        },
        120_000,
      ).catch(async (err: Error) => {
        throw new Error(`${err.message}\n${await describeStuck(id)}`);
      });
      expect(doc.status).toBe('succeeded');
      expect(new Set(doc.checkpoints.map((c) => c.id))).toEqual(new Set(CHECKPOINTS));
      expect(doc.checkpoints).toHaveLength(17);
      // Delivering and recording that it was done cannot be one step: a worker killed between the two leaves
      // the final delivery to the next run. So a second call is allowed only after a first one whose process
      // was killed (the platforms' own done-once keys keep the user from seeing it twice); two live runs
      // delivering the same task would fail here.
      const finals = await log().find({ taskId: id, kind: 'succeeded' }).sort({ at: 1 }).toArray();
      expect(finals.length).toBeGreaterThanOrEqual(1);
      for (const earlier of finals.slice(0, -1)) expect(killed.has(earlier.pid)).toBe(true);
      expect(await log().countDocuments({ taskId: id, kind: 'failed' })).toBe(0);
      const hold = await h.ledger.getHold(id);
      expect(hold?.status).toBe('captured');
    }
    const rows = (await h.ledger.transactions(h.workspaceId, { pageSize: 100, type: 'capture' })).items;
    for (const id of taskIds) expect(rows.filter((r) => r.taskId === id)).toHaveLength(1);
    expect(await h.ledger.checkInvariant(h.workspaceId)).toEqual({ ok: true, problems: [] });
  }, 600_000);
});
