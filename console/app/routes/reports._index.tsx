import { json, type LoaderFunctionArgs } from '@remix-run/node';
import { Link, useLoaderData, useNavigation, useSearchParams } from '@remix-run/react';
import { DebouncedSearchForm } from '../components/DebouncedSearchForm.js';
import { DateRangeFilter, SearchFilter, SelectFilter } from '../components/ListFilters.js';
import { Pager } from '../components/Pager.js';
import { bandClass, fmtDate } from '../lib/format.js';
import { DEPTHS } from '../../../core/research/depth.js';
import { PLATFORMS } from '../../../core/platform.js';
import { reportQuery, SORTS, TASK_STATUSES } from '../lib/report-filters.js';
import { indexedRow, reportRow } from '../lib/reports.server.js';
import type { ConsoleTaskSearch } from '../lib/task-index.server.js';
import { workspaceNames, workspacesNamed } from '../lib/workspace-names.server.js';
import { normalizeTaskId } from '../../../core/tasks/ids.js';
import { requireUser } from '../lib/session.server.js';

const SORT_LABELS: Record<(typeof SORTS)[number], string> = {
  newest: 'newest',
  oldest: 'oldest',
  score_desc: 'score, high first',
  score_asc: 'score, low first',
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** `R-7KQ2` (or `r-7k`, being typed) in the search box is a report id: a prefix of ids, not words. */
const ID_TYPED = /^r-[0-9a-z]{0,12}$/i;

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireUser(request, context);
  const p = new URL(request.url).searchParams;
  const query: ConsoleTaskSearch = reportQuery(p);
  const { taskIndex, tasks, db } = context.services;
  const typedId = query.text && ID_TYPED.test(query.text.trim()) ? query.text.trim().toUpperCase() : undefined;
  // The workspace filter takes a name (or an id); the search box also matches workspace names.
  const workspace = query.workspaceId;
  const [named, textNamed] = await Promise.all([
    workspace && !UUID.test(workspace) ? workspacesNamed(db, workspace) : Promise.resolve(undefined),
    query.text && !typedId ? workspacesNamed(db, query.text) : Promise.resolve([]),
  ]);
  if (named) query.workspaceId = undefined;
  let found: { items: ReturnType<typeof reportRow>[]; total: number; page: number; pageSize: number };
  if (taskIndex?.ready) {
    const result = taskIndex.search({
      ...query,
      text: typedId ? undefined : query.text,
      idPrefix: typedId,
      workspaceIn: named ? new Set(named) : undefined,
      orWorkspaceIn: textNamed.length ? new Set(textNamed) : undefined,
    });
    found = { ...result, items: result.items.map(indexedRow) };
  } else if (typedId) {
    // Until the index is ready an id is looked up exactly.
    const task = await tasks.get(normalizeTaskId(typedId) ?? typedId);
    found = { items: task ? [reportRow(task)] : [], total: task ? 1 : 0, page: 1, pageSize: query.pageSize ?? 20 };
  } else if (named && named.length === 0) {
    found = { items: [], total: 0, page: 1, pageSize: query.pageSize ?? 20 };
  } else {
    // The store filters by one workspace; until the index is ready, a name matching several keeps this
    // page's rows of those workspaces (the total is the page's).
    const result = await tasks.search({ ...query, workspaceId: named?.length === 1 ? named[0] : query.workspaceId });
    const rows = result.items
      .filter((t) => !named || named.length === 1 || named.includes(t.workspaceId))
      .map(reportRow);
    found = { ...result, items: rows, total: named && named.length > 1 ? rows.length : result.total };
  }
  const names = await workspaceNames(
    db,
    found.items.map((r) => r.workspaceId),
  );
  return json({ ...found, items: found.items.map((r) => ({ ...r, workspaceName: names[r.workspaceId] ?? null })) });
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
          <div className="sub">
            Every research, searchable as you type by idea, title, summary, workspace name or id (R-7KQ2).
          </div>
        </div>
        {nav.state === 'loading' && nav.location.pathname === '/reports' ? (
          <span className="muted small">searching…</span>
        ) : null}
      </div>
      <DebouncedSearchForm>
        <SearchFilter
          label="Search"
          name="q"
          placeholder="dog sitters, Acme, R-7KQ2…"
          ariaLabel="Search reports"
          autoFocus
        />
        <SelectFilter label="Depth" name="depth" options={DEPTHS} anyLabel="any" />
        <SelectFilter label="Status" name="status" options={TASK_STATUSES} anyLabel="any" />
        <SelectFilter label="Platform" name="platform" options={PLATFORMS} anyLabel="any" />
        <label>
          Workspace
          <input type="text" name="workspace" defaultValue={p('workspace')} size={14} placeholder="name or id" />
        </label>
        <DateRangeFilter />
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
      <div className="card table-card">
        {items.length === 0 ? (
          <div className="empty">No report matches.</div>
        ) : (
          <table data-testid="reports">
            <thead>
              <tr>
                <th>Idea</th>
                <th>Workspace</th>
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
                  <td>
                    <Link to={`/workspaces/${r.workspaceId}`} title={r.workspaceId}>
                      {r.workspaceName ?? r.workspaceId.slice(0, 8)}
                    </Link>
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
