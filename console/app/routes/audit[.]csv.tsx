import type { LoaderFunctionArgs } from '@remix-run/node';
import { auditFilters } from '../lib/audit-filters.js';
import { allAudit, changesOf } from '../lib/audit.server.js';
import { csvCell } from '../lib/csv.js';
import { requireUser } from '../lib/session.server.js';

const HEADER = ['id', 'at', 'actor', 'actor_id', 'action', 'target_type', 'target_id', 'changes', 'details', 'reason'];

// The filtered audit log, streamed in batches; `changes` reads "field: before -> after; …".
export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireUser(request, context);
  const batches = allAudit(context.services.db, auditFilters(new URL(request.url).searchParams));
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(HEADER.join(',') + '\r\n'));
    },
    async pull(controller) {
      const next = await batches.next();
      if (next.done) return controller.close();
      const lines = next.value.map((e) => {
        const { changes: _changes, ...rest } = e.details;
        const changes = changesOf(e.details)
          .map((c) => `${c.field}: ${JSON.stringify(c.before)} -> ${JSON.stringify(c.after)}`)
          .join('; ');
        return [
          e.id,
          e.at,
          e.actorEmail,
          e.actorId,
          e.action,
          e.targetType,
          e.targetId,
          changes,
          JSON.stringify(rest),
          e.reason,
        ]
          .map(csvCell)
          .join(',');
      });
      controller.enqueue(encoder.encode(lines.join('\r\n') + '\r\n'));
    },
    async cancel() {
      await batches.return(undefined);
    },
  });
  return new Response(body, {
    headers: {
      'Content-Type': 'text/csv; charset=utf-8',
      'Content-Disposition': `attachment; filename="audit-${new Date().toISOString().slice(0, 10)}.csv"`,
    },
  });
}
