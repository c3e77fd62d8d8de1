import { json, redirect, type ActionFunctionArgs, type LoaderFunctionArgs } from '@remix-run/node';
import { Form, Link, useActionData, useLoaderData, useNavigation } from '@remix-run/react';
import { z } from 'zod';
import { DEPTH_PROFILES, DEPTHS } from '../../../core/research/depth.js';
import { FieldError, feedbackFor } from '../components/ActionForm.js';
import { CheckpointProgress } from '../components/CheckpointProgress.js';
import { useLivePolling } from '../components/useLivePolling.js';
import { describeError, formError, validateForm, type ActionResult } from '../lib/actions.server.js';
import { writeAudit } from '../lib/audit.server.js';
import { fmtDate, fmtDuration } from '../lib/format.js';
import { CONSOLE_WORKSPACE, jobRow } from '../lib/jobs.server.js';
import { renderReportMarkdown } from '../lib/markdown.server.js';
import { requireAdminPost } from '../lib/origin.server.js';
import { pageKey } from '../lib/page-key.server.js';
import { timeline } from '../lib/reports.server.js';
import { requireUser } from '../lib/session.server.js';

// Viewers may watch (read-only); running and cancelling are an admin's.
export async function loader({ request, context }: LoaderFunctionArgs) {
  const user = await requireUser(request, context);
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
    canAct: user.role === 'admin',
    pageKey: pageKey(),
  });
}

const submitSchema = z.object({
  intent: z.literal('submit').default('submit'),
  idea: z.string().trim().min(10, 'describe the idea in at least 10 characters').max(2000, 'at most 2,000 characters'),
  depth: z.enum(DEPTHS, { errorMap: () => ({ message: 'choose essential, standard or deep' }) }),
  idempotencyKey: z.string().min(8).max(100),
});

const cancelSchema = z.object({
  intent: z.literal('cancel'),
  taskId: z.string().min(1).max(64),
  idempotencyKey: z.string().min(8).max(100),
});

export async function action({ request, context }: ActionFunctionArgs) {
  const admin = await requireAdminPost(request, context);
  const form = await request.formData();
  const { jobs, ledger, db } = context.services;
  if (!jobs)
    return json<ActionResult>(
      {
        ok: false,
        error:
          'The job layer is not available in this console process: nothing was run or charged. Try again once the console is restarted with its job layer.',
      },
      { status: 503 },
    );
  if (form.get('intent') === 'cancel') {
    const parsed = validateForm(cancelSchema, form);
    if (!parsed.ok) return parsed.response;
    try {
      const task = await jobs.cancelResearch(parsed.data.taskId, { id: `console:${admin.email}`, isAdmin: true });
      await writeAudit(db, {
        actor: { id: admin.id, email: admin.email },
        action: 'task.cancel',
        targetType: 'task',
        targetId: task.id,
        details: { status: task.status, workspaceId: task.workspaceId, from: 'playground' },
        idempotencyKey: parsed.data.idempotencyKey,
      });
      return redirect(`/playground?task=${encodeURIComponent(task.id)}`);
    } catch (err) {
      const { status, error } = describeError(err);
      return formError(form, { form: error }, status, error);
    }
  }
  const parsed = validateForm(submitSchema, form);
  if (!parsed.ok) return parsed.response;
  const input = parsed.data;
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
    return formError(form, { idea: error }, status, `${error} Nothing was charged.`);
  }
}

export default function Playground() {
  const {
    balance,
    recent,
    task,
    html,
    score,
    jobsAvailable,
    sandbox,
    canAct,
    pageKey: key,
  } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const submitted = feedbackFor(result, 'submit');
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
          {canAct ? null : (
            <div className="muted small" style={{ marginBottom: 8 }}>
              You are a viewer: you can watch researches here; running one is for admins.
            </div>
          )}
          {/* Remounted per task so a submitted idea does not linger in the box for an accidental second run. */}
          <Form method="post" key={task?.id ?? 'new'}>
            <input type="hidden" name="intent" value="submit" />
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
              defaultValue={submitted?.values?.idea ?? ''}
              aria-invalid={submitted?.fieldErrors?.idea ? true : undefined}
              disabled={!canAct}
            />
            <FieldError feedback={submitted} name="idea" />
            <div className="row-gap" style={{ marginTop: 10 }}>
              {DEPTHS.map((d) => (
                <label key={d} className="row-gap">
                  <input
                    type="radio"
                    name="depth"
                    value={d}
                    defaultChecked={d === (submitted?.values?.depth ?? 'standard')}
                    disabled={!canAct}
                  />{' '}
                  {DEPTH_PROFILES[d].label} · {DEPTH_PROFILES[d].credits} credits
                </label>
              ))}
              <button
                type="submit"
                disabled={!canAct || !jobsAvailable || nav.state === 'submitting'}
                style={{ marginLeft: 'auto' }}
              >
                {nav.state === 'submitting' ? 'Submitting…' : 'Run research'}
              </button>
            </div>
            <FieldError feedback={submitted} name="depth" />
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
            <div className="row-gap">
              {canAct &&
              jobsAvailable &&
              (task.status === 'queued' || task.status === 'running') &&
              !task.cancelRequested ? (
                <Form method="post">
                  <input type="hidden" name="intent" value="cancel" />
                  <input type="hidden" name="taskId" value={task.id} />
                  <input type="hidden" name="idempotencyKey" value={`${key}:cancel:${task.id}`} />
                  <button type="submit" className="danger">
                    Cancel
                  </button>
                </Form>
              ) : null}
              {task.cancelRequested ? <span className="badge warn">cancelling</span> : null}
              <Link className="button secondary" to={`/reports/${task.id}`}>
                Open report page
              </Link>
            </div>
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
