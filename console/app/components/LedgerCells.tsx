import { Link } from '@remix-run/react';
import type { LedgerTransaction } from '../../../core/credits/types.js';
import { fmtLedgerAmount, fmtNumber } from '../lib/format.js';

/** The headings of the columns LedgerCells fills, in the same order. */
export function LedgerHeadCells() {
  return (
    <>
      <th>Type</th>
      <th className="num">Amount</th>
      <th className="num">Balance after</th>
      <th>Actor</th>
      <th>Reason</th>
      <th>Task</th>
    </>
  );
}

/**
 * The cells of one ledger row from Type to Task, in the order both ledger tables (one workspace's, every
 * workspace's) head their columns; the page puts its own leading cells (when, workspace) before them.
 */
export function LedgerCells({
  t,
}: {
  t: Pick<LedgerTransaction, 'type' | 'amount' | 'balanceAfter' | 'actor' | 'reason' | 'taskId'>;
}) {
  const amount = fmtLedgerAmount(t.amount);
  return (
    <>
      <td>
        <span className="badge">{t.type}</span>
      </td>
      <td className="num" style={{ color: amount.color }}>
        {amount.text}
      </td>
      <td className="num">{t.balanceAfter === null ? '—' : fmtNumber(t.balanceAfter)}</td>
      <td className="small">{t.actor}</td>
      <td>{t.reason ?? ''}</td>
      <td className="mono">{t.taskId ? <Link to={`/reports/${t.taskId}`}>{t.taskId}</Link> : ''}</td>
    </>
  );
}
