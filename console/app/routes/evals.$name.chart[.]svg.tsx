// One run's chart (evals.tsx shows it as an image).
import { json, type LoaderFunctionArgs } from '@remix-run/node';
import { evalsRoot, readRunFiles } from '../lib/evals.server.js';
import { requireUser } from '../lib/session.server.js';

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  await requireUser(request, context);
  const files = await readRunFiles(evalsRoot(), params.name ?? '');
  if (!files?.svg) throw json({ error: 'No such evaluation run' }, { status: 404 });
  return new Response(files.svg, {
    headers: {
      'Content-Type': 'image/svg+xml; charset=utf-8',
      'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'",
      'X-Content-Type-Options': 'nosniff',
    },
  });
}
