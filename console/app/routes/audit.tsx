import { json, type LoaderFunctionArgs } from '@remix-run/node';
import { useLoaderData, useSearchParams } from '@remix-run/react';
import { DebouncedSearchForm } from '../components/DebouncedSearchForm.js';
import { Pager } from '../components/Pager.js';
import { auditActions, listAudit } from '../lib/audit.server.js';
import { fmtDate } from '../lib/format.js';
import { day, int, str } from '../lib/params.js';
import { requireUser } from '../lib/session.server.js';

const PAGE_SIZE = 50;

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireUser(request, context);
  const p = new URL(request.url).searchParams;
  const page = int(p, 'page', 1, 1, 10_000);
  const { db } = context.services;
  const [result, actions] = await Promise.all([
    listAudit(db, {
      action: str(p, 'action'),
      actor: str(p, 'actor'),
      target: str(p, 'target'),
      from: day(p, 'from'),
      to: day(p, 'to', true),
      page,
      pageSize: PAGE_SIZE,
    }),
    auditActions(db),
  ]);
  return json({ ...result, actions, page, pageSize: PAGE_SIZE });
}

export default function Audit() {
  const { items, total, actions, page, pageSize } = useLoaderData<typeof loader>();
  const [params] = useSearchParams();
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Audit log</h1>
          <div className="sub">Every change made through the console: who, when, what and why.</div>
        </div>
      </div>
      <DebouncedSearchForm>
        <input type="hidden" name="page" value="1" />
        <label>
          Action
          <select name="action" defaultValue={params.get('action') ?? ''}>
            <option value="">all</option>
            {actions.map((a) => (
              <option key={a}>{a}</option>
            ))}
          </select>
        </label>
        <label>
          Actor
          <input type="search" name="actor" defaultValue={params.get('actor') ?? ''} placeholder="email" />
        </label>
        <label>
          Target id
          <input type="text" name="target" defaultValue={params.get('target') ?? ''} />
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
      <div className="card">
        {items.length === 0 ? (
          <div className="empty">Nothing recorded for these filters.</div>
        ) : (
          <table>
            <thead>
              <tr>
                <th>When</th>
                <th>Who</th>
                <th>Action</th>
                <th>Target</th>
                <th>Details</th>
                <th>Reason</th>
              </tr>
            </thead>
            <tbody>
              {items.map((e) => (
                <tr key={e.id}>
                  <td className="small">{fmtDate(e.at)}</td>
                  <td>{e.actorEmail}</td>
                  <td>
                    <span className="badge info">{e.action}</span>
                  </td>
                  <td className="mono">
                    {e.targetType === 'workspace' ? (
                      <a href={`/workspaces/${e.targetId}`}>{e.targetId}</a>
                    ) : e.targetType === 'task' ? (
                      <a href={`/reports/${e.targetId}`}>{e.targetId}</a>
                    ) : (
                      `${e.targetType} ${e.targetId}`
                    )}
                  </td>
                  <td className="mono">{JSON.stringify(e.details)}</td>
                  <td>{e.reason ?? '—'}</td>
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
