import { json, redirect, type ActionFunctionArgs, type LoaderFunctionArgs } from '@remix-run/node';
import { Form, Link, useActionData, useLoaderData, useNavigation } from '@remix-run/react';
import { z } from 'zod';
import { DEPTH_PROFILES, DEPTHS } from '../../../core/research/depth.js';
import { CheckpointProgress } from '../components/CheckpointProgress.js';
import { useLivePolling } from '../components/useLivePolling.js';
import { describeError, parseForm, type ActionResult } from '../lib/actions.server.js';
import { writeAudit } from '../lib/audit.server.js';
import { fmtDate, fmtDuration } from '../lib/format.js';
import { CONSOLE_WORKSPACE, jobRow } from '../lib/jobs.server.js';
import { renderReportMarkdown } from '../lib/markdown.server.js';
import { requireAdminPost } from '../lib/origin.server.js';
import { pageKey } from '../lib/page-key.server.js';
import { timeline } from '../lib/reports.server.js';
import { requireAdmin } from '../lib/session.server.js';

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireAdmin(request, context);
  const { ledger, tasks } = context.services;
  const workspace = await ledger.ensureWorkspace(CONSOLE_WORKSPACE);
  const taskId = new URL(request.url).searchParams.get('task');
  const [balance, recent, task] = await Promise.all([
    ledger.balance(workspace.id),
    tasks.search({ workspaceId: workspace.id, sort: 'newest', pageSize: 8 }),
    taskId ? tasks.get(taskId) : Promise.resolve(undefined),
  ]);
  return json({
    workspaceId: workspace.id,
    balance,
    recent: recent.items.map(jobRow),
    task: task && task.workspaceId === workspace.id ? { ...jobRow(task), timeline: timeline(task.checkpoints) } : null,
    html: task?.report ? renderReportMarkdown(task.report.markdown) : null,
    score: task?.report?.json.score ?? null,
    jobsAvailable: Boolean(context.services.jobs),
    sandbox: context.services.sandbox,
    pageKey: pageKey(),
  });
}

const submitSchema = z.object({
  idea: z.string().trim().min(10, 'describe the idea in at least 10 characters').max(2000),
  depth: z.enum(DEPTHS),
  idempotencyKey: z.string().min(8).max(100),
});

export async function action({ request, context }: ActionFunctionArgs) {
  const admin = await requireAdminPost(request, context);
  const input = parseForm(submitSchema, await request.formData());
  const { jobs, ledger, db } = context.services;
  if (!jobs)
    return json<ActionResult>(
      { ok: false, error: 'The job layer is not available in this console process' },
      { status: 503 },
    );
  const workspace = await ledger.ensureWorkspace(CONSOLE_WORKSPACE);
  try {
    const { task, created } = await jobs.submitResearch({
      requestKey: `console:${input.idempotencyKey}`,
      workspaceId: workspace.id,
      requester: { id: `console:${admin.id}`, name: admin.email },
      origin: { platform: 'console', userId: admin.id },
      idea: input.idea,
      depth: input.depth,
    });
    if (created) {
      await writeAudit(db, {
        actor: { id: admin.id, email: admin.email },
        action: 'playground.submit',
        targetType: 'task',
        targetId: task.id,
        details: { depth: task.depth, idea: task.idea.slice(0, 200) },
        idempotencyKey: input.idempotencyKey,
      });
    }
    return redirect(`/playground?task=${encodeURIComponent(task.id)}`);
  } catch (err) {
    const { status, error } = describeError(err);
    return json<ActionResult>({ ok: false, error }, { status });
  }
}

export default function Playground() {
  const { balance, recent, task, html, score, jobsAvailable, sandbox, pageKey: key } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const nav = useNavigation();
  useLivePolling(
    Boolean(task && (task.status === 'queued' || task.status === 'running' || (task.status === 'succeeded' && !html))),
    1000,
  );
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Playground</h1>
          <div className="sub">
            Run a research from the console workspace ({balance.balance} credits left) and watch it advance.
          </div>
        </div>
        {sandbox ? <span className="badge warn">sandbox providers</span> : null}
      </div>
      {result && !result.ok ? <div className="flash bad">{result.error}</div> : null}
      <div className="grid" style={{ gridTemplateColumns: 'minmax(0, 2fr) minmax(0, 1fr)' }}>
        <div className="card">
          {/* Remounted per task so a submitted idea does not linger in the box for an accidental second run. */}
          <Form method="post" key={task?.id ?? 'new'}>
            <input type="hidden" name="idempotencyKey" value={key} />
            <label className="muted small" htmlFor="idea">
              Product idea
            </label>
            <textarea
              id="idea"
              name="idea"
              required
              minLength={10}
              maxLength={2000}
              placeholder="An app that matches dog owners with vetted sitters in their neighbourhood"
            />
            <div className="row-gap" style={{ marginTop: 10 }}>
              {DEPTHS.map((d) => (
                <label key={d} className="row-gap">
                  <input type="radio" name="depth" value={d} defaultChecked={d === 'standard'} />{' '}
                  {DEPTH_PROFILES[d].label} · {DEPTH_PROFILES[d].credits} credits
                </label>
              ))}
              <button
                type="submit"
                disabled={!jobsAvailable || nav.state === 'submitting'}
                style={{ marginLeft: 'auto' }}
              >
                {nav.state === 'submitting' ? 'Submitting…' : 'Run research'}
              </button>
            </div>
          </Form>
        </div>
        <div className="card">
          <h2>Recent</h2>
          {recent.length === 0 ? <div className="muted small">Nothing yet.</div> : null}
          {recent.map((r) => (
            <div key={r.id} className="small" style={{ marginBottom: 6 }}>
              <Link to={`/playground?task=${r.id}`}>{r.idea.slice(0, 60)}</Link>{' '}
              <span className="badge">{r.status}</span>
              <div className="muted">{fmtDate(r.createdAt)}</div>
            </div>
          ))}
        </div>
      </div>
      {task ? (
        <div className="card" data-testid="playground-task" data-status={task.status}>
          <div className="page-head" style={{ marginBottom: 8 }}>
            <div>
              <h2 style={{ marginBottom: 4 }}>{task.idea}</h2>
              <div className="small muted">
                <span className="mono">{task.id}</span> · {task.depth} ·{' '}
                <span
                  className={`badge ${task.status === 'succeeded' ? 'ok' : task.status === 'failed' ? 'bad' : 'info'}`}
                >
                  {task.status}
                </span>
              </div>
            </div>
            <Link className="button secondary" to={`/reports/${task.id}`}>
              Open report page
            </Link>
          </div>
          <CheckpointProgress done={task.checkpoints} />
          <div className="small muted" style={{ marginTop: 6 }}>
            {task.timeline.map((s) => `${s.id} +${fmtDuration(s.sinceStartMs)}`).join(' · ')}
          </div>
          {task.error ? (
            <div className="flash bad" style={{ marginTop: 10 }}>
              {task.error}
            </div>
          ) : null}
          {score ? (
            <p>
              <b>PMF {score.total}/100</b> — {score.band} (confidence {score.confidence})
            </p>
          ) : null}
          {html ? (
            <div className="markdown" data-testid="playground-report" dangerouslySetInnerHTML={{ __html: html }} />
          ) : null}
        </div>
      ) : null}
    </>
  );
}
