import { json, type ActionFunctionArgs, type LoaderFunctionArgs } from '@remix-run/node';
import { Form, Link, useActionData, useLoaderData } from '@remix-run/react';
import { z } from 'zod';
import { failureCause } from '../../../core/research/failures.js';
import { FieldError, feedbackFor, type FormFeedback } from '../components/ActionForm.js';
import { CheckpointProgress } from '../components/CheckpointProgress.js';
import { useLivePolling } from '../components/useLivePolling.js';
import { describeError, validateForm, type ActionResult } from '../lib/actions.server.js';
import { writeAudit } from '../lib/audit.server.js';
import { fmtDate } from '../lib/format.js';
import { jobRow } from '../lib/jobs.server.js';
import { requireAdminPost } from '../lib/origin.server.js';
import { pageKey } from '../lib/page-key.server.js';
import { requireUser } from '../lib/session.server.js';

const SECTIONS = ['running', 'queued', 'failed', 'cancelled'] as const;

export async function loader({ request, context }: LoaderFunctionArgs) {
  const user = await requireUser(request, context);
  const { tasks } = context.services;
  const pages = await Promise.all(SECTIONS.map((status) => tasks.search({ status, sort: 'newest', pageSize: 25 })));
  const sections = SECTIONS.map((status, i) => ({
    status,
    total: pages[i]!.total,
    // A provider's refusal is shown by its exact cause (provider, kind, what to fix), not only the user's words.
    items: pages[i]!.items.map((t) => ({
      ...jobRow(t),
      cause: t.error?.failure ? failureCause(t.error.failure) : null,
    })),
  }));
  return json({
    sections,
    isAdmin: user.role === 'admin',
    jobsAvailable: Boolean(context.services.jobs),
    pageKey: pageKey(),
  });
}

// Cancel and retry are not double-submit hazards (a second cancel of a cancelling task is refused by the job
// layer, a second retry of a re-queued task too), so they carry a reason but no confirmation tick.
const jobActionSchema = z.object({
  intent: z.enum(['cancel', 'retry']),
  taskId: z.string().min(1).max(64),
  idempotencyKey: z.string().min(8).max(100),
  reason: z.string().trim().min(3, 'a reason of at least 3 characters is required').max(500),
});

export async function action({ request, context }: ActionFunctionArgs) {
  const admin = await requireAdminPost(request, context);
  const parsed = validateForm(jobActionSchema, await request.formData());
  if (!parsed.ok) return parsed.response;
  const input = parsed.data;
  const { jobs, db } = context.services;
  if (!jobs)
    return json<ActionResult>(
      { ok: false, error: 'The job layer is not available in this console process' },
      { status: 503 },
    );
  const actor = { id: `console:${admin.email}`, isAdmin: true };
  try {
    const task =
      input.intent === 'cancel'
        ? await jobs.cancelResearch(input.taskId, actor)
        : await jobs.retryResearch(input.taskId, actor);
    await writeAudit(db, {
      actor: { id: admin.id, email: admin.email },
      action: `task.${input.intent}`,
      targetType: 'task',
      targetId: task.id,
      details: { status: task.status, workspaceId: task.workspaceId },
      reason: input.reason,
      idempotencyKey: input.idempotencyKey,
    });
    return json<ActionResult>({
      ok: true,
      message: input.intent === 'cancel' ? `Cancelling ${task.id}` : `${task.id} queued again`,
    });
  } catch (err) {
    const { status, error } = describeError(err);
    return json<ActionResult>({ ok: false, error }, { status });
  }
}

function JobAction({
  intent,
  taskId,
  label,
  pageKey: key,
  feedback,
}: {
  intent: 'cancel' | 'retry';
  taskId: string;
  label: string;
  pageKey: string;
  feedback?: FormFeedback;
}) {
  const own = feedbackFor(feedback, intent, { taskId });
  return (
    <Form method="post" className="row-gap">
      <input type="hidden" name="intent" value={intent} />
      <input type="hidden" name="taskId" value={taskId} />
      <input type="hidden" name="idempotencyKey" value={`${key}:${intent}:${taskId}`} />
      <input
        name="reason"
        placeholder="Reason"
        required
        minLength={3}
        style={{ width: 130 }}
        aria-label={`Reason to ${intent}`}
        defaultValue={own?.values?.reason ?? ''}
      />
      <button type="submit" className={intent === 'cancel' ? 'danger' : 'secondary'}>
        {label}
      </button>
      <FieldError feedback={own} name="reason" />
    </Form>
  );
}

export default function Jobs() {
  const { sections, isAdmin, jobsAvailable, pageKey: key } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const live = sections.some((s) => (s.status === 'running' || s.status === 'queued') && s.total > 0);
  useLivePolling(live, 1500);
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Jobs</h1>
          <div className="sub">
            Researches in flight and the ones that did not finish. {live ? 'Updating live.' : ''}
          </div>
        </div>
      </div>
      {!jobsAvailable ? (
        <div className="flash bad">
          The job layer is not connected to this console process: cancel and retry are unavailable.
        </div>
      ) : null}
      {result ? (
        <div className={`flash ${result.ok ? 'ok' : 'bad'}`}>{result.ok ? result.message : result.error}</div>
      ) : null}
      {sections.map((s) => (
        <div className="card" key={s.status}>
          <h2>
            {s.status} <span className="badge">{s.total}</span>
          </h2>
          {s.items.length === 0 ? (
            <div className="muted small">none</div>
          ) : (
            <table>
              <tbody>
                {s.items.map((j) => (
                  <tr key={j.id} data-testid={`job-${j.id}`}>
                    <td style={{ width: '38%' }}>
                      <Link to={`/reports/${j.id}`}>{j.idea.slice(0, 120)}</Link>
                      <div className="small muted">
                        <span className="mono">{j.id}</span> · {j.depth} · {j.platform} · {fmtDate(j.createdAt)}
                      </div>
                      {j.error ? (
                        <div className="small" style={{ color: 'var(--bad)' }}>
                          {j.error}
                        </div>
                      ) : null}
                      {j.cause ? (
                        <div className="small mono" data-testid={`cause-${j.id}`}>
                          cause: {j.cause}
                        </div>
                      ) : null}
                    </td>
                    <td>
                      <CheckpointProgress done={j.checkpoints} />
                      <div className="small muted">
                        now: {j.current ?? '—'}
                        {j.cancelRequested ? ' · cancel requested' : ''}
                      </div>
                    </td>
                    <td style={{ textAlign: 'right' }}>
                      {isAdmin &&
                      jobsAvailable &&
                      (j.status === 'running' || j.status === 'queued') &&
                      !j.cancelRequested ? (
                        <JobAction intent="cancel" taskId={j.id} label="Cancel" pageKey={key} feedback={result} />
                      ) : null}
                      {isAdmin && jobsAvailable && j.status === 'failed' ? (
                        <JobAction intent="retry" taskId={j.id} label="Retry" pageKey={key} feedback={result} />
                      ) : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      ))}
    </>
  );
}
