import { json, type ActionFunctionArgs, type LoaderFunctionArgs } from '@remix-run/node';
import { useActionData, useLoaderData } from '@remix-run/react';
import { z } from 'zod';
import { ActionForm, FieldError, feedbackFor } from '../components/ActionForm.js';
import { baseActionSchema, formError, validateForm, type ActionResult } from '../lib/actions.server.js';
import { writeAudit } from '../lib/audit.server.js';
import { fmtDate } from '../lib/format.js';
import { requireAdminPost } from '../lib/origin.server.js';
import { pageKey } from '../lib/page-key.server.js';
import { requireUser } from '../lib/session.server.js';
import {
  createUser,
  findUserByEmail,
  generatePassword,
  getUser,
  issueOneTimePassword,
  listUsers,
  otherActiveAdmins,
  revokeAllSessions,
  ROLES,
  setUserDisabled,
  setUserRole,
  type ConsoleUser,
} from '../lib/users.server.js';

// Viewers may read the list; every change is an admin's.
export async function loader({ request, context }: LoaderFunctionArgs) {
  const me = await requireUser(request, context);
  const users = await listUsers(context.services.db);
  return json({
    me: me.id,
    canAct: me.role === 'admin',
    users: users.map((u) => ({ ...u, oneTime: Boolean(u.mustChangePassword) })),
    pageKey: pageKey(),
  });
}

const createSchema = baseActionSchema.extend({
  intent: z.literal('create'),
  email: z.string().trim().toLowerCase().email('a valid email address').max(254),
  role: z.enum(ROLES, { errorMap: () => ({ message: 'admin or viewer' }) }),
});
const userTarget = { userId: z.string().uuid('no such user') };
const toggleSchema = baseActionSchema.extend({ intent: z.enum(['disable', 'enable']), ...userTarget });
const roleSchema = baseActionSchema.extend({
  intent: z.literal('role'),
  role: z.enum(ROLES, { errorMap: () => ({ message: 'admin or viewer' }) }),
  ...userTarget,
});
const resetSchema = baseActionSchema.extend({ intent: z.literal('reset'), ...userTarget });
const signOutSchema = baseActionSchema.extend({ intent: z.literal('signout_all'), ...userTarget });

const INTENTS = ['create', 'disable', 'enable', 'role', 'reset', 'signout_all'] as const;

/**
 * Creating a user is idempotent like the ledger actions: submissions with one key that arrive together in
 * this process share one answer (the one-time password included); one that arrives later, or in another
 * process, finds the account made under its key and says so instead of failing.
 */
const creating = new Map<string, Promise<{ status: number; body: ActionResult }>>();

async function createOnce(
  context: ActionFunctionArgs['context'],
  admin: ConsoleUser,
  input: z.infer<typeof createSchema>,
): Promise<{ status: number; body: ActionResult }> {
  const { db, now } = context.services;
  const earlier = async () =>
    (await db('console_audit_log').where({ idempotency_key: input.idempotencyKey, action: 'user.create' }).first())
      ? {
          status: 200,
          body: {
            ok: true as const,
            intent: 'create',
            message: `${input.email} was created by an earlier submission of this form; its one-time password was shown there. Use "Reset password" on its row for a new one.`,
          },
        }
      : undefined;
  // The answer when the email has an account already, whether found before inserting or by the insert's conflict.
  const emailTaken: { status: number; body: ActionResult } = {
    status: 409,
    body: {
      ok: false,
      intent: 'create',
      error: 'Nothing was changed.',
      fieldErrors: { email: `${input.email} already has an account` },
      values: { email: input.email, role: input.role, reason: input.reason },
    },
  };
  const done = await earlier();
  if (done) return done;
  if (await findUserByEmail(db, input.email)) return emailTaken;
  const password = generatePassword();
  try {
    const user = await db.transaction(async (trx) => {
      const created = await createUser(trx, {
        email: input.email,
        password,
        role: input.role,
        createdBy: admin.email,
        oneTime: now(),
      });
      await writeAudit(trx, {
        actor: { id: admin.id, email: admin.email },
        action: 'user.create',
        targetType: 'user',
        targetId: created.id,
        details: { email: created.email, role: created.role, changes: { role: { before: null, after: created.role } } },
        reason: input.reason,
        idempotencyKey: input.idempotencyKey,
      });
      return created;
    });
    return {
      status: 200,
      body: {
        ok: true,
        intent: 'create',
        message: `Created ${user.email} (${user.role}). One-time password, shown once: ${password} — they choose their own when they first sign in (within 24 hours).`,
      },
    };
  } catch (err) {
    // Another submission (same key, or the same email) committed first.
    if ((err as { code?: unknown }).code !== '23505') throw err;
    return (await earlier()) ?? emailTaken;
  }
}

export async function action({ request, context }: ActionFunctionArgs) {
  const admin = await requireAdminPost(request, context);
  const { db, now } = context.services;
  const form = await request.formData();
  const intent = form.get('intent');
  if (typeof intent !== 'string' || !(INTENTS as readonly string[]).includes(intent))
    return formError(form, { form: 'unknown action' });
  const actor = { id: admin.id, email: admin.email };

  if (intent === 'create') {
    const parsed = validateForm(createSchema, form);
    if (!parsed.ok) return parsed.response;
    const key = parsed.data.idempotencyKey;
    let pending = creating.get(key);
    if (!pending) {
      pending = createOnce(context, admin, parsed.data);
      creating.set(key, pending);
      // Kept only while submissions of one click can still arrive: the answer holds a password.
      void pending.catch(() => undefined).finally(() => setTimeout(() => creating.delete(key), 30_000).unref());
    }
    const { status, body } = await pending;
    return json<ActionResult>(body, { status });
  }

  const schema =
    intent === 'role'
      ? roleSchema
      : intent === 'reset'
        ? resetSchema
        : intent === 'signout_all'
          ? signOutSchema
          : toggleSchema;
  const parsed = validateForm(schema, form);
  if (!parsed.ok) return parsed.response;
  const input = parsed.data;
  const target = await getUser(db, input.userId);
  if (!target) return formError(form, { form: 'No such user.' }, 404);
  const audit = (action: string, details: Record<string, unknown>) =>
    writeAudit(db, {
      actor,
      action,
      targetType: 'user',
      targetId: target.id,
      details: { email: target.email, ...details },
      reason: input.reason,
      idempotencyKey: input.idempotencyKey,
    });

  switch (input.intent) {
    case 'disable':
    case 'enable': {
      if (input.userId === admin.id) return formError(form, { form: 'You cannot disable yourself.' });
      const disable = input.intent === 'disable';
      if (disable && target.role === 'admin' && (await otherActiveAdmins(db, target.id)) === 0)
        return formError(form, { form: `${target.email} is the last active admin; make another admin first.` }, 409);
      await setUserDisabled(db, target.id, disable);
      await audit(`user.${input.intent}`, {
        changes: {
          status: { before: target.disabledAt ? 'disabled' : 'active', after: disable ? 'disabled' : 'active' },
        },
      });
      return json<ActionResult>({ ok: true, intent: input.intent, message: `${target.email} ${input.intent}d` });
    }
    case 'role': {
      const role = (input as z.infer<typeof roleSchema>).role;
      if (role === target.role)
        return formError(form, { role: `${target.email} is already ${role === 'admin' ? 'an admin' : 'a viewer'}` });
      if (target.role === 'admin' && (await otherActiveAdmins(db, target.id)) === 0)
        return formError(
          form,
          {
            role: `${target.id === admin.id ? 'You are' : `${target.email} is`} the last active admin; make another admin first.`,
          },
          409,
        );
      await setUserRole(db, target.id, role);
      await audit('user.role', { changes: { role: { before: target.role, after: role } } });
      return json<ActionResult>({ ok: true, intent: 'role', message: `${target.email} is now ${role}` });
    }
    case 'reset': {
      if (target.id === admin.id)
        return formError(form, { form: 'Change your own password under "Your password" instead.' });
      const password = await issueOneTimePassword(db, target.id, now());
      await audit('user.password_reset', { sessionsEnded: 'all' });
      return json<ActionResult>({
        ok: true,
        intent: 'reset',
        message: `${target.email} is signed out everywhere. One-time password, shown once: ${password} — valid for 24 hours, then they choose their own.`,
      });
    }
    case 'signout_all': {
      const ended = await revokeAllSessions(db, target.id);
      await audit('user.signout_all', { sessionsEnded: ended });
      return json<ActionResult>({
        ok: true,
        intent: 'signout_all',
        message: `${target.email} signed out of ${ended} session${ended === 1 ? '' : 's'}`,
      });
    }
  }
}

export default function Users() {
  const { me, canAct, users, pageKey: key } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const createFeedback = feedbackFor(result, 'create');
  const formKey = result?.ok ? result.message : undefined;
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Users</h1>
          <div className="sub">
            Admins change things; viewers only look. Every change here is in the audit log.
            {canAct ? '' : ' You are a viewer: this page is read-only.'}
          </div>
        </div>
      </div>
      {result ? (
        <div className={`flash ${result.ok ? 'ok' : 'bad'}`} role="status">
          {result.ok ? result.message : result.error}
        </div>
      ) : null}
      <div className="card table-card">
        <table className="stack">
          <thead>
            <tr>
              <th>Email</th>
              <th>Role</th>
              <th>Status</th>
              <th>Created</th>
              {canAct ? <th>Manage</th> : null}
            </tr>
          </thead>
          <tbody>
            {users.map((u) => {
              // Every form in a row posts this page's key and names the row's user.
              const rowForm = { pageKey: key, formKey, feedback: result, hidden: { userId: u.id } };
              return (
                <tr key={u.id} data-testid={`user-${u.email}`}>
                  <td data-label="Email">
                    {u.email} {u.id === me ? <span className="muted small">(you)</span> : null}
                  </td>
                  <td data-label="Role">
                    <span className={`badge ${u.role === 'admin' ? 'info' : ''}`}>{u.role}</span>
                  </td>
                  <td data-label="Status">
                    {u.disabledAt ? (
                      <span className="badge bad">disabled</span>
                    ) : (
                      <span className="badge ok">active</span>
                    )}{' '}
                    {u.oneTime ? <span className="badge warn">one-time password</span> : null}
                  </td>
                  <td data-label="Created" className="small">
                    {fmtDate(u.createdAt)}
                  </td>
                  {canAct ? (
                    <td data-label="Manage">
                      <details open={Boolean(result && !result.ok && result.values?.userId === u.id)}>
                        <summary>Manage</summary>
                        <div className="actions compact">
                          <ActionForm
                            intent="role"
                            title="Role"
                            confirmText="Change the role"
                            submitLabel="Change role"
                            {...rowForm}
                          >
                            <select
                              name="role"
                              defaultValue={u.role === 'admin' ? 'viewer' : 'admin'}
                              aria-label={`New role for ${u.email}`}
                            >
                              <option value="viewer">viewer (read only)</option>
                              <option value="admin">admin</option>
                            </select>
                            <FieldError feedback={feedbackFor(result, 'role', { userId: u.id })} name="role" />
                          </ActionForm>
                          <ActionForm
                            intent="signout_all"
                            title="Sign out everywhere"
                            confirmText="End every session"
                            submitLabel="Sign out everywhere"
                            {...rowForm}
                          />
                          {u.id === me ? null : (
                            <>
                              <ActionForm
                                intent="reset"
                                title="Reset password"
                                confirmText="Issue a one-time password"
                                submitLabel="Reset password"
                                {...rowForm}
                              />
                              <ActionForm
                                intent={u.disabledAt ? 'enable' : 'disable'}
                                title={u.disabledAt ? 'Enable' : 'Disable'}
                                confirmText={u.disabledAt ? 'Let them sign in again' : 'Lock them out'}
                                submitLabel={u.disabledAt ? 'Enable' : 'Disable'}
                                danger={!u.disabledAt}
                                {...rowForm}
                              />
                            </>
                          )}
                        </div>
                      </details>
                    </td>
                  ) : null}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {canAct ? (
        <div className="actions" style={{ maxWidth: 420 }}>
          <ActionForm
            intent="create"
            title="Add a user"
            confirmText="Create this account"
            submitLabel="Create user"
            formKey={formKey}
            pageKey={key}
            feedback={result}
          >
            <input
              name="email"
              type="email"
              placeholder="email@example.com"
              required
              aria-label="Email"
              defaultValue={createFeedback?.values?.email ?? ''}
              aria-invalid={createFeedback?.fieldErrors?.email ? true : undefined}
            />
            <FieldError feedback={createFeedback} name="email" />
            <select name="role" defaultValue={createFeedback?.values?.role ?? 'viewer'} aria-label="Role">
              <option value="viewer">viewer (read only)</option>
              <option value="admin">admin</option>
            </select>
            <FieldError feedback={createFeedback} name="role" />
          </ActionForm>
        </div>
      ) : null}
    </>
  );
}
