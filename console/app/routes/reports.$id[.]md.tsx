import { json, type LoaderFunctionArgs } from '@remix-run/node';
import { requireUser } from '../lib/session.server.js';

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  await requireUser(request, context);
  const task = await context.services.tasks.get(params.id ?? '');
  if (!task?.report) throw json({ error: 'No such report' }, { status: 404 });
  return new Response(task.report.markdown, {
    headers: {
      'Content-Type': 'text/markdown; charset=utf-8',
      'Content-Disposition': `attachment; filename="pmf-${task.id.replace(/[^A-Za-z0-9-]/g, '')}.md"`,
      'X-Content-Type-Options': 'nosniff',
    },
  });
}
