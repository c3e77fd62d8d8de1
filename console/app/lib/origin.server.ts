// Every mutation is a POST whose Origin must be the console's own: SameSite=Lax already keeps the session
// cookie off cross-site POSTs, this is the second lock on the door (decision 071).
import { json, type AppLoadContext } from '@remix-run/node';
import { writeAudit } from './audit.server.js';
import { requireAdmin, requireUser } from './session.server.js';
import type { ConsoleUser } from './users.server.js';

/**
 * Remix refuses a document POST whose Origin host differs from Host with a bare 500 and a stack trace in
 * the log, before any route runs. console/server.ts moves such an Origin into this header (after dropping
 * any copy the client sent), so the refusal is ours: a 403 page and an audit row.
 */
export const FOREIGN_ORIGIN_HEADER = 'x-pmf-foreign-origin';

const CROSS_ORIGIN_REFUSED =
  'Cross-origin request refused: changes are accepted only from pages of this console. Nothing was changed; open the console and try again there.';

function expectedOrigin(request: Request, context: AppLoadContext): string {
  return context.services.origin ? new URL(context.services.origin).origin : new URL(request.url).origin;
}

function assertSameOrigin(request: Request, context: AppLoadContext): void {
  if (request.method !== 'POST') throw json({ error: 'Changes are POST requests' }, { status: 405 });
  const header = request.headers.has(FOREIGN_ORIGIN_HEADER)
    ? request.headers.get(FOREIGN_ORIGIN_HEADER)
    : (request.headers.get('origin') ?? refererOrigin(request.headers.get('referer')));
  if (!header || header !== expectedOrigin(request, context)) {
    throw json({ error: CROSS_ORIGIN_REFUSED }, { status: 403 });
  }
}

function refererOrigin(referer: string | null): string | null {
  if (!referer) return null;
  try {
    return new URL(referer).origin;
  } catch {
    return null;
  }
}

/** assertSameOrigin, with a refused request written to the audit log as a security event. */
export async function guardPost(request: Request, context: AppLoadContext): Promise<void> {
  try {
    assertSameOrigin(request, context);
  } catch (refusal) {
    if (refusal instanceof Response && refusal.status === 403) {
      const url = new URL(request.url);
      const origin =
        request.headers.get(FOREIGN_ORIGIN_HEADER) ?? request.headers.get('origin') ?? request.headers.get('referer');
      await writeAudit(context.services.db, {
        actor: { id: null, email: '(unknown)' },
        action: 'security.request_refused',
        targetType: 'path',
        targetId: url.pathname,
        details: { ip: context.clientIp ?? 'unknown', origin: origin?.slice(0, 200) ?? null },
        // One row per address, path and minute: a flood of forged posts does not flood the log.
        idempotencyKey: `refused:${context.clientIp ?? 'unknown'}:${url.pathname}:${Math.floor(Date.now() / 60_000)}`,
      }).catch(() => undefined);
    }
    throw refusal;
  }
}

/** The guard every action starts with: a same-origin POST from a logged-in admin. Returns the admin. */
export async function requireAdminPost(request: Request, context: AppLoadContext): Promise<ConsoleUser> {
  await guardPost(request, context);
  return requireAdmin(request, context);
}

/** A same-origin POST from any logged-in user (their own session, e.g. logout). */
export async function requireUserPost(request: Request, context: AppLoadContext): Promise<ConsoleUser> {
  await guardPost(request, context);
  return requireUser(request, context);
}
