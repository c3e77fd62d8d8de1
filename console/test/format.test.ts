// How the ledger tables show an amount: both ledger tables (one workspace's, every workspace's) read it here.
import { describe, expect, it } from '@jest/globals';
import { fmtLedgerAmount } from '../app/lib/format.js';

describe('fmtLedgerAmount', () => {
  it('shows a grant with its sign, grouped, in the ok colour', () => {
    expect(fmtLedgerAmount(1250)).toEqual({ text: '+1,250', color: 'var(--ok)' });
  });

  it('shows a debit with its minus sign in the bad colour', () => {
    expect(fmtLedgerAmount(-40)).toEqual({ text: '-40', color: 'var(--bad)' });
  });

  it('shows a capture (0) plain, with no sign and no colour', () => {
    expect(fmtLedgerAmount(0)).toEqual({ text: '0', color: undefined });
  });
});
