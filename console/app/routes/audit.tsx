import { json, type LoaderFunctionArgs } from '@remix-run/node';
import { useLoaderData, useSearchParams } from '@remix-run/react';
import { DebouncedSearchForm } from '../components/DebouncedSearchForm.js';
import { DateRangeFilter, ExportCsvLink, SearchFilter, SelectFilter } from '../components/ListFilters.js';
import { Pager } from '../components/Pager.js';
import { auditFilters } from '../lib/audit-filters.js';
import { auditActions, changesOf, listAudit, targetNames } from '../lib/audit.server.js';
import { fmtDate, fmtValue } from '../lib/format.js';
import { int } from '../lib/params.js';
import { requireUser } from '../lib/session.server.js';

const PAGE_SIZE = 50;

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireUser(request, context);
  const p = new URL(request.url).searchParams;
  const page = int(p, 'page', 1, 1, 10_000);
  const { db } = context.services;
  const [result, actions] = await Promise.all([
    listAudit(db, { ...auditFilters(p), page, pageSize: PAGE_SIZE }),
    auditActions(db),
  ]);
  const names = await targetNames(db, result.items);
  return json({
    items: result.items.map((e) => {
      const { changes: _changes, ...rest } = e.details;
      return {
        ...e,
        targetName: names[e.targetId] ?? null,
        changes: changesOf(e.details),
        details: Object.entries(rest).filter(([k]) => k !== 'email' && k !== 'workspace' && k !== 'idea'),
      };
    }),
    total: result.total,
    actions,
    page,
    pageSize: PAGE_SIZE,
  });
}

const HREF: Record<string, (id: string) => string> = {
  workspace: (id) => `/workspaces/${id}`,
  task: (id) => `/reports/${id}`,
};

export default function Audit() {
  const { items, total, actions, page, pageSize } = useLoaderData<typeof loader>();
  const [params] = useSearchParams();
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Audit log</h1>
          <div className="sub">
            Every change made through the console — who, when, what changed and why — and the security events.
          </div>
        </div>
        <ExportCsvLink path="/audit.csv" />
      </div>
      <DebouncedSearchForm>
        <label>
          Show
          <select name="kind" defaultValue={params.get('kind') ?? ''}>
            <option value="">everything</option>
            <option value="changes">changes</option>
            <option value="security">security events</option>
          </select>
        </label>
        <SelectFilter label="Action" name="action" options={actions} />
        <SearchFilter label="Actor" name="actor" placeholder="email" />
        <label>
          Target id
          <input type="text" name="target" defaultValue={params.get('target') ?? ''} />
        </label>
        <DateRangeFilter />
      </DebouncedSearchForm>
      <div className="card table-card">
        {items.length === 0 ? (
          <div className="empty">Nothing recorded for these filters.</div>
        ) : (
          <table data-testid="audit">
            <thead>
              <tr>
                <th>When</th>
                <th>Who</th>
                <th>Action</th>
                <th>Target</th>
                <th>Change</th>
                <th>Reason</th>
              </tr>
            </thead>
            <tbody>
              {items.map((e) => {
                const label = e.targetName ?? e.targetId;
                const href = HREF[e.targetType]?.(e.targetId);
                return (
                  <tr key={e.id}>
                    <td className="small">{fmtDate(e.at)}</td>
                    <td title={e.actorId ?? 'not signed in'}>{e.actorEmail}</td>
                    <td>
                      <span className={`badge ${e.action.startsWith('security.') ? 'warn' : 'info'}`}>{e.action}</span>
                    </td>
                    <td title={`${e.targetType} ${e.targetId}`}>
                      {href ? <a href={href}>{label}</a> : label}
                      <div className="muted small">{e.targetType}</div>
                    </td>
                    <td className="small" data-testid="audit-change">
                      {e.changes.map((c) => (
                        <div key={c.field} className="change">
                          {c.field}: <del>{fmtValue(c.before)}</del> → <b>{fmtValue(c.after)}</b>
                        </div>
                      ))}
                      {e.details.map(([k, v]) => (
                        <div key={k} className="muted">
                          {k}: {fmtValue(v)}
                        </div>
                      ))}
                    </td>
                    <td>{e.reason ?? '—'}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
        <Pager page={page} pageSize={pageSize} total={total} />
      </div>
    </>
  );
}
