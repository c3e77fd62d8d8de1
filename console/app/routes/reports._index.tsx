import { json, type LoaderFunctionArgs } from '@remix-run/node';
import { Link, useLoaderData, useNavigation, useSearchParams } from '@remix-run/react';
import { DebouncedSearchForm } from '../components/DebouncedSearchForm.js';
import { Pager } from '../components/Pager.js';
import { fmtDate } from '../lib/format.js';
import { PLATFORMS, reportQuery, SORTS, TASK_STATUSES } from '../lib/report-filters.js';
import { indexedRow, reportRow } from '../lib/reports.server.js';
import { requireUser } from '../lib/session.server.js';

const SORT_LABELS: Record<(typeof SORTS)[number], string> = {
  newest: 'newest',
  oldest: 'oldest',
  score_desc: 'score, high first',
  score_asc: 'score, low first',
};

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireUser(request, context);
  const query = reportQuery(new URL(request.url).searchParams);
  const { taskIndex, tasks } = context.services;
  if (taskIndex?.ready) {
    const found = taskIndex.search(query);
    return json({ ...found, items: found.items.map(indexedRow) });
  }
  const result = await tasks.search(query);
  return json({
    items: result.items.map(reportRow),
    total: result.total,
    page: result.page,
    pageSize: result.pageSize,
  });
}

function bandClass(band: string | null): string {
  return band === 'strong' || band === 'exceptional' ? 'ok' : band === 'moderate' ? 'warn' : band ? 'bad' : '';
}

export default function Reports() {
  const { items, total, page, pageSize } = useLoaderData<typeof loader>();
  const [params] = useSearchParams();
  const nav = useNavigation();
  const p = (k: string) => params.get(k) ?? '';
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Reports</h1>
          <div className="sub">Every research, searchable by idea, title and summary as you type.</div>
        </div>
        {nav.state === 'loading' && nav.location.pathname === '/reports' ? (
          <span className="muted small">searching…</span>
        ) : null}
      </div>
      <DebouncedSearchForm>
        <input type="hidden" name="page" value="1" />
        <label>
          Search
          <input
            type="search"
            name="q"
            defaultValue={p('q')}
            placeholder="dog sitters, invoicing…"
            aria-label="Search reports"
            autoFocus
          />
        </label>
        <label>
          Depth
          <select name="depth" defaultValue={p('depth')}>
            <option value="">any</option>
            <option>essential</option>
            <option>standard</option>
            <option>deep</option>
          </select>
        </label>
        <label>
          Status
          <select name="status" defaultValue={p('status')}>
            <option value="">any</option>
            {TASK_STATUSES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Platform
          <select name="platform" defaultValue={p('platform')}>
            <option value="">any</option>
            {PLATFORMS.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Workspace id
          <input type="text" name="workspace" defaultValue={p('workspace')} size={12} />
        </label>
        <label>
          From
          <input type="date" name="from" defaultValue={p('from')} />
        </label>
        <label>
          To
          <input type="date" name="to" defaultValue={p('to')} />
        </label>
        <label>
          Score
          <span className="row-gap">
            <input
              type="number"
              name="scoreMin"
              min={0}
              max={100}
              defaultValue={p('scoreMin')}
              style={{ width: 70 }}
              aria-label="Minimum score"
            />
            –
            <input
              type="number"
              name="scoreMax"
              min={0}
              max={100}
              defaultValue={p('scoreMax')}
              style={{ width: 70 }}
              aria-label="Maximum score"
            />
          </span>
        </label>
        <label>
          Sort
          <select name="sort" defaultValue={p('sort') || 'newest'}>
            {SORTS.map((s) => (
              <option key={s} value={s}>
                {SORT_LABELS[s]}
              </option>
            ))}
          </select>
        </label>
      </DebouncedSearchForm>
      <div className="card">
        {items.length === 0 ? (
          <div className="empty">No report matches.</div>
        ) : (
          <table data-testid="reports">
            <thead>
              <tr>
                <th>Idea</th>
                <th className="num">Score</th>
                <th>Depth</th>
                <th>Status</th>
                <th>Platform</th>
                <th>Requested</th>
              </tr>
            </thead>
            <tbody>
              {items.map((r) => (
                <tr key={r.id}>
                  <td style={{ maxWidth: 520 }}>
                    <Link to={`/reports/${r.id}`}>{r.title ?? r.idea}</Link>
                    <div className="muted small">
                      <span className="mono">{r.id}</span> · {r.summary ?? r.idea}
                    </div>
                  </td>
                  <td className="num">
                    {r.score === null ? '—' : <span className={`badge ${bandClass(r.band)}`}>{r.score}</span>}
                  </td>
                  <td>{r.depth}</td>
                  <td>
                    <span
                      className={`badge ${r.status === 'succeeded' ? 'ok' : r.status === 'failed' ? 'bad' : r.status === 'running' ? 'info' : ''}`}
                    >
                      {r.status}
                    </span>
                  </td>
                  <td>{r.platform}</td>
                  <td className="small">{fmtDate(r.createdAt)}</td>
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
