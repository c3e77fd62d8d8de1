import { json, type LoaderFunctionArgs } from '@remix-run/node';
import { Link, useLoaderData, useSearchParams } from '@remix-run/react';
import { DebouncedSearchForm } from '../components/DebouncedSearchForm.js';
import { SearchFilter, SelectFilter } from '../components/ListFilters.js';
import { Pager } from '../components/Pager.js';
import { fmtDate, fmtNumber } from '../lib/format.js';
import { int, oneOf, str } from '../lib/params.js';
import { requireUser } from '../lib/session.server.js';
import { researchCounts } from '../lib/usage.server.js';
import { PLATFORMS } from '../../../core/platform.js';

const STATUSES = ['active', 'suspended'] as const;
const SORTS = ['activity', 'balance', 'usage', 'name'] as const;
const PAGE_SIZE = 25;

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireUser(request, context);
  const p = new URL(request.url).searchParams;
  const { ledger, mongo, now, taskIndex } = context.services;
  const result = await ledger.listWorkspaces({
    search: str(p, 'q', 100),
    platform: oneOf(p, 'platform', PLATFORMS),
    status: oneOf(p, 'status', STATUSES),
    sort: oneOf(p, 'sort', SORTS) ?? 'activity',
    page: int(p, 'page', 1, 1, 100_000),
    pageSize: PAGE_SIZE,
  });
  const n = now();
  const monthStart = new Date(Date.UTC(n.getUTCFullYear(), n.getUTCMonth(), 1));
  const researches = await researchCounts(
    mongo,
    result.items.map((w) => w.id),
    monthStart,
    taskIndex,
  );
  return json({ ...result, researches });
}

export default function Workspaces() {
  const { items, total, page, pageSize, researches } = useLoaderData<typeof loader>();
  const [params] = useSearchParams();
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Workspaces</h1>
          <div className="sub">Slack teams, Discord servers and the console itself, with this month's credits.</div>
        </div>
      </div>
      <DebouncedSearchForm>
        <SearchFilter label="Search" name="q" placeholder="name or id" ariaLabel="Search workspaces" />
        <SelectFilter label="Platform" name="platform" options={PLATFORMS} />
        <SelectFilter label="Status" name="status" options={STATUSES} />
        <label>
          Sort by
          <select name="sort" defaultValue={params.get('sort') ?? 'activity'}>
            <option value="activity">last activity</option>
            <option value="balance">balance</option>
            <option value="usage">usage</option>
            <option value="name">name</option>
          </select>
        </label>
      </DebouncedSearchForm>
      <div className="card">
        {items.length === 0 ? (
          <div className="empty">No workspace matches.</div>
        ) : (
          <table>
            <thead>
              <tr>
                <th>Workspace</th>
                <th>Platform</th>
                <th>Status</th>
                <th className="num">Balance</th>
                <th className="num">Allowance</th>
                <th className="num">Used</th>
                <th className="num">Researches</th>
                <th>Last activity</th>
              </tr>
            </thead>
            <tbody>
              {items.map((w) => (
                <tr key={w.id}>
                  <td>
                    <Link to={`/workspaces/${w.id}`}>{w.name}</Link>
                    <div className="mono muted">{w.externalId}</div>
                  </td>
                  <td>{w.platform}</td>
                  <td>
                    <span className={`badge ${w.status === 'active' ? 'ok' : 'bad'}`}>{w.status}</span>
                  </td>
                  <td className="num">{fmtNumber(w.balance)}</td>
                  <td className="num">{fmtNumber(w.allowance)}</td>
                  <td className="num">{fmtNumber(w.used)}</td>
                  <td className="num">{fmtNumber(researches[w.id] ?? 0)}</td>
                  <td className="small">{fmtDate(w.lastActivityAt)}</td>
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
