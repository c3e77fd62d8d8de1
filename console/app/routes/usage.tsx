import { json, type LoaderFunctionArgs } from '@remix-run/node';
import { Link, useLoaderData } from '@remix-run/react';
import { UsageChart } from '../components/UsageChart.js';
import { fmtNumber } from '../lib/format.js';
import { invariantFor } from '../lib/invariant.server.js';
import { requireUser } from '../lib/session.server.js';
import { topWorkspacesByCredits } from '../lib/transactions.server.js';
import { usageByDay } from '../lib/usage.server.js';

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireUser(request, context);
  const now = context.services.now();
  const month = now.toISOString().slice(0, 7);
  const [days, invariant, top] = await Promise.all([
    usageByDay(context.services.mongo, { days: 30, now, index: context.services.taskIndex }),
    invariantFor(context.services.db, context.services.ledger),
    topWorkspacesByCredits(context.services.db, month),
  ]);
  return json({ days, invariant, top, month });
}

export default function Usage() {
  const { days, invariant, top, month } = useLoaderData<typeof loader>();
  const sum = (f: (d: (typeof days)[number]) => number) => days.reduce((s, d) => s + f(d), 0);
  const credits = sum((d) => d.credits.essential + d.credits.standard + d.credits.deep);
  const researches = sum((d) => d.researches.essential + d.researches.standard + d.researches.deep);
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Usage</h1>
          <div className="sub">All workspaces, last 30 days.</div>
        </div>
        {invariant.ok ? (
          <div className="invariant ok">✓ Every ledger consistent</div>
        ) : (
          <div className="invariant bad" role="alert">
            ⚠ {invariant.problems.length} ledger problem(s): {invariant.problems.slice(0, 3).join('; ')}
          </div>
        )}
      </div>
      <div className="grid c3">
        <div className="card stat">
          <div className="label">Credits spent</div>
          <div className="value">{fmtNumber(credits)}</div>
        </div>
        <div className="card stat">
          <div className="label">Researches</div>
          <div className="value">{fmtNumber(researches)}</div>
        </div>
        <div className="card stat">
          <div className="label">By depth</div>
          <div className="small" style={{ marginTop: 6 }}>
            Essential <b>{sum((d) => d.researches.essential)}</b> · Standard <b>{sum((d) => d.researches.standard)}</b>{' '}
            · Deep <b>{sum((d) => d.researches.deep)}</b>
          </div>
        </div>
      </div>
      <div className="card">
        <h2>Credits and researches per day</h2>
        <UsageChart days={days} />
      </div>
      <div className="card table-card">
        <h2>Top workspaces by credits used, {month}</h2>
        {top.length === 0 ? (
          <div className="empty">No credits used this month yet.</div>
        ) : (
          <table data-testid="top-workspaces">
            <thead>
              <tr>
                <th>Workspace</th>
                <th>Platform</th>
                <th className="num">Credits used</th>
                <th className="num">Balance</th>
              </tr>
            </thead>
            <tbody>
              {top.map((w) => (
                <tr key={w.id}>
                  <td>
                    <Link to={`/workspaces/${w.id}`} title={w.id}>
                      {w.name}
                    </Link>
                  </td>
                  <td>{w.platform}</td>
                  <td className="num">{fmtNumber(w.used)}</td>
                  <td className="num">{fmtNumber(w.balance)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </>
  );
}
