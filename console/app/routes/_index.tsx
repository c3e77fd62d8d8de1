import { redirect, type LoaderFunctionArgs } from '@remix-run/node';
import { requireUser } from '../lib/session.server.js';

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireUser(request, context);
  return redirect('/workspaces');
}
