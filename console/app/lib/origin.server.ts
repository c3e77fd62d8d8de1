// Every mutation is a POST whose Origin must be the console's own: SameSite=Lax already keeps the session
// cookie off cross-site POSTs, this is the second lock on the door (decision 071).
import { json, type AppLoadContext } from '@remix-run/node';
import { requireAdmin } from './session.server.js';
import type { ConsoleUser } from './users.server.js';

export function expectedOrigin(request: Request, context: AppLoadContext): string {
  return context.services.origin ? new URL(context.services.origin).origin : new URL(request.url).origin;
}

export function assertSameOrigin(request: Request, context: AppLoadContext): void {
  if (request.method !== 'POST') throw json({ error: 'Changes are POST requests' }, { status: 405 });
  const header = request.headers.get('origin') ?? refererOrigin(request.headers.get('referer'));
  if (!header || header !== expectedOrigin(request, context)) {
    throw json({ error: 'Cross-origin request refused' }, { status: 403 });
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

/** The guard every action starts with: a same-origin POST from a logged-in admin. Returns the admin. */
export async function requireAdminPost(request: Request, context: AppLoadContext): Promise<ConsoleUser> {
  assertSameOrigin(request, context);
  return requireAdmin(request, context);
}
