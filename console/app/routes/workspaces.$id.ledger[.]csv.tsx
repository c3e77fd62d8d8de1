import { json, type LoaderFunctionArgs } from '@remix-run/node';
import { LEDGER_CSV_HEADER, ledgerCsvRow } from '../lib/csv.js';
import { ledgerFilters } from '../lib/ledger-filters.js';
import { requireUser } from '../lib/session.server.js';

// The ledger caps a page (200 today); the loop follows the page size it actually returns.
const CHUNK = 200;

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  await requireUser(request, context);
  const id = params.id ?? '';
  const { ledger } = context.services;
  const workspace = /^[0-9a-f-]{36}$/i.test(id) ? await ledger.getWorkspace(id) : undefined;
  if (!workspace) throw json({ error: 'No such workspace' }, { status: 404 });
  const filters = ledgerFilters(new URL(request.url).searchParams);
  const lines = [LEDGER_CSV_HEADER.join(',')];
  for (let page = 1; ; page++) {
    const chunk = await ledger.transactions(id, { ...filters, page, pageSize: CHUNK });
    lines.push(...chunk.items.map(ledgerCsvRow));
    if (chunk.items.length === 0 || page * chunk.pageSize >= chunk.total) break;
  }
  const name = `ledger-${workspace.name.replace(/[^a-z0-9]+/gi, '-').toLowerCase() || workspace.id}.csv`;
  return new Response(lines.join('\r\n') + '\r\n', {
    headers: { 'Content-Type': 'text/csv; charset=utf-8', 'Content-Disposition': `attachment; filename="${name}"` },
  });
}
