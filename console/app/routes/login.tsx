import { json, redirect, type ActionFunctionArgs, type LoaderFunctionArgs } from '@remix-run/node';
import { Form, useActionData, useSearchParams } from '@remix-run/react';
import { loginBlocked, recordLoginAttempt } from '../lib/login-limit.server.js';
import { appMetrics } from '../lib/metrics.server.js';
import { assertSameOrigin } from '../lib/origin.server.js';
import { createSession, getSessionUser } from '../lib/session.server.js';
import { verifyCredentials } from '../lib/users.server.js';

// One message whichever of email or password was wrong (and for disabled accounts).
export const BAD_LOGIN = 'Email or password is incorrect.';
export const TOO_MANY = 'Too many failed attempts. Wait 15 minutes and try again.';

/** Only paths on this console: `//evil.example` and absolute URLs fall back to the home page. */
function safeRedirect(to: FormDataEntryValue | string | null): string {
  return typeof to === 'string' && to.startsWith('/') && !to.startsWith('//') && !to.startsWith('/\\')
    ? to
    : '/workspaces';
}

export async function loader({ request, context }: LoaderFunctionArgs) {
  if (await getSessionUser(request, context)) return redirect('/workspaces');
  return json({});
}

export async function action({ request, context }: ActionFunctionArgs) {
  assertSameOrigin(request, context);
  const form = await request.formData();
  const email = String(form.get('email') ?? '')
    .trim()
    .toLowerCase();
  const password = String(form.get('password') ?? '');
  const { db, now } = context.services;
  const ip = context.clientIp ?? 'unknown';
  if (await loginBlocked(db, email, ip, now())) {
    appMetrics.logins.inc({ outcome: 'throttled' });
    return json({ error: TOO_MANY }, { status: 429 });
  }
  const user = email && password ? await verifyCredentials(db, email, password) : undefined;
  await recordLoginAttempt(db, email, ip, Boolean(user), now());
  appMetrics.logins.inc({ outcome: user ? 'succeeded' : 'failed' });
  if (!user) return json({ error: BAD_LOGIN }, { status: 401 });
  const cookie = await createSession(db, request, context, user);
  return redirect(safeRedirect(form.get('redirectTo')), { headers: { 'Set-Cookie': cookie } });
}

export default function Login() {
  const data = useActionData<typeof action>();
  const [params] = useSearchParams();
  return (
    <div className="login card">
      <h1>PMF Scout</h1>
      <p className="sub">Sign in to the admin console.</p>
      {data && 'error' in data ? <div className="flash bad">{data.error}</div> : null}
      <Form method="post">
        <input type="hidden" name="redirectTo" value={params.get('redirectTo') ?? ''} />
        <label>
          Email
          <input name="email" type="email" autoComplete="username" required autoFocus />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" required />
        </label>
        <button type="submit">Sign in</button>
      </Form>
    </div>
  );
}
