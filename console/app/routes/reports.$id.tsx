import { json, redirect, type ActionFunctionArgs, type LoaderFunctionArgs } from '@remix-run/node';
import { Link, useActionData, useLoaderData } from '@remix-run/react';
import { z } from 'zod';
import { CHECKPOINTS, CHECKPOINT_LABELS, type CheckpointId } from '../../../core/research/checkpoints.js';
import { ActionForm } from '../components/ActionForm.js';
import type { DocumentOnceHandle } from '../entry.server.js';
import { baseActionSchema, validateForm, type ActionResult } from '../lib/actions.server.js';
import { writeAudit } from '../lib/audit.server.js';
import { domainOf, fmtDate, fmtDuration, fmtNumber } from '../lib/format.js';
import { renderReportMarkdown } from '../lib/markdown.server.js';
import { requireAdminPost } from '../lib/origin.server.js';
import { deleteReport, timeline } from '../lib/reports.server.js';
import { pageKey } from '../lib/page-key.server.js';
import { requireUser } from '../lib/session.server.js';

/** The rendered body is in the document's HTML already: not again in its hydration data (decision 084). */
export const handle: DocumentOnceHandle = { documentOnce: ['html'] };

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const user = await requireUser(request, context);
  const task = await context.services.tasks.get(params.id ?? '');
  if (!task) throw json({ error: 'No such report' }, { status: 404 });
  const json_ = task.report?.json;
  return json({
    task: {
      id: task.id,
      idea: task.idea,
      depth: task.depth,
      cost: task.cost,
      status: task.status,
      workspaceId: task.workspaceId,
      platform: task.origin.platform,
      requester: task.requester.name ?? task.requester.id,
      createdAt: task.createdAt,
      finishedAt: task.finishedAt ?? null,
      refunded: task.refunded ?? 0,
      error: task.error?.userMessage ?? null,
      errorDetail: user.role === 'admin' ? (task.error?.detail ?? null) : null,
    },
    report: json_
      ? {
          title: json_.title,
          sandbox: json_.sandbox,
          score: json_.score,
          citations: json_.citations.map((c) => ({ ...c, domain: c.domain || domainOf(c.url) })),
          missingSections: json_.missingSections,
        }
      : null,
    hasBody: Boolean(task.report),
    html: task.report ? renderReportMarkdown(task.report.markdown) : null,
    usage: task.usage ?? null,
    timeline: timeline(task.checkpoints),
    isAdmin: user.role === 'admin',
    pageKey: pageKey(),
  });
}

const deleteSchema = baseActionSchema.extend({ intent: z.literal('delete') });

export async function action({ request, context, params }: ActionFunctionArgs) {
  const admin = await requireAdminPost(request, context);
  const parsed = validateForm(deleteSchema, await request.formData());
  if (!parsed.ok) return parsed.response;
  const input = parsed.data;
  const id = params.id ?? '';
  const task = await context.services.tasks.get(id);
  if (!task) return json<ActionResult>({ ok: false, error: 'No such report' }, { status: 404 });
  const deleted = await deleteReport(context.services.mongo, id);
  if (!deleted)
    return json<ActionResult>(
      { ok: false, error: 'Only finished researches can be deleted; cancel it first' },
      { status: 409 },
    );
  context.services.taskIndex?.remove(id);
  await writeAudit(context.services.db, {
    actor: { id: admin.id, email: admin.email },
    action: 'report.delete',
    targetType: 'task',
    targetId: id,
    details: {
      idea: task.idea.slice(0, 200),
      workspaceId: task.workspaceId,
      score: task.report?.json.score.total ?? null,
    },
    reason: input.reason,
    idempotencyKey: input.idempotencyKey,
  });
  return redirect('/reports');
}

const SUBSCORE_MAX = 20;

export default function ReportPage() {
  const { task, report, hasBody, html, usage, timeline: steps, isAdmin, pageKey: key } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const done = new Set(steps.map((s) => s.id));
  return (
    <>
      <div className="page-head">
        <div>
          <div className="sub">
            <Link to="/reports">Reports</Link> / <span className="mono">{task.id}</span>
          </div>
          <h1>{report?.title ?? task.idea}</h1>
          <div className="row-gap small muted">
            <span className={`badge ${task.status === 'succeeded' ? 'ok' : task.status === 'failed' ? 'bad' : 'info'}`}>
              {task.status}
            </span>
            <span>{task.depth}</span>·<span>{task.cost} credits</span>·<span>{task.platform}</span>·
            <span>by {task.requester}</span>·<Link to={`/workspaces/${task.workspaceId}`}>workspace</Link>·
            <span>{fmtDate(task.createdAt)}</span>
            {report?.sandbox ? <span className="badge warn">sandbox</span> : null}
          </div>
        </div>
        {hasBody ? (
          <a className="button secondary" href={`/reports/${task.id}.md`} download>
            Download .md
          </a>
        ) : null}
      </div>
      {result && !result.ok ? <div className="flash bad">{result.error}</div> : null}
      {task.error ? (
        <div className="flash bad">
          {task.error}
          {task.refunded ? ` · ${task.refunded} credits refunded` : ''}
          {task.errorDetail ? <div className="mono">{task.errorDetail}</div> : null}
        </div>
      ) : null}
      {report ? (
        <div className="card score" data-testid="score">
          <div>
            <div className="total">{report.score.total}</div>
            <div className="muted">of 100 · {report.score.band}</div>
            <div className="small muted">confidence {report.score.confidence}</div>
          </div>
          <div className="subscores">
            {report.score.subScores.map((s) => (
              <div className="row" key={s.key} title={s.rationale}>
                <span>{s.label}</span>
                <div className="bar">
                  <span style={{ width: `${(100 * s.score) / SUBSCORE_MAX}%` }} />
                </div>
                <span className="num">
                  {s.score}/{SUBSCORE_MAX}
                </span>
              </div>
            ))}
          </div>
        </div>
      ) : null}
      <div className="grid" style={{ gridTemplateColumns: 'minmax(0, 2fr) minmax(0, 1fr)' }}>
        <div className="card">
          {hasBody ? (
            // After a document load `html` is null here (sent once, in the markup: see `handle`); React leaves
            // server-rendered inner HTML alone while hydrating, and a later revalidation brings it back.
            <div
              className="markdown"
              data-testid="report-body"
              dangerouslySetInnerHTML={{ __html: html ?? '' }}
              suppressHydrationWarning
            />
          ) : (
            <div className="empty">No report (yet).</div>
          )}
        </div>
        <div>
          <div className="card">
            <h2>Checkpoints</h2>
            <ul className="timeline">
              {CHECKPOINTS.map((id: CheckpointId) => {
                const s = steps.find((x) => x.id === id);
                return (
                  <li key={id}>
                    <span className={`dot ${done.has(id) ? '' : 'pending'}`} />
                    <span>
                      {id.includes('_') && !['credits_reserved'].includes(id) ? `${id.split('_')[0]} ` : ''}
                      {CHECKPOINT_LABELS[id]}
                    </span>
                    <span className="small muted">{s ? `+${fmtDuration(s.sinceStartMs)}` : ''}</span>
                    <span className="small muted num">{s && s.stepMs ? fmtDuration(s.stepMs) : ''}</span>
                  </li>
                );
              })}
            </ul>
          </div>
          {usage ? (
            <div className="card">
              <h2>Usage and cost</h2>
              <table>
                <tbody>
                  <tr>
                    <td>Credits charged</td>
                    <td className="num">{task.cost - task.refunded}</td>
                  </tr>
                  <tr>
                    <td>Tavily calls / credits</td>
                    <td className="num">
                      {usage.tavilyCalls} / {usage.tavilyCredits}
                    </td>
                  </tr>
                  <tr>
                    <td>Cache hits</td>
                    <td className="num">{usage.cacheHits}</td>
                  </tr>
                  <tr>
                    <td>LLM tokens (prompt + completion)</td>
                    <td className="num">
                      {fmtNumber(usage.promptTokens)} + {fmtNumber(usage.completionTokens)}
                    </td>
                  </tr>
                  <tr>
                    <td>Sources used</td>
                    <td className="num">{usage.sourcesUsed}</td>
                  </tr>
                  <tr>
                    <td>Citations removed / figures flagged</td>
                    <td className="num">
                      {usage.citationsRemoved} / {usage.figuresFlagged}
                    </td>
                  </tr>
                  <tr>
                    <td>Duration</td>
                    <td className="num">{fmtDuration(usage.durationMs)}</td>
                  </tr>
                </tbody>
              </table>
            </div>
          ) : null}
          {report && report.citations.length > 0 ? (
            <div className="card">
              <h2>Citations</h2>
              <ol className="small" style={{ paddingLeft: 18, margin: 0 }}>
                {report.citations.map((c) => (
                  <li key={c.n} value={c.n} style={{ marginBottom: 6 }}>
                    {/^https?:\/\//i.test(c.url) ? (
                      <a href={c.url} target="_blank" rel="noopener noreferrer nofollow">
                        {c.title || c.url}
                      </a>
                    ) : (
                      <span>{c.title || c.url}</span>
                    )}{' '}
                    <span className="badge">{c.domain}</span>
                  </li>
                ))}
              </ol>
            </div>
          ) : null}
          {isAdmin && ['succeeded', 'failed', 'cancelled'].includes(task.status) ? (
            <div className="actions">
              <ActionForm
                intent="delete"
                title="Delete this report"
                confirmText="Delete it for good"
                submitLabel="Delete report"
                danger
                pageKey={key}
                feedback={result}
              />
            </div>
          ) : null}
        </div>
      </div>
    </>
  );
}
