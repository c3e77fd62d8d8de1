import { json, redirect, type ActionFunctionArgs, type LoaderFunctionArgs } from '@remix-run/node';
import { Form, useActionData, useSearchParams } from '@remix-run/react';
import { writeAudit } from '../lib/audit.server.js';
import { loginStats, recordLoginAttempt, throttleDecision, type ThrottleDecision } from '../lib/login-limit.server.js';
import { appMetrics } from '../lib/metrics.server.js';
import { guardPost } from '../lib/origin.server.js';
import { createSession, getSessionUser } from '../lib/session.server.js';
import { verifyCredentials } from '../lib/users.server.js';

// One message whichever of email or password was wrong (and for disabled accounts).
export const BAD_LOGIN = 'Email or password is incorrect.';

/** What a throttled sign-in is told: how long to wait, that nothing happened, and the way out. */
export function tooMany(d: Extract<ThrottleDecision, { allowed: false }>): string {
  const s = Math.ceil(d.retryAfterMs / 1000);
  const wait = s < 120 ? `${s} seconds` : `${Math.ceil(s / 60)} minutes`;
  return d.reason === 'account_cap'
    ? `Too many failed sign-ins for this account from here. Nothing was checked. Wait ${wait}, or sign in from your usual browser.`
    : `Too many failed sign-ins from here. Nothing was checked. Wait ${wait} and try again.`;
}

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
  await guardPost(request, context);
  const form = await request.formData();
  const email = String(form.get('email') ?? '')
    .trim()
    .toLowerCase()
    .slice(0, 254);
  const password = String(form.get('password') ?? '');
  const { db, now } = context.services;
  const ip = context.clientIp ?? 'unknown';
  const at = now();
  const decision = throttleDecision(await loginStats(db, email, ip, at), at);
  if (!decision.allowed) {
    appMetrics.logins.inc({ outcome: 'throttled' });
    // One audit row per address, account and minute: a flood of refused tries does not flood the log.
    await writeAudit(db, {
      actor: { id: null, email: email || '(none)' },
      action: 'security.login_throttled',
      targetType: 'login',
      targetId: email || '(none)',
      details: { ip, reason: decision.reason, retryAfterSeconds: Math.ceil(decision.retryAfterMs / 1000) },
      idempotencyKey: `throttle:${email}:${ip}:${Math.floor(at.getTime() / 60_000)}`,
    });
    return json(
      { error: tooMany(decision), email },
      { status: 429, headers: { 'Retry-After': String(Math.ceil(decision.retryAfterMs / 1000)) } },
    );
  }
  const user = email && password ? await verifyCredentials(db, email, password) : undefined;
  await recordLoginAttempt(db, email, ip, Boolean(user), at);
  appMetrics.logins.inc({ outcome: user ? 'succeeded' : 'failed' });
  if (!user) {
    await writeAudit(db, {
      actor: { id: null, email: email || '(none)' },
      action: 'security.login_failed',
      targetType: 'login',
      targetId: email || '(none)',
      details: { ip },
    });
    return json({ error: BAD_LOGIN, email }, { status: 401 });
  }
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
      {data && 'error' in data ? (
        <div className="flash bad" role="alert">
          {data.error}
        </div>
      ) : null}
      <Form method="post">
        <input type="hidden" name="redirectTo" value={params.get('redirectTo') ?? ''} />
        <label>
          Email
          <input
            name="email"
            type="email"
            autoComplete="username"
            required
            autoFocus
            defaultValue={data?.email ?? ''}
          />
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
