// The console's /metrics (decision 080): sign-ins and audited changes counted by the app's actions, requests
// counted by route in the built console served over HTTP, and who may read it (loopback, or METRICS_TOKEN).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { ActionFunctionArgs, LoaderFunctionArgs } from '@remix-run/node';
import { register } from 'prom-client';
import { parseEnv, type Env } from '../../core/config/index.js';
import { openStorage, type Storage } from '../../core/storage/index.js';
import { FREE_FAILURES } from '../app/lib/login-limit.server.js';
import * as loginRoute from '../app/routes/login.js';
import * as workspaceRoute from '../app/routes/workspaces.$id.js';
import { consoleBuildExists, startConsole, type ConsoleServer } from '../server.js';
import { createHarness, respond, type Harness } from './harness.js';

type Fn = (args: LoaderFunctionArgs & ActionFunctionArgs) => Promise<unknown>;

async function counter(name: string, labels: Record<string, string>): Promise<number> {
  const metric = register.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  const hit = values.find((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want));
  return hit?.value ?? 0;
}

describe('counters recorded by the console app', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness('console_metrics');
  });
  afterAll(async () => {
    await h.close();
  });

  it('counts failed sign-ins, then throttled ones, and successful ones', async () => {
    const email = `nobody-${randomUUID().slice(0, 8)}@metrics.test`;
    const login = (password: string, who = email) =>
      respond(() =>
        (loginRoute.action as Fn)({
          request: h.post('/login', { email: who, password }),
          context: h.context,
          params: {},
        }),
      );
    const failed = await counter('pmf_console_logins_total', { outcome: 'failed' });
    const throttled = await counter('pmf_console_logins_total', { outcome: 'throttled' });
    const succeeded = await counter('pmf_console_logins_total', { outcome: 'succeeded' });
    // The free mistakes and the first one that earns a wait are checked; the next, at once, is throttled.
    const checked = FREE_FAILURES + 1;
    for (let n = 0; n < checked; n++) expect((await login('wrong')).status).toBe(401);
    expect((await login('wrong')).status).toBe(429);
    expect(await counter('pmf_console_logins_total', { outcome: 'failed' })).toBe(failed + checked);
    expect(await counter('pmf_console_logins_total', { outcome: 'throttled' })).toBe(throttled + 1);

    const { user, password } = await h.user('viewer');
    expect((await login(password, user.email)).status).toBe(302);
    expect(await counter('pmf_console_logins_total', { outcome: 'succeeded' })).toBe(succeeded + 1);
  });

  it('counts each admin action once by kind, however often its form is submitted', async () => {
    const admin = await h.user('admin');
    const ws = await h.ledger.ensureWorkspace({ platform: 'slack', externalId: `T-${randomUUID()}`, name: 'Metrics' });
    const form = {
      intent: 'grant',
      amount: '5',
      reason: 'metrics test',
      confirm: 'yes',
      idempotencyKey: randomUUID(),
    };
    const grant = () =>
      respond(() =>
        (workspaceRoute.action as Fn)({
          request: h.post(`/workspaces/${ws.id}`, form, { cookie: admin.cookie }),
          context: h.context,
          params: { id: ws.id },
        }),
      );
    const before = await counter('pmf_console_admin_actions_total', { action: 'workspace.grant' });
    expect((await grant()).status).toBeLessThan(400);
    expect((await grant()).status).toBeLessThan(400);
    expect(await counter('pmf_console_admin_actions_total', { action: 'workspace.grant' })).toBe(before + 1);
  });
});

describe('GET /metrics on the built console', () => {
  let storage: Storage;
  let env: Env;
  const servers: ConsoleServer[] = [];
  const start = async (extra: Partial<Env> = {}) => {
    const server = await startConsole({
      env: { ...env, ...extra },
      port: 0,
      storage,
      dev: false,
      progressPrefix: `t-metrics-${randomUUID().slice(0, 8)}:progress:`,
    });
    servers.push(server);
    return server;
  };

  beforeAll(async () => {
    if (!consoleBuildExists()) execFileSync('npm', ['run', 'console:build'], { stdio: 'ignore', timeout: 300_000 });
    env = parseEnv({ ...process.env, PMF_SANDBOX: '1', LOG_LEVEL: 'silent', METRICS_TOKEN: '' });
    storage = await openStorage(
      { ...env, MONGO_URL: `mongodb://127.0.0.1:27019/t_console_metrics_${randomUUID().slice(0, 8)}` },
      'console-metrics',
    );
  }, 320_000);

  afterAll(async () => {
    for (const s of servers) await s.close();
    await storage?.close();
  });

  it('without METRICS_TOKEN, serves requests by route, sign-ins and core metrics to loopback only', async () => {
    const server = await start();
    expect((await fetch(`${server.url}/login`)).status).toBe(200);
    const report = await fetch(`${server.url}/reports/R-NOPE`, { redirect: 'manual' });
    expect(report.status).toBe(302);
    const signIn = await fetch(`${server.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url },
      body: new URLSearchParams({ email: `x-${randomUUID()}@metrics.test`, password: 'wrong' }).toString(),
      redirect: 'manual',
    });
    expect(signIn.status).toBe(401);

    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/pmf_console_http_requests_total\{route="routes\/login",method="GET",status="200"\} [1-9]/);
    expect(text).toMatch(
      /pmf_console_http_requests_total\{route="routes\/reports\.\$id",method="GET",status="302"\} 1/,
    );
    expect(text).toMatch(/pmf_console_http_requests_total\{route="routes\/login",method="POST",status="401"\} 1/);
    expect(text).toMatch(/pmf_console_http_request_seconds_bucket\{le="0\.005",route="routes\/login",method="GET"\}/);
    expect(text).toMatch(/pmf_console_logins_total\{outcome="failed"\} [1-9]/);
    expect(text).toContain('# TYPE pmf_console_admin_actions_total counter');
    expect(text).toContain('# TYPE pmf_credits_total counter');
    expect(text).toContain('process_resident_memory_bytes');

    // Through a reverse proxy on this machine the client is the forwarded address, not loopback.
    const proxied = await fetch(`${server.url}/metrics`, { headers: { 'x-forwarded-for': '203.0.113.7' } });
    expect(proxied.status).toBe(403);
    expect(await proxied.text()).toMatch(/only to this machine while METRICS_TOKEN is unset/);
  });

  it('with METRICS_TOKEN, serves only requests bearing it, from anywhere', async () => {
    const token = `t-${randomUUID()}`;
    const server = await start({ METRICS_TOKEN: token });
    const bare = await fetch(`${server.url}/metrics`);
    expect(bare.status).toBe(401);
    expect(bare.headers.get('www-authenticate')).toBe('Bearer');
    expect(
      (await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer wrong-token-0000000' } })).status,
    ).toBe(401);
    const ok = await fetch(`${server.url}/metrics`, {
      headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': '203.0.113.7' },
    });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('pmf_console_http_requests_total');
  });
});
