// Choosing one's own password: required after signing in with a one-time password an admin issued (new
// account or reset), and available to anyone signed in.
import { json, redirect, type ActionFunctionArgs, type LoaderFunctionArgs } from '@remix-run/node';
import { Form, useActionData, useLoaderData } from '@remix-run/react';
import { z } from 'zod';
import { FieldError } from '../components/ActionForm.js';
import { validateForm, formError } from '../lib/actions.server.js';
import { writeAudit } from '../lib/audit.server.js';
import { requireUserPost } from '../lib/origin.server.js';
import { requireUser } from '../lib/session.server.js';
import { passwordSchema, setOwnPassword } from '../lib/users.server.js';

export async function loader({ request, context }: LoaderFunctionArgs) {
  const user = await requireUser(request, context);
  return json({ email: user.email, mustChange: Boolean(user.mustChangePassword) });
}

const schema = z.object({ password: passwordSchema, repeat: z.string() });

export async function action({ request, context }: ActionFunctionArgs) {
  const user = await requireUserPost(request, context);
  const form = await request.formData();
  const parsed = validateForm(schema, form);
  if (!parsed.ok) return parsed.response;
  if (parsed.data.password !== parsed.data.repeat) return formError(form, { repeat: 'the two passwords differ' });
  await setOwnPassword(context.services.db, user.id, parsed.data.password);
  await writeAudit(context.services.db, {
    actor: { id: user.id, email: user.email },
    action: 'user.password_changed',
    targetType: 'user',
    targetId: user.id,
    details: { email: user.email, oneTimeReplaced: Boolean(user.mustChangePassword) },
  });
  return redirect('/workspaces');
}

export default function ChangePassword() {
  const { email, mustChange } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const feedback = result && !result.ok ? result : undefined;
  return (
    <div className="card" style={{ maxWidth: 440 }}>
      <h1>Your password</h1>
      <p className="sub">
        {mustChange
          ? `You signed in as ${email} with a one-time password. Choose your own (at least 12 characters) to continue.`
          : `Choose a new password for ${email} (at least 12 characters).`}
      </p>
      {feedback ? <div className="flash bad">{feedback.error}</div> : null}
      <Form method="post">
        <label>
          New password
          <input name="password" type="password" autoComplete="new-password" required minLength={12} />
        </label>
        <FieldError feedback={feedback} name="password" />
        <label>
          Repeat it
          <input name="repeat" type="password" autoComplete="new-password" required minLength={12} />
        </label>
        <FieldError feedback={feedback} name="repeat" />
        <button type="submit">Save password</button>
      </Form>
    </div>
  );
}
