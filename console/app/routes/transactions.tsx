// Every ledger row of every workspace, newest first: filter by type, date and workspace, page, export.
import { json, type LoaderFunctionArgs } from '@remix-run/node';
import { Link, useLoaderData, useLocation, useSearchParams } from '@remix-run/react';
import { DebouncedSearchForm } from '../components/DebouncedSearchForm.js';
import { Pager } from '../components/Pager.js';
import { fmtDate, fmtNumber } from '../lib/format.js';
import { TX_TYPES } from '../lib/ledger-filters.js';
import { int } from '../lib/params.js';
import { requireUser } from '../lib/session.server.js';
import { crossFilters, listTransactions } from '../lib/transactions.server.js';

const PAGE_SIZE = 50;

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireUser(request, context);
  const p = new URL(request.url).searchParams;
  const found = await listTransactions(context.services.db, crossFilters(p), int(p, 'page', 1, 1, 100_000), PAGE_SIZE);
  return json(found);
}

export default function Transactions() {
  const { items, total, page, pageSize } = useLoaderData<typeof loader>();
  const [params] = useSearchParams();
  const { search } = useLocation();
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Transactions</h1>
          <div className="sub">Every credit movement in every workspace, newest first.</div>
        </div>
        <a className="button secondary" href={`/transactions.csv${search}`} download>
          Export CSV
        </a>
      </div>
      <DebouncedSearchForm>
        <input type="hidden" name="page" value="1" />
        <label>
          Workspace
          <input
            type="search"
            name="workspace"
            defaultValue={params.get('workspace') ?? ''}
            placeholder="name or id"
            aria-label="Workspace name or id"
          />
        </label>
        <label>
          Type
          <select name="type" defaultValue={params.get('type') ?? ''}>
            <option value="">all</option>
            {TX_TYPES.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
        <label>
          From
          <input type="date" name="from" defaultValue={params.get('from') ?? ''} />
        </label>
        <label>
          To
          <input type="date" name="to" defaultValue={params.get('to') ?? ''} />
        </label>
      </DebouncedSearchForm>
      <div className="card table-card">
        {items.length === 0 ? (
          <div className="empty">No transactions for these filters.</div>
        ) : (
          <table data-testid="transactions">
            <thead>
              <tr>
                <th>When</th>
                <th>Workspace</th>
                <th>Type</th>
                <th className="num">Amount</th>
                <th className="num">Balance after</th>
                <th>Actor</th>
                <th>Reason</th>
                <th>Task</th>
              </tr>
            </thead>
            <tbody>
              {items.map((t) => (
                <tr key={t.id}>
                  <td className="small">{fmtDate(t.createdAt)}</td>
                  <td>
                    <Link to={`/workspaces/${t.workspaceId}`} title={t.workspaceId}>
                      {t.workspaceName}
                    </Link>
                  </td>
                  <td>
                    <span className="badge">{t.type}</span>
                  </td>
                  <td
                    className="num"
                    style={{ color: t.amount < 0 ? 'var(--bad)' : t.amount > 0 ? 'var(--ok)' : undefined }}
                  >
                    {t.amount > 0 ? '+' : ''}
                    {fmtNumber(t.amount)}
                  </td>
                  <td className="num">{t.balanceAfter === null ? '—' : fmtNumber(t.balanceAfter)}</td>
                  <td className="small">{t.actor}</td>
                  <td>{t.reason ?? ''}</td>
                  <td className="mono">{t.taskId ? <Link to={`/reports/${t.taskId}`}>{t.taskId}</Link> : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <Pager page={page} pageSize={pageSize} total={total} />
      </div>
    </>
  );
}
