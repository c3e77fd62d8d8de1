import { json, type ActionFunctionArgs, type LoaderFunctionArgs } from '@remix-run/node';
import { Form, useActionData, useLoaderData } from '@remix-run/react';
import { z } from 'zod';
import { ActionForm } from '../components/ActionForm.js';
import { baseActionSchema, parseForm, type ActionResult } from '../lib/actions.server.js';
import { writeAudit } from '../lib/audit.server.js';
import { fmtDate } from '../lib/format.js';
import { requireAdminPost } from '../lib/origin.server.js';
import { pageKey } from '../lib/page-key.server.js';
import { requireAdmin } from '../lib/session.server.js';
import {
  createUser,
  findUserByEmail,
  generatePassword,
  getUser,
  listUsers,
  ROLES,
  setUserDisabled,
} from '../lib/users.server.js';

export async function loader({ request, context }: LoaderFunctionArgs) {
  const me = await requireAdmin(request, context);
  const users = await listUsers(context.services.db);
  return json({ me: me.id, users, pageKey: pageKey() });
}

const createSchema = baseActionSchema.extend({
  intent: z.literal('create'),
  email: z.string().trim().toLowerCase().email(),
  role: z.enum(ROLES),
});
const toggleSchema = baseActionSchema.extend({ intent: z.enum(['disable', 'enable']), userId: z.string().uuid() });

export async function action({ request, context }: ActionFunctionArgs) {
  const admin = await requireAdminPost(request, context);
  const { db } = context.services;
  const form = await request.formData();
  const actor = { id: admin.id, email: admin.email };
  if (form.get('intent') === 'create') {
    const input = parseForm(createSchema, form);
    if (await findUserByEmail(db, input.email))
      return json<ActionResult>({ ok: false, error: `${input.email} already has an account` }, { status: 409 });
    const password = generatePassword();
    const user = await createUser(db, { email: input.email, password, role: input.role, createdBy: admin.email });
    await writeAudit(db, {
      actor,
      action: 'user.create',
      targetType: 'user',
      targetId: user.id,
      details: { email: user.email, role: user.role },
      reason: input.reason,
      idempotencyKey: input.idempotencyKey,
    });
    return json({
      ok: true as const,
      message: `Created ${user.email} (${user.role}). Password, shown once: ${password}`,
    });
  }
  const input = parseForm(toggleSchema, form);
  if (input.userId === admin.id)
    return json<ActionResult>({ ok: false, error: 'You cannot disable yourself' }, { status: 400 });
  const target = await getUser(db, input.userId);
  if (!target) return json<ActionResult>({ ok: false, error: 'No such user' }, { status: 404 });
  await setUserDisabled(db, target.id, input.intent === 'disable');
  await writeAudit(db, {
    actor,
    action: `user.${input.intent}`,
    targetType: 'user',
    targetId: target.id,
    details: { email: target.email },
    reason: input.reason,
    idempotencyKey: input.idempotencyKey,
  });
  return json<ActionResult>({ ok: true, message: `${target.email} ${input.intent}d` });
}

export default function Users() {
  const { me, users, pageKey: key } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Users</h1>
          <div className="sub">Admins change things; viewers only look. Every change here is in the audit log.</div>
        </div>
      </div>
      {result ? (
        <div className={`flash ${result.ok ? 'ok' : 'bad'}`}>{result.ok ? result.message : result.error}</div>
      ) : null}
      <div className="card">
        <table>
          <thead>
            <tr>
              <th>Email</th>
              <th>Role</th>
              <th>Status</th>
              <th>Created</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            {users.map((u) => (
              <tr key={u.id}>
                <td>{u.email}</td>
                <td>
                  <span className={`badge ${u.role === 'admin' ? 'info' : ''}`}>{u.role}</span>
                </td>
                <td>
                  {u.disabledAt ? (
                    <span className="badge bad">disabled</span>
                  ) : (
                    <span className="badge ok">active</span>
                  )}
                </td>
                <td>{fmtDate(u.createdAt)}</td>
                <td>
                  {u.id === me ? (
                    <span className="muted small">you</span>
                  ) : (
                    <Form method="post" className="row-gap">
                      <input type="hidden" name="intent" value={u.disabledAt ? 'enable' : 'disable'} />
                      <input type="hidden" name="userId" value={u.id} />
                      <input type="hidden" name="idempotencyKey" value={`${key}:${u.id}`} />
                      <input name="reason" placeholder="Reason" required minLength={3} />
                      <label className="confirm">
                        <input type="checkbox" name="confirm" value="yes" required /> sure
                      </label>
                      <button type="submit" className={u.disabledAt ? 'secondary' : 'danger'}>
                        {u.disabledAt ? 'Enable' : 'Disable'}
                      </button>
                    </Form>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="actions" style={{ maxWidth: 420 }}>
        <ActionForm
          intent="create"
          title="Add a user"
          confirmText="Create this account"
          submitLabel="Create user"
          formKey={result?.ok ? result.message : undefined}
          pageKey={key}
        >
          <input name="email" type="email" placeholder="email@example.com" required aria-label="Email" />
          <select name="role" defaultValue="viewer" aria-label="Role">
            <option value="viewer">viewer (read only)</option>
            <option value="admin">admin</option>
          </select>
        </ActionForm>
      </div>
    </>
  );
}
