import { describe, expect, it } from '@jest/globals';
import { LedgerValidationError } from './errors.js';
import { prepare } from './prepared.js';
import { DEPTH_PROFILES, DEPTHS } from '../research/depth.js';
import { checkAmount, checkMonth, checkReason, payloadHash, remainingByDepth } from './rules.js';

describe('ledger rules (pure)', () => {
  it("a research costs its depth profile's credits: 6, 12 and 18 (the product notes)", () => {
    expect(DEPTHS.map((d) => DEPTH_PROFILES[d].credits)).toEqual([6, 12, 18]);
  });

  it('remaining researches are floor(balance / price), never negative', () => {
    expect(remainingByDepth(4)).toEqual({ essential: 0, standard: 0, deep: 0 });
    expect(remainingByDepth(35)).toEqual({ essential: 5, standard: 2, deep: 1 });
    expect(remainingByDepth(1000)).toEqual({ essential: 166, standard: 83, deep: 55 });
  });

  it('amounts are positive whole numbers (zero only where allowed)', () => {
    expect(checkAmount('a', 12)).toBe(12);
    expect(checkAmount('a', 0, { allowZero: true })).toBe(0);
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '12', 2e9]) {
      expect(() => checkAmount('a', bad)).toThrow(LedgerValidationError);
    }
    expect(() => checkAmount('a', -1, { allowZero: true })).toThrow(/must not be negative/);
  });

  it('reasons are 1–500 characters after trimming', () => {
    expect(checkReason('  refund  ')).toBe('refund');
    expect(checkReason('x'.repeat(500))).toHaveLength(500);
    expect(() => checkReason('x'.repeat(501))).toThrow(/at most 500/);
    expect(() => checkReason(' \n ')).toThrow(/required/);
    expect(() => checkReason(undefined)).toThrow(LedgerValidationError);
  });

  it('months are YYYY-MM', () => {
    expect(checkMonth('2026-11')).toBe('2026-11');
    for (const bad of ['2026-00', '2026-13', '2026-1', '26-01', '2026-01-01'])
      expect(() => checkMonth(bad)).toThrow(LedgerValidationError);
  });

  it('payload hashes ignore field order and change with any value', () => {
    const a = payloadHash('grant', { workspaceId: 'w', amount: 5, reason: 'r' });
    expect(payloadHash('grant', { reason: 'r', amount: 5, workspaceId: 'w' })).toBe(a);
    expect(payloadHash('grant', { workspaceId: 'w', amount: 6, reason: 'r' })).not.toBe(a);
    expect(payloadHash('adjust', { workspaceId: 'w', amount: 5, reason: 'r' })).not.toBe(a);
  });

  it('prepare numbers named placeholders once each and leaves :: casts alone', () => {
    const p = prepare('x', 'SELECT :a, :b::int, CAST(:a AS text), now()::date, :longName');
    expect(p.text).toBe('SELECT $1, $2::int, CAST($1 AS text), now()::date, $3');
    expect(p.params).toEqual(['a', 'b', 'longName']);
  });
});
