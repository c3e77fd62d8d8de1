// Issue 18's admin hardening, through the loaders and actions on the real test servers: login throttling
// that cannot lock the owner out, forms that return their errors, strict amounts, user management.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomInt, randomUUID } from 'node:crypto';
import type { ActionFunctionArgs, AppLoadContext, LoaderFunctionArgs } from '@remix-run/node';
import { ACCOUNT_CAP, pairDelayMs, throttleDecision } from '../app/lib/login-limit.server.js';
import { FOREIGN_ORIGIN_HEADER } from '../app/lib/origin.server.js';
import * as passwordRoute from '../app/routes/account.password.js';
import * as loginRoute from '../app/routes/login.js';
import * as usersRoute from '../app/routes/users.js';
import * as workspaceRoute from '../app/routes/workspaces.$id.js';
import * as workspacesRoute from '../app/routes/workspaces._index.js';
import { createHarness, respond, type Harness } from './harness.js';

type Fn = (args: LoaderFunctionArgs & ActionFunctionArgs) => Promise<unknown>;

let h: Harness;
let admin: Awaited<ReturnType<Harness['user']>>;
let workspaceId: string;

beforeAll(async () => {
  h = await createHarness('console_admin_actions');
  admin = await h.user('admin');
  workspaceId = (
    await h.ledger.ensureWorkspace({ platform: 'slack', externalId: `T-${randomUUID().slice(0, 8)}`, name: 'Forms Co' })
  ).id;
});

afterAll(async () => {
  await h.close();
});

const randomIp = () => `10.${randomInt(256)}.${randomInt(256)}.${randomInt(256)}`;

function call(fn: Fn, request: Request, params: Record<string, string> = {}, context: AppLoadContext = h.context) {
  return respond(() => fn({ request, context, params }));
}

/** The console as seen from one client address at a given moment. */
function from(ip: string, at: Date): AppLoadContext {
  return { services: { ...h.services, now: () => at }, clientIp: ip };
}

async function login(email: string, password: string, ctx: AppLoadContext) {
  const res = await call(loginRoute.action as Fn, h.post('/login', { email, password }), {}, ctx);
  return { status: res.status, body: res.status === 302 ? null : ((await res.json()) as { error: string }) };
}

describe('login throttling', () => {
  it('grows the wait per address and account: two free mistakes, then 1 s, 2 s, 4 s', async () => {
    expect([1, 2, 3, 4, 5, 6].map(pairDelayMs)).toEqual([0, 0, 1000, 2000, 4000, 8000]);
    const none = { pairLastFailureAt: null, pairFirstFailureAt: null, addressFirstFailureAt: null };
    const t = new Date('2030-01-01T00:00:00Z');
    const stats = { ...none, pairFailures: 3, accountFailures: 3, addressFailures: 3, pairLastFailureAt: t };
    expect(throttleDecision(stats, new Date(t.getTime() + 500))).toEqual({
      allowed: false,
      reason: 'pair_delay',
      retryAfterMs: 500,
    });
    expect(throttleDecision(stats, new Date(t.getTime() + 1000))).toEqual({ allowed: true });
  });

  it('slows one address guessing one account, and lets it try again once the wait is over', async () => {
    const { user, password } = await h.user('viewer');
    const ip = randomIp();
    let t = Date.now();
    for (let i = 0; i < 3; i++) expect((await login(user.email, 'wrong', from(ip, new Date(t)))).status).toBe(401);
    const early = await login(user.email, password, from(ip, new Date(t + 500)));
    expect(early.status).toBe(429);
    expect(early.body?.error).toMatch(/Nothing was checked\. Wait 1 seconds/);
    t += 1100;
    expect((await login(user.email, 'wrong', from(ip, new Date(t)))).status).toBe(401);
    // The fourth failure doubled the wait.
    expect((await login(user.email, password, from(ip, new Date(t + 1500)))).status).toBe(429);
    expect((await login(user.email, password, from(ip, new Date(t + 2100)))).status).toBe(302);
  });

  it('cannot be used to lock the owner out: guesses from many addresses leave a clean address working', async () => {
    const { user, password } = await h.user('admin');
    const t = Date.now();
    const guessers = Array.from({ length: ACCOUNT_CAP + 2 }, randomIp);
    for (const ip of guessers) await login(user.email, 'guess', from(ip, new Date(t)));
    // A guessing address is refused even with the right password...
    const guesser = await login(user.email, password, from(guessers[0]!, new Date(t + 60_000)));
    expect(guesser.status).toBe(429);
    // ...while the owner's own address signs in at once.
    expect((await login(user.email, password, from(randomIp(), new Date(t + 60_000)))).status).toBe(302);
    const rows = await h.services
      .db('console_audit_log')
      .where({ target_id: user.email })
      .select<{ action: string }[]>('action');
    const actions = rows.map((r) => r.action);
    expect(actions.filter((a) => a === 'security.login_failed')).toHaveLength(guessers.length);
    expect(actions).toContain('security.login_throttled');
  });
});

describe('forms keep their errors', () => {
  const grant = (amount: string, reason = 'goodwill after outage') =>
    call(
      workspaceRoute.action as Fn,
      h.post(
        `/workspaces/${workspaceId}`,
        { intent: 'grant', amount, reason, confirm: 'yes', idempotencyKey: randomUUID() },
        { cookie: admin.cookie },
      ),
      { id: workspaceId },
    );

  it('answers an invalid amount with the field error and what was typed, and changes nothing', async () => {
    const before = (await h.ledger.balance(workspaceId)).balance;
    for (const [amount, message] of [
      ['10,000,001', 'at most 10,000,000'],
      ['0x10', 'whole credits in plain digits, like 1500 or 1,500'],
      ['1e3', 'whole credits in plain digits, like 1500 or 1,500'],
      ['2.5', 'whole credits in plain digits, like 1500 or 1,500'],
      ['1,50', 'whole credits in plain digits, like 1500 or 1,500'],
      ['0', 'at least 1'],
    ]) {
      const res = await grant(amount!);
      expect({ amount, status: res.status, body: await res.json() }).toEqual({
        amount,
        status: 400,
        body: expect.objectContaining({
          ok: false,
          intent: 'grant',
          fieldErrors: { amount: message },
          values: expect.objectContaining({ amount, reason: 'goodwill after outage' }),
        }),
      });
    }
    const spaces = await grant('5', '    ');
    expect(((await spaces.json()) as { fieldErrors: Record<string, string> }).fieldErrors).toEqual({
      reason: 'a reason of at least 3 characters is required',
    });
    expect((await h.ledger.balance(workspaceId)).balance).toBe(before);
  });

  it('accepts thousands separators and says the amount as people write it', async () => {
    const res = await grant('1,500');
    expect(await res.json()).toEqual({ ok: true, intent: 'grant', message: 'Granted 1,500 credits' });
    const audit = await h.services
      .db('console_audit_log')
      .where({ target_id: workspaceId, action: 'workspace.grant' })
      .orderBy('id', 'desc')
      .first();
    const change = (audit as { details: { changes: { balance: { before: number; after: number } } } }).details.changes;
    expect(change.balance.after - change.balance.before).toBe(1500);
  });
});

describe('users', () => {
  const usersPost = (form: Record<string, string>, cookie = admin.cookie) =>
    call(usersRoute.action as Fn, h.post('/users', form, { cookie }));

  it('creates a user once for two concurrent posts with one key, both answered alike', async () => {
    const email = `new-${randomUUID().slice(0, 8)}@console-admin.test`;
    const form = {
      intent: 'create',
      email,
      role: 'viewer',
      reason: 'new hire',
      confirm: 'yes',
      idempotencyKey: randomUUID(),
    };
    const [a, b] = await Promise.all([usersPost(form), usersPost(form)]);
    expect([a.status, b.status]).toEqual([200, 200]);
    const [bodyA, bodyB] = [await a.json(), await b.json()];
    expect(bodyA).toEqual(bodyB);
    expect((bodyA as { message: string }).message).toMatch(/One-time password, shown once: [\w-]{32}/);
    expect(await h.services.db('console_users').where({ email })).toHaveLength(1);
    const dup = await usersPost({ ...form, idempotencyKey: randomUUID() });
    expect(dup.status).toBe(409);
    expect(((await dup.json()) as { fieldErrors: Record<string, string> }).fieldErrors).toEqual({
      email: `${email} already has an account`,
    });
  });

  it('changes a role with before → after in the audit log', async () => {
    const { user } = await h.user('viewer');
    const key = randomUUID();
    const res = await usersPost({
      intent: 'role',
      userId: user.id,
      role: 'admin',
      reason: 'promotion',
      confirm: 'yes',
      idempotencyKey: key,
    });
    expect(await res.json()).toEqual({ ok: true, intent: 'role', message: `${user.email} is now admin` });
    const audit = await h.services.db('console_audit_log').where({ idempotency_key: key }).first();
    expect(audit).toMatchObject({
      action: 'user.role',
      details: { changes: { role: { before: 'viewer', after: 'admin' } } },
    });
    const again = await usersPost({
      intent: 'role',
      userId: user.id,
      role: 'admin',
      reason: 'promotion',
      confirm: 'yes',
      idempotencyKey: randomUUID(),
    });
    expect(again.status).toBe(400);
    expect(((await again.json()) as { fieldErrors: Record<string, string> }).fieldErrors.role).toMatch(
      /already an admin/,
    );
  });

  it('resets a password to a one-time one: sessions end, and the holder must choose their own', async () => {
    const target = await h.user('viewer');
    const res = await usersPost({
      intent: 'reset',
      userId: target.user.id,
      reason: 'forgot it',
      confirm: 'yes',
      idempotencyKey: randomUUID(),
    });
    const message = ((await res.json()) as { message: string }).message;
    const otp = /shown once: ([\w-]+)/.exec(message)?.[1];
    expect(otp).toBeDefined();
    // The old session is gone.
    expect((await call(workspacesRoute.loader as Fn, h.get('/workspaces', target.cookie))).status).toBe(302);
    expect((await login(target.user.email, target.password, from(randomIp(), new Date()))).status).toBe(401);
    const signedIn = await call(
      loginRoute.action as Fn,
      h.post('/login', { email: target.user.email, password: otp! }),
      {},
      from(randomIp(), new Date()),
    );
    expect(signedIn.status).toBe(302);
    const cookie = signedIn.headers.get('set-cookie')!.split(';')[0]!;
    const blocked = await call(workspacesRoute.loader as Fn, h.get('/workspaces', cookie));
    expect(blocked.headers.get('location')).toBe('/account/password');
    const mismatch = await call(
      passwordRoute.action as Fn,
      h.post('/account/password', { password: 'a-new-long-password', repeat: 'something-else-entirely' }, { cookie }),
    );
    expect(((await mismatch.json()) as { fieldErrors: Record<string, string> }).fieldErrors).toEqual({
      repeat: 'the two passwords differ',
    });
    const changed = await call(
      passwordRoute.action as Fn,
      h.post('/account/password', { password: 'a-new-long-password', repeat: 'a-new-long-password' }, { cookie }),
    );
    expect(changed.status).toBe(302);
    expect((await call(workspacesRoute.loader as Fn, h.get('/workspaces', cookie))).status).toBe(200);
  });

  it('signs a user out everywhere', async () => {
    const target = await h.user('viewer');
    const res = await usersPost({
      intent: 'signout_all',
      userId: target.user.id,
      reason: 'lost laptop',
      confirm: 'yes',
      idempotencyKey: randomUUID(),
    });
    expect(((await res.json()) as { message: string }).message).toBe(`${target.user.email} signed out of 1 session`);
    expect((await call(workspacesRoute.loader as Fn, h.get('/workspaces', target.cookie))).status).toBe(302);
  });
});

describe('refused requests', () => {
  it('answers a forged cross-origin post with 403 and writes it to the audit log', async () => {
    const ip = randomIp();
    const req = new Request(`http://console.test/users`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        cookie: admin.cookie,
        [FOREIGN_ORIGIN_HEADER]: 'https://evil.example',
      },
      body: 'intent=create',
    });
    const res = await call(usersRoute.action as Fn, req, {}, { ...h.context, clientIp: ip });
    expect(res.status).toBe(403);
    const rows = await h.services
      .db('console_audit_log')
      .where({ action: 'security.request_refused' })
      .whereRaw(`details->>'ip' = ?`, [ip]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ target_id: '/users', details: { origin: 'https://evil.example' } });
  });
});
