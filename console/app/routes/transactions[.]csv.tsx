import type { LoaderFunctionArgs } from '@remix-run/node';
import { TRANSACTIONS_CSV_HEADER, transactionCsvRow } from '../lib/csv.js';
import { requireUser } from '../lib/session.server.js';
import { allTransactions, crossFilters } from '../lib/transactions.server.js';

// Streamed in batches, so an export of the whole ledger never sits in memory at once.
export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireUser(request, context);
  const batches = allTransactions(context.services.db, crossFilters(new URL(request.url).searchParams));
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(TRANSACTIONS_CSV_HEADER.join(',') + '\r\n'));
    },
    async pull(controller) {
      const next = await batches.next();
      if (next.done) controller.close();
      else controller.enqueue(encoder.encode(next.value.map(transactionCsvRow).join('\r\n') + '\r\n'));
    },
    async cancel() {
      await batches.return(undefined);
    },
  });
  const stamp = new Date().toISOString().slice(0, 10);
  return new Response(body, {
    headers: {
      'Content-Type': 'text/csv; charset=utf-8',
      'Content-Disposition': `attachment; filename="transactions-${stamp}.csv"`,
    },
  });
}
