// Sessions live in PostgreSQL (revocable, expiring). The cookie carries a random token; the table holds
// only its sha256, so reading the table does not let anyone log in.
import { createHash, randomBytes } from 'node:crypto';
import { json, redirect, type AppLoadContext } from '@remix-run/node';
import type { Knex } from 'knex';
import { ONE_TIME, type ConsoleUser } from './users.server.js';

const SESSION_COOKIE = 'pmf_console_session';
const SESSION_TTL_MS = 12 * 60 * 60 * 1000;

const tokenId = (token: string) => createHash('sha256').update(token).digest('hex');

function parseCookies(header: string | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    const k = part.slice(0, i).trim();
    if (k) out[k] = decodeURIComponent(part.slice(i + 1).trim());
  }
  return out;
}

/** Secure whenever the console is served over TLS (CONSOLE_ORIGIN https, or the request itself). */
function cookieAttributes(request: Request, origin: string | undefined, maxAgeSeconds: number): string {
  const secure = (origin ?? request.url).startsWith('https:');
  return `Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;
}

export async function createSession(
  db: Knex,
  request: Request,
  context: AppLoadContext,
  user: ConsoleUser,
): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  await db('console_sessions').insert({
    id: tokenId(token),
    user_id: user.id,
    expires_at: new Date(context.services.now().getTime() + SESSION_TTL_MS),
    ip: context.clientIp ?? null,
    user_agent: request.headers.get('user-agent')?.slice(0, 300) ?? null,
  });
  return `${SESSION_COOKIE}=${token}; ${cookieAttributes(request, context.services.origin, SESSION_TTL_MS / 1000)}`;
}

export function clearSessionCookie(request: Request, context: AppLoadContext): string {
  return `${SESSION_COOKIE}=; ${cookieAttributes(request, context.services.origin, 0)}`;
}

export async function revokeSession(db: Knex, request: Request): Promise<void> {
  const token = parseCookies(request.headers.get('cookie'))[SESSION_COOKIE];
  if (token)
    await db('console_sessions')
      .where({ id: tokenId(token) })
      .update({ revoked_at: db.fn.now() });
}

export async function getSessionUser(request: Request, context: AppLoadContext): Promise<ConsoleUser | undefined> {
  const token = parseCookies(request.headers.get('cookie'))[SESSION_COOKIE];
  if (!token) return undefined;
  const { db, now } = context.services;
  // One round trip per request: the session and its user together.
  const row = (await db('console_sessions as s')
    .join('console_users as u', 'u.id', 's.user_id')
    .where('s.id', tokenId(token))
    .whereNull('s.revoked_at')
    .whereNull('u.disabled_at')
    .where('s.expires_at', '>', now())
    .first(
      'u.id',
      'u.email',
      'u.role',
      'u.disabled_at',
      'u.created_at',
      db.raw(`starts_with(u.password_hash, ?) AS must_change`, [ONE_TIME]),
    )) as
    | {
        id: string;
        email: string;
        role: ConsoleUser['role'];
        disabled_at: Date | null;
        created_at: Date;
        must_change: boolean;
      }
    | undefined;
  return row
    ? {
        id: row.id,
        email: row.email,
        role: row.role,
        disabledAt: row.disabled_at,
        createdAt: row.created_at,
        mustChangePassword: row.must_change,
      }
    : undefined;
}

/** Where a user signed in with a one-time password is sent until they choose their own. */
const CHANGE_PASSWORD_PATH = '/account/password';

/** Every loader and action starts here: no session → the login page, remembering where the user was going. */
export async function requireUser(request: Request, context: AppLoadContext): Promise<ConsoleUser> {
  const user = await getSessionUser(request, context);
  const url = new URL(request.url);
  if (user?.mustChangePassword && url.pathname !== CHANGE_PASSWORD_PATH) {
    if (request.method !== 'GET')
      throw json({ error: 'Choose your own password first: nothing was changed.' }, { status: 403 });
    throw redirect(CHANGE_PASSWORD_PATH);
  }
  if (user) return user;
  if (request.method !== 'GET') throw json({ error: 'Not logged in' }, { status: 401 });
  throw redirect(`/login?redirectTo=${encodeURIComponent(url.pathname + url.search)}`);
}

const ADMINS_ONLY = 'Only admins may change things. Nothing was changed; ask an admin, or to have your role changed.';

/** Mutations: a viewer gets 403, whatever the route. Pages a viewer may read use requireUser. */
export async function requireAdmin(request: Request, context: AppLoadContext): Promise<ConsoleUser> {
  const user = await requireUser(request, context);
  if (user.role !== 'admin') throw json({ error: ADMINS_ONLY }, { status: 403 });
  return user;
}
