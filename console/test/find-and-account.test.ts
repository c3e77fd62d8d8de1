// Finding reports by id and workspace name, the cross-workspace transactions view and its CSV, the top
// workspaces on /usage, and the audit log's before → after, names, security filter and CSV.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { ActionFunctionArgs, AppLoadContext, LoaderFunctionArgs } from '@remix-run/node';
import { TaskIndex } from '../app/lib/task-index.server.js';
import * as auditCsvRoute from '../app/routes/audit[.]csv.js';
import * as auditRoute from '../app/routes/audit.js';
import * as reportsRoute from '../app/routes/reports._index.js';
import * as txCsvRoute from '../app/routes/transactions[.]csv.js';
import * as txRoute from '../app/routes/transactions.js';
import * as usageRoute from '../app/routes/usage.js';
import * as workspaceRoute from '../app/routes/workspaces.$id.js';
import { seedReport } from './fixtures.js';
import { createHarness, respond, type Harness } from './harness.js';

type Fn = (args: LoaderFunctionArgs & ActionFunctionArgs) => Promise<unknown>;
type Row = { id: string; workspaceName: string | null };

let h: Harness;
let admin: Awaited<ReturnType<Harness['user']>>;
const run = randomUUID().slice(0, 6);
let acme: string;
let globex: string;
let acmeReport: string;
let indexed: AppLoadContext;

beforeAll(async () => {
  h = await createHarness('console_find');
  admin = await h.user('admin');
  acme = (await h.ledger.ensureWorkspace({ platform: 'slack', externalId: `T-A${run}`, name: `Acme ${run}` })).id;
  globex = (await h.ledger.ensureWorkspace({ platform: 'discord', externalId: `G-${run}`, name: `Globex ${run}` })).id;
  acmeReport = (await seedReport(h.tasks, { workspaceId: acme, idea: 'quince jam subscriptions' })).id;
  await seedReport(h.tasks, { workspaceId: globex, idea: 'quince orchards as a service' });
  const taskIndex = new TaskIndex();
  await taskIndex.load(h.mongo.db.collection('tasks'));
  indexed = { ...h.context, services: { ...h.services, taskIndex } };
});

afterAll(async () => {
  await h.close();
});

const load = async (fn: unknown, path: string, context: AppLoadContext = h.context, params = {}) =>
  respond(() => (fn as Fn)({ request: h.get(path, admin.cookie), context, params }));

describe('report search', () => {
  it('finds a report by its id, whole or being typed, with and without the index', async () => {
    for (const context of [indexed, h.context]) {
      const res = await load(reportsRoute.loader, `/reports?q=${acmeReport.toLowerCase()}`, context);
      expect(((await res.json()) as { items: Row[] }).items.map((r) => r.id)).toEqual([acmeReport]);
    }
    const typing = await load(reportsRoute.loader, `/reports?q=${acmeReport.slice(0, 4)}`, indexed);
    expect(((await typing.json()) as { items: Row[] }).items.map((r) => r.id)).toContain(acmeReport);
  });

  it('matches workspace names in the search box and the workspace filter, and names the workspace on each row', async () => {
    const byText = (await (await load(reportsRoute.loader, `/reports?q=acme ${run}`, indexed)).json()) as {
      items: Row[];
    };
    expect(byText.items).toEqual([expect.objectContaining({ id: acmeReport, workspaceName: `Acme ${run}` })]);
    const byFilter = (await (
      await load(reportsRoute.loader, `/reports?q=quince&workspace=globex ${run}`, indexed)
    ).json()) as { items: Row[] };
    expect(byFilter.items.map((r) => r.workspaceName)).toEqual([`Globex ${run}`]);
  });
});

describe('transactions across workspaces', () => {
  beforeAll(async () => {
    for (const [ws, amount] of [
      [acme, 7],
      [globex, 9],
      [acme, 11],
    ] as const)
      await h.ledger.grant({
        workspaceId: ws,
        amount,
        actor: 'console:a@b.c',
        reason: `r${amount}`,
        idempotencyKey: randomUUID(),
      });
    await h.ledger.reserve({ workspaceId: acme, cost: 12, taskId: `R-T${run}`, depth: 'standard', actor: 'test' });
    await h.ledger.capture({ taskId: `R-T${run}`, actor: 'test' });
  });

  it('lists every workspace with type and workspace filters and pages', async () => {
    type Page = { items: { workspaceName: string; amount: number; type: string }[]; total: number };
    const grants = (await (await load(txRoute.loader, `/transactions?type=grant&workspace=${run}`)).json()) as Page;
    expect(grants.items.map((t) => [t.workspaceName, t.amount])).toEqual([
      [`Acme ${run}`, 11],
      [`Globex ${run}`, 9],
      [`Acme ${run}`, 7],
    ]);
    const one = (await (await load(txRoute.loader, `/transactions?workspace=${globex}`)).json()) as Page;
    expect(new Set(one.items.map((t) => t.workspaceName))).toEqual(new Set([`Globex ${run}`]));
    const all = (await (await load(txRoute.loader, `/transactions?workspace=${run}&page=2`)).json()) as Page;
    expect(all.items).toHaveLength(0);
    expect(all.total).toBeGreaterThanOrEqual(5);
  });

  it('exports the filtered rows as CSV', async () => {
    const res = await load(txCsvRoute.loader, `/transactions.csv?type=grant&workspace=${run}`);
    expect(res.headers.get('content-type')).toContain('text/csv');
    const lines = (await res.text()).trimEnd().split('\r\n');
    expect(lines[0]).toMatch(/^workspace,workspace_id,platform,id,created_at/);
    expect(lines.slice(1).map((l) => l.split(',')[0])).toEqual([`Acme ${run}`, `Globex ${run}`, `Acme ${run}`]);
  });

  it('puts the workspaces that used the most credits this month on /usage', async () => {
    const usage = (await (await load(usageRoute.loader, '/usage')).json()) as { top: { id: string; used: number }[] };
    expect(usage.top.length).toBeGreaterThan(0);
    const used = usage.top.map((w) => w.used);
    expect(used).toEqual([...used].sort((a, b) => b - a));
    if (used.length < 10 || used[used.length - 1]! <= 12) expect(usage.top.map((w) => w.id)).toContain(acme);
  });
});

describe('audit log', () => {
  it('shows before → after and the workspace by name, and filters security events', async () => {
    const key = randomUUID();
    await respond(() =>
      (workspaceRoute.action as Fn)({
        request: h.post(
          `/workspaces/${globex}`,
          { intent: 'set_allowance', amount: '2,500', reason: 'bigger plan', confirm: 'yes', idempotencyKey: key },
          { cookie: admin.cookie },
        ),
        context: h.context,
        params: { id: globex },
      }),
    );
    type Audit = {
      items: { targetName: string; action: string; changes: { field: string; before: unknown; after: unknown }[] }[];
    };
    const page = (await (await load(auditRoute.loader, `/audit?target=${globex}`)).json()) as Audit;
    expect(page.items[0]).toMatchObject({
      action: 'workspace.set_allowance',
      targetName: `Globex ${run}`,
      changes: expect.arrayContaining([{ field: 'allowance', before: 100, after: 2500 }]),
    });
    const security = (await (await load(auditRoute.loader, '/audit?kind=security')).json()) as Audit;
    expect(security.items.every((e) => e.action.startsWith('security.'))).toBe(true);
    const csv = await (await load(auditCsvRoute.loader, `/audit.csv?target=${globex}`)).text();
    expect(csv.split('\r\n')[0]).toBe('id,at,actor,actor_id,action,target_type,target_id,changes,details,reason');
    expect(csv).toContain('allowance: 100 -> 2500');
  });
});
