// Every ledger row of every workspace, newest first: filter by type, date and workspace, page, export.
import { json, type LoaderFunctionArgs } from '@remix-run/node';
import { Link, useLoaderData } from '@remix-run/react';
import { DebouncedSearchForm } from '../components/DebouncedSearchForm.js';
import { LedgerCells, LedgerHeadCells } from '../components/LedgerCells.js';
import { DateRangeFilter, ExportCsvLink, SearchFilter, SelectFilter } from '../components/ListFilters.js';
import { Pager } from '../components/Pager.js';
import { fmtDate } from '../lib/format.js';
import { TX_TYPES } from '../lib/ledger-filters.js';
import { int } from '../lib/params.js';
import { requireUser } from '../lib/session.server.js';
import { crossFilters, listTransactions } from '../lib/transactions.server.js';

const PAGE_SIZE = 50;

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireUser(request, context);
  const p = new URL(request.url).searchParams;
  const found = await listTransactions(context.services.db, crossFilters(p), int(p, 'page', 1, 1, 100_000), PAGE_SIZE);
  return json(found);
}

export default function Transactions() {
  const { items, total, page, pageSize } = useLoaderData<typeof loader>();
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Transactions</h1>
          <div className="sub">Every credit movement in every workspace, newest first.</div>
        </div>
        <ExportCsvLink path="/transactions.csv" />
      </div>
      <DebouncedSearchForm>
        <SearchFilter label="Workspace" name="workspace" placeholder="name or id" ariaLabel="Workspace name or id" />
        <SelectFilter label="Type" name="type" options={TX_TYPES} />
        <DateRangeFilter />
      </DebouncedSearchForm>
      <div className="card table-card">
        {items.length === 0 ? (
          <div className="empty">No transactions for these filters.</div>
        ) : (
          <table data-testid="transactions">
            <thead>
              <tr>
                <th>When</th>
                <th>Workspace</th>
                <LedgerHeadCells />
              </tr>
            </thead>
            <tbody>
              {items.map((t) => (
                <tr key={t.id}>
                  <td className="small">{fmtDate(t.createdAt)}</td>
                  <td>
                    <Link to={`/workspaces/${t.workspaceId}`} title={t.workspaceId}>
                      {t.workspaceName}
                    </Link>
                  </td>
                  <LedgerCells t={t} />
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <Pager page={page} pageSize={pageSize} total={total} />
      </div>
    </>
  );
}
