// How the console shows amounts and score bands: the ledger tables and the reports list read them here.
import { describe, expect, it } from '@jest/globals';
import { bandClass, fmtLedgerAmount } from '../app/lib/format.js';

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

describe('bandClass', () => {
  it('colours a verdict by how good it is', () => {
    expect([bandClass('exceptional'), bandClass('strong'), bandClass('moderate'), bandClass('weak')]).toEqual([
      'ok',
      'ok',
      'warn',
      'bad',
    ]);
  });

  it('shows "insufficient evidence" neutral: it says nothing about the idea (decision 037)', () => {
    expect(bandClass('insufficient evidence')).toBe('info');
  });

  it('leaves a report without a score uncoloured', () => {
    expect(bandClass(null)).toBe('');
  });
});
