// A process that ran Agenda jobs ends on its own once Agenda is stopped. Without scripts/patch-agenda.mjs
// the liveness check of the job it ran keeps it alive for half the lock lifetime: 30 s here.
import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { LOCAL_URLS } from '../test/local-services.js';

const CHILD = `
import { Agenda } from 'agenda';
import { MongoBackend } from '@agendajs/mongo-backend';
import { MongoClient } from 'mongodb';

const client = await new MongoClient(process.env.MONGO_URL).connect();
const db = client.db(process.env.DB_NAME);
const agenda = new Agenda({ backend: new MongoBackend({ mongo: db }), processEvery: 200, defaultLockLifetime: 60000 });
agenda.define('probe', async () => {});
const completed = new Promise((resolve) => agenda.once('complete:probe', resolve));
await agenda.start();
await agenda.now('probe');
await completed;
await agenda.stop();
await db.dropDatabase();
await client.close();
process.stdout.write('stopped\\n');
`;

function runChild(): Promise<{ code: number | null; stoppedToExitMs: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
      env: { ...process.env, MONGO_URL: LOCAL_URLS.MONGO_URL, DB_NAME: `t_patch_agenda_${randomUUID().slice(0, 8)}` },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stoppedAt = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('stopped')) stoppedAt = Date.now();
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stoppedToExitMs: stoppedAt ? Date.now() - stoppedAt : Number.NaN }));
  });
}

describe('a process that ran Agenda jobs', () => {
  it("ends within seconds of agenda.stop(), not when the job's liveness check wakes 30 s later", async () => {
    const { code, stoppedToExitMs } = await runChild();
    expect(code).toBe(0);
    expect(stoppedToExitMs).toBeLessThan(3_000);
  }, 50_000);
});
