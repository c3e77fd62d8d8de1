import { redirect, type ActionFunctionArgs, type LoaderFunctionArgs } from '@remix-run/node';
import { guardPost } from '../lib/origin.server.js';
import { clearSessionCookie, requireUser, revokeSession } from '../lib/session.server.js';

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireUser(request, context);
  return redirect('/workspaces');
}

export async function action({ request, context }: ActionFunctionArgs) {
  await guardPost(request, context);
  await revokeSession(context.services.db, request);
  return redirect('/login', { headers: { 'Set-Cookie': clearSessionCookie(request, context) } });
}
