import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { ActionFunctionArgs, LoaderFunctionArgs } from '@remix-run/node';
import * as jobsRoute from '../app/routes/jobs.js';
import * as loginRoute from '../app/routes/login.js';
import * as playgroundRoute from '../app/routes/playground.js';
import * as reportRoute from '../app/routes/reports.$id.js';
import * as reportsRoute from '../app/routes/reports._index.js';
import * as usersRoute from '../app/routes/users.js';
import * as csvRoute from '../app/routes/workspaces.$id.ledger[.]csv.js';
import * as workspaceRoute from '../app/routes/workspaces.$id.js';
import * as workspacesRoute from '../app/routes/workspaces._index.js';
import { createHarness, respond, type Harness } from './harness.js';
import { seedReport } from './fixtures.js';

type Fn = (args: LoaderFunctionArgs & ActionFunctionArgs) => Promise<unknown>;

let h: Harness;
let admin: { cookie: string };
let viewer: { cookie: string };
let workspaceId: string;

beforeAll(async () => {
  h = await createHarness('console_routes');
  admin = await h.user('admin');
  viewer = await h.user('viewer');
  const ws = await h.ledger.ensureWorkspace({
    platform: 'slack',
    externalId: `T-${randomUUID().slice(0, 8)}`,
    name: 'Acme Dogs',
  });
  workspaceId = ws.id;
});

afterAll(async () => {
  await h.close();
});

function call(fn: Fn, request: Request, params: Record<string, string> = {}) {
  return respond(() => fn({ request, context: h.context, params }));
}

function grantForm(key: string, amount = '25', reason = 'goodwill after outage'): Record<string, string> {
  return { intent: 'grant', amount, reason, confirm: 'yes', idempotencyKey: key };
}

describe('role checks', () => {
  it('gives a viewer 403 on every action, and changes nothing', async () => {
    const before = await h.ledger.balance(workspaceId);
    const key = randomUUID();
    const cases: [Fn, string, Record<string, string>, Record<string, string>][] = [
      [workspaceRoute.action as Fn, `/workspaces/${workspaceId}`, { id: workspaceId }, grantForm(key)],
      [
        workspaceRoute.action as Fn,
        `/workspaces/${workspaceId}`,
        { id: workspaceId },
        { intent: 'suspend', reason: 'abuse', confirm: 'yes', idempotencyKey: key },
      ],
      [
        usersRoute.action as Fn,
        '/users',
        {},
        { intent: 'create', email: 'x@y.z', role: 'admin', reason: 'new hire', confirm: 'yes', idempotencyKey: key },
      ],
      [
        reportRoute.action as Fn,
        '/reports/R-XXXX',
        { id: 'R-XXXX' },
        { intent: 'delete', reason: 'spam', confirm: 'yes', idempotencyKey: key },
      ],
      [
        jobsRoute.action as Fn,
        '/jobs',
        {},
        { intent: 'cancel', taskId: 'R-XXXX', reason: 'stuck', idempotencyKey: key },
      ],
      [
        playgroundRoute.action as Fn,
        '/playground',
        {},
        { idea: 'an app for dog sitters nearby', depth: 'essential', idempotencyKey: key },
      ],
    ];
    for (const [fn, path, params, form] of cases) {
      const res = await call(fn, h.post(path, form, { cookie: viewer.cookie }), params);
      expect({ path, status: res.status }).toEqual({ path, status: 403 });
    }
    expect((await h.ledger.balance(workspaceId)).balance).toBe(before.balance);
    expect((await h.ledger.getWorkspace(workspaceId))?.status).toBe('active');
  });

  it('shows viewers the users and playground pages read-only, and strangers nothing', async () => {
    for (const [fn, path] of [
      [usersRoute.loader, '/users'],
      [playgroundRoute.loader, '/playground'],
    ] as const) {
      const res = await call(fn as Fn, h.get(path, viewer.cookie));
      expect({ path, status: res.status, canAct: ((await res.json()) as { canAct: boolean }).canAct }).toEqual({
        path,
        status: 200,
        canAct: false,
      });
    }
    const anon = await call(workspacesRoute.loader as Fn, h.get('/workspaces?q=acme'));
    expect(anon.status).toBe(302);
    expect(anon.headers.get('location')).toBe('/login?redirectTo=%2Fworkspaces%3Fq%3Dacme');
    expect(
      (
        await call(workspaceRoute.action as Fn, h.post(`/workspaces/${workspaceId}`, grantForm(randomUUID())), {
          id: workspaceId,
        })
      ).status,
    ).toBe(401);
  });

  it('shows a viewer the workspace without admin actions', async () => {
    const res = await call(workspaceRoute.loader as Fn, h.get(`/workspaces/${workspaceId}`, viewer.cookie), {
      id: workspaceId,
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { isAdmin: boolean }).isAdmin).toBe(false);
  });
});

describe('origin check', () => {
  it('refuses a POST from another origin or without one', async () => {
    const before = (await h.ledger.balance(workspaceId)).balance;
    for (const origin of ['https://evil.example', null]) {
      const res = await call(
        workspaceRoute.action as Fn,
        h.post(`/workspaces/${workspaceId}`, grantForm(randomUUID()), { cookie: admin.cookie, origin }),
        { id: workspaceId },
      );
      expect(res.status).toBe(403);
    }
    expect((await h.ledger.balance(workspaceId)).balance).toBe(before);
  });

  it('refuses a cross-origin login too', async () => {
    const res = await call(
      loginRoute.action as Fn,
      h.post('/login', { email: 'a@b.c', password: 'x' }, { origin: 'https://evil.example' }),
    );
    expect(res.status).toBe(403);
  });
});

describe('grant', () => {
  it('is idempotent: a double submit grants once and audits once', async () => {
    const before = (await h.ledger.balance(workspaceId)).balance;
    const key = randomUUID();
    const first = await call(
      workspaceRoute.action as Fn,
      h.post(`/workspaces/${workspaceId}`, grantForm(key, '40'), { cookie: admin.cookie }),
      { id: workspaceId },
    );
    const second = await call(
      workspaceRoute.action as Fn,
      h.post(`/workspaces/${workspaceId}`, grantForm(key, '40'), { cookie: admin.cookie }),
      { id: workspaceId },
    );
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(await first.json()).toEqual({ ok: true, message: 'Granted 40 credits', intent: 'grant' });
    expect((await h.ledger.balance(workspaceId)).balance).toBe(before + 40);
    const grants = (await h.ledger.transactions(workspaceId, { type: 'grant' })).items.filter((t) =>
      t.idempotencyKey?.includes(key),
    );
    expect(grants).toHaveLength(1);
    const audits = await h.services.db('console_audit_log').where({ idempotency_key: `${key}` });
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({
      action: 'workspace.grant',
      target_id: workspaceId,
      reason: 'goodwill after outage',
    });
  });

  it('requires a reason and the confirmation', async () => {
    const noReason = await call(
      workspaceRoute.action as Fn,
      h.post(`/workspaces/${workspaceId}`, { ...grantForm(randomUUID()), reason: '' }, { cookie: admin.cookie }),
      { id: workspaceId },
    );
    expect(noReason.status).toBe(400);
    const { confirm: _omit, ...unconfirmed } = grantForm(randomUUID());
    void _omit;
    const noConfirm = await call(
      workspaceRoute.action as Fn,
      h.post(`/workspaces/${workspaceId}`, unconfirmed, { cookie: admin.cookie }),
      { id: workspaceId },
    );
    expect(noConfirm.status).toBe(400);
  });

  it('suspends and resumes with the ledger, audited', async () => {
    const post = (intent: string) =>
      call(
        workspaceRoute.action as Fn,
        h.post(
          `/workspaces/${workspaceId}`,
          { intent, reason: 'chargeback review', confirm: 'yes', idempotencyKey: randomUUID() },
          { cookie: admin.cookie },
        ),
        { id: workspaceId },
      );
    expect((await post('suspend')).status).toBe(200);
    expect((await h.ledger.getWorkspace(workspaceId))?.status).toBe('suspended');
    expect((await post('resume')).status).toBe(200);
    expect((await h.ledger.getWorkspace(workspaceId))?.status).toBe('active');
    const actions = (await h.services.db('console_audit_log').where({ target_id: workspaceId }).orderBy('id')).map(
      (r: { action: string }) => r.action,
    );
    expect(actions).toEqual(expect.arrayContaining(['workspace.suspend', 'workspace.resume']));
  });
});

describe('invariant display', () => {
  it('is ok for a healthy ledger and raises the alarm when a balance drifts from its transactions', async () => {
    const ws = await h.ledger.ensureWorkspace({
      platform: 'discord',
      externalId: `G-${randomUUID().slice(0, 8)}`,
      name: 'Drifty',
    });
    await h.ledger.grant({
      workspaceId: ws.id,
      amount: 5,
      actor: 'test',
      reason: 'seed',
      idempotencyKey: randomUUID(),
    });
    const load = async () =>
      (await (
        await call(workspaceRoute.loader as Fn, h.get(`/workspaces/${ws.id}`, admin.cookie), { id: ws.id })
      ).json()) as { invariant: { ok: boolean; problems: string[] } };
    expect((await load()).invariant).toEqual({ ok: true, problems: [] });
    await h.services.db('balances').where({ workspace_id: ws.id }).increment('balance', 7);
    try {
      const broken = (await load()).invariant;
      expect(broken.ok).toBe(false);
      expect(broken.problems.join(' ')).toContain('balance equals the sum of its transactions');
    } finally {
      await h.services.db('balances').where({ workspace_id: ws.id }).decrement('balance', 7);
    }
  });
});

describe('CSV export', () => {
  it('exports the filtered ledger with quoting and formula neutralisation', async () => {
    const ws = await h.ledger.ensureWorkspace({
      platform: 'slack',
      externalId: `T-${randomUUID().slice(0, 8)}`,
      name: 'CSV Co',
    });
    await h.ledger.grant({
      workspaceId: ws.id,
      amount: 30,
      actor: 'console:a@b.c',
      reason: 'said "thanks", twice',
      idempotencyKey: randomUUID(),
    });
    await h.ledger.deduct({
      workspaceId: ws.id,
      amount: 4,
      actor: 'console:a@b.c',
      reason: '=HYPERLINK("http://x")',
      idempotencyKey: randomUUID(),
    });
    const res = await call(csvRoute.loader as Fn, h.get(`/workspaces/${ws.id}/ledger.csv`, viewer.cookie), {
      id: ws.id,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/csv');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="ledger-csv-co.csv"');
    const lines = (await res.text()).trimEnd().split('\r\n');
    expect(lines[0]).toBe('id,created_at,month,type,amount,balance_after,depth,task_id,actor,reason,idempotency_key');
    const rows = lines.slice(1);
    expect(rows.some((l) => /,grant,30,\d+,,,console:a@b\.c,"said ""thanks"", twice",/.test(l))).toBe(true);
    expect(rows.some((l) => l.includes(`,adjust,-4,`) && l.includes(`"'=HYPERLINK(""http://x"")"`))).toBe(true);
    const filtered = await call(
      csvRoute.loader as Fn,
      h.get(`/workspaces/${ws.id}/ledger.csv?type=grant`, viewer.cookie),
      { id: ws.id },
    );
    const filteredRows = (await filtered.text()).trimEnd().split('\r\n').slice(1);
    expect(filteredRows.length).toBeGreaterThan(0);
    expect(filteredRows.every((l) => l.split(',')[3] === 'grant')).toBe(true);
  });
});

describe('login', () => {
  it('says the same thing for a wrong email and a wrong password, then slows the address down', async () => {
    const { user } = await h.user('viewer');
    const attempt = async (email: string, password: string) => {
      const res = await call(loginRoute.action as Fn, h.post('/login', { email, password }));
      return { status: res.status, body: res.status === 302 ? null : await res.json() };
    };
    const wrongPassword = await attempt(user.email, 'not-the-password');
    const wrongEmail = await attempt(`nobody-${randomUUID()}@x.test`, 'not-the-password');
    expect(wrongPassword).toEqual({ status: 401, body: { error: loginRoute.BAD_LOGIN, email: user.email } });
    expect(wrongEmail.status).toBe(401);
    expect((wrongEmail.body as { error: string }).error).toBe(loginRoute.BAD_LOGIN);
    await attempt(user.email, 'still-wrong');
    await attempt(user.email, 'still-wrong');
    const throttled = await attempt(user.email, 'still-wrong');
    expect(throttled.status).toBe(429);
    expect((throttled.body as { error: string }).error).toMatch(/Wait \d+ seconds/);
  });

  it('logs in with a session cookie that is HttpOnly and SameSite=Lax', async () => {
    const { user, password } = await h.user('admin');
    const res = await call(
      loginRoute.action as Fn,
      h.post('/login', { email: user.email.toUpperCase(), password, redirectTo: '//evil.example' }),
    );
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/workspaces');
    expect(res.headers.get('set-cookie')).toMatch(
      /^pmf_console_session=[\w-]{43}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=43200$/,
    );
  });
});

describe('reports', () => {
  it('finds reports by prefix as you type and renders a hostile report inert', async () => {
    const ws = await h.ledger.ensureWorkspace({
      platform: 'slack',
      externalId: `T-${randomUUID().slice(0, 8)}`,
      name: 'Reports Inc',
    });
    const hostile = [
      '# Zebra crossings',
      '<script>window.pwned = 1</script>',
      '<img src="x" onerror="window.pwned = 2">',
      '[click me](javascript:alert(1))',
      '<a href="javascript:alert(2)">raw link</a>',
      '[fine](https://example.com/ok)',
    ].join('\n\n');
    const task = await seedReport(h.tasks, {
      workspaceId: ws.id,
      idea: 'zebracorn crossing guards for schools',
      markdown: hostile,
    });
    await seedReport(h.tasks, { workspaceId: ws.id, idea: 'dog sitters nearby' });
    for (const q of ['z', 'ze', 'zeb', 'zebracorn']) {
      const res = await call(reportsRoute.loader as Fn, h.get(`/reports?q=${q}&workspace=${ws.id}`, viewer.cookie));
      const body = (await res.json()) as { items: { id: string }[] };
      expect(body.items.map((i) => i.id)).toEqual([task.id]);
    }
    const page = (await (
      await call(reportRoute.loader as Fn, h.get(`/reports/${task.id}`, viewer.cookie), { id: task.id })
    ).json()) as { html: string; report: { score: { total: number } } };
    expect(page.report.score.total).toBe(68);
    expect(page.html).not.toMatch(/<script|onerror|javascript:/i);
    expect(page.html).toContain(
      '<a href="https://example.com/ok" rel="noopener noreferrer nofollow" target="_blank">fine</a>',
    );
  });
});
