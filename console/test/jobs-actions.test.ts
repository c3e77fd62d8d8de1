// Playground submit and job cancel/retry through the console's actions, on the real job layer (Agenda on
// FerretDB, Redis) with no worker running: a submitted research stays queued until the console cancels it.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { ActionFunctionArgs, LoaderFunctionArgs } from '@remix-run/node';
import { parseEnv } from '../../core/config/index.js';
import { createJobs, type Jobs } from '../../core/jobs/index.js';
import { createLogger } from '../../core/observability/logger.js';
import type { Storage } from '../../core/storage/index.js';
import { uniquePrefix } from '../../test/helpers/storage.js';
import * as jobsRoute from '../app/routes/jobs.js';
import * as playgroundRoute from '../app/routes/playground.js';
import { createHarness, fundPlayground, respond, type Harness } from './harness.js';

type Fn = (args: LoaderFunctionArgs & ActionFunctionArgs) => Promise<unknown>;

let h: Harness;
let jobs: Jobs;
let admin: { cookie: string };

beforeAll(async () => {
  h = await createHarness('console_jobs');
  const env = parseEnv({ ...process.env });
  const storage: Storage = {
    pg: h.services.db,
    mongo: h.mongo,
    redis: h.services.redis,
    health: async () => ({ ok: true, dependencies: [] }),
    close: async () => undefined,
  };
  const prefix = uniquePrefix('console-jobs');
  jobs = createJobs({
    env,
    storage,
    ledger: h.ledger,
    deliveries: () => undefined,
    logger: createLogger('console-jobs', 'silent'),
    tuning: { channel: `${prefix}agenda`, progressPrefix: `${prefix}progress:` },
  });
  h.services.jobs = jobs;
  await fundPlayground(h.ledger);
  admin = await h.user('admin');
});

afterAll(async () => {
  await jobs.stop();
  await h.close();
});

const call = (fn: Fn, request: Request) => respond(() => fn({ request, context: h.context, params: {} }));

describe('playground and jobs actions', () => {
  it('submits once per idempotency key, charges the console workspace, and cancels with an audit row', async () => {
    const key = randomUUID();
    const form = {
      idea: 'A marketplace that rents out camping gear between neighbours',
      depth: 'essential',
      idempotencyKey: key,
    };
    const first = await call(playgroundRoute.action as Fn, h.post('/playground', form, { cookie: admin.cookie }));
    const second = await call(playgroundRoute.action as Fn, h.post('/playground', form, { cookie: admin.cookie }));
    expect(first.status).toBe(302);
    expect(second.headers.get('location')).toBe(first.headers.get('location'));
    const taskId = decodeURIComponent(first.headers.get('location')!.split('task=')[1]!);
    const task = await h.tasks.get(taskId);
    expect(task).toMatchObject({ status: 'queued', depth: 'essential', cost: 6, origin: { platform: 'console' } });
    const ws = await h.ledger.findWorkspace('console', 'console');
    expect(ws?.id).toBe(task?.workspaceId);
    const holds = (await h.ledger.transactions(ws!.id, { type: 'reserve' })).items.filter((t) => t.taskId === taskId);
    expect(holds).toHaveLength(1);

    const page = (await (
      await call(playgroundRoute.loader as Fn, h.get(`/playground?task=${taskId}`, admin.cookie))
    ).json()) as { task: { id: string; checkpoints: string[] } };
    expect(page.task.id).toBe(taskId);
    expect(page.task.checkpoints).toEqual(expect.arrayContaining(['received', 'credits_reserved', 'queued']));

    const jobsPage = (await (await call(jobsRoute.loader as Fn, h.get('/jobs', admin.cookie))).json()) as {
      sections: { status: string; items: { id: string }[] }[];
    };
    expect(jobsPage.sections.find((s) => s.status === 'queued')?.items.map((i) => i.id)).toContain(taskId);

    const cancel = await call(
      jobsRoute.action as Fn,
      h.post(
        '/jobs',
        { intent: 'cancel', taskId, reason: 'testing cancel', idempotencyKey: randomUUID() },
        { cookie: admin.cookie },
      ),
    );
    expect(await cancel.json()).toEqual({ ok: true, message: `Cancelling ${taskId}` });
    expect((await h.tasks.get(taskId))?.status).toBe('cancelled');
    const audit = await h.services.db('console_audit_log').where({ target_id: taskId }).orderBy('id');
    expect(audit.map((a: { action: string }) => a.action)).toEqual(['playground.submit', 'task.cancel']);

    const again = await call(
      jobsRoute.action as Fn,
      h.post(
        '/jobs',
        { intent: 'retry', taskId: 'R-NOPE', reason: 'no such task', idempotencyKey: randomUUID() },
        { cookie: admin.cookie },
      ),
    );
    expect(again.status).toBe(404);
    expect(((await again.json()) as { ok: boolean }).ok).toBe(false);
  });
});

describe('jobs page', () => {
  it('shows the exact cause of a provider refusal beside the message the requester got', async () => {
    const { task } = await h.tasks.create({
      requestKey: `cause:${randomUUID()}`,
      workspaceId: 'ws-cause',
      requester: { id: 'U1', name: 'maria' },
      origin: { platform: 'slack', teamId: 'T1', channelId: 'C1', userId: 'U1' },
      idea: 'A booking app for mobile bike repair',
      depth: 'standard',
      cost: 12,
    });
    const outcome = {
      status: 'failed' as const,
      error: {
        userMessage: "The research could not be run: the bot's setup needs an admin.",
        detail: 'tavily search failed after 1 attempt(s) (not_retryable): bad credentials 401',
        failure: { provider: 'tavily' as const, kind: 'bad_credentials' as const, setting: 'TAVILY_API_KEY' },
      },
      refunded: 12,
    };
    await h.tasks.decideOutcome(task.id, outcome);
    await h.tasks.applyOutcome(task.id, outcome);
    const page = (await (await call(jobsRoute.loader as Fn, h.get('/jobs', admin.cookie))).json()) as {
      sections: { status: string; items: { id: string; error: string | null; cause: string | null }[] }[];
    };
    const row = page.sections.find((s) => s.status === 'failed')?.items.find((i) => i.id === task.id);
    expect(row?.error).toMatch(/needs an admin/);
    expect(row?.cause).toBe(
      'Tavily · bad credentials · fix: set TAVILY_API_KEY to a valid key from https://app.tavily.com',
    );
  });
});
