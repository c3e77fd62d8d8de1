import { createHash } from 'node:crypto';
import { DEPTH_PROFILES, DEPTHS, isDepth, type Depth } from '../research/depth.js';
import { LedgerValidationError } from './errors.js';
import type { Month } from './types.js';

// Pure rules of the ledger: what a balance pays for, months, validation, payload hashes. No I/O here.
// A research's price is its depth profile's `credits` (core/research/depth.ts), its one home.

export const MAX_REASON_LENGTH = 500;
const MAX_ID_LENGTH = 200;
/** Amounts are bigint in PostgreSQL; capping them keeps every sum exact in a JS number. */
const MAX_AMOUNT = 1_000_000_000;

export function remainingByDepth(balance: number): Record<Depth, number> {
  const floorOf = (d: Depth) => Math.max(0, Math.floor(balance / DEPTH_PROFILES[d].credits));
  return { essential: floorOf('essential'), standard: floorOf('standard'), deep: floorOf('deep') };
}

/** Months are UTC calendar months: every process agrees on when one ends, whatever its time zone. */
export function monthOf(date: Date): Month {
  return date.toISOString().slice(0, 7);
}

const MONTH_RE = /^\d{4}-(0[1-9]|1[0-2])$/;

export function checkMonth(month: string): Month {
  if (!MONTH_RE.test(month)) throw new LedgerValidationError('month', `must be YYYY-MM, got ${JSON.stringify(month)}`);
  return month;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID_RE.test(value);
}

export function checkAmount(field: string, value: unknown, { allowZero = false } = {}): number {
  if (typeof value !== 'number' || !Number.isInteger(value))
    throw new LedgerValidationError(field, 'must be a whole number of credits');
  if (value < 0 || (value === 0 && !allowZero))
    throw new LedgerValidationError(field, allowZero ? 'must not be negative' : 'must be greater than zero');
  if (value > MAX_AMOUNT) throw new LedgerValidationError(field, `must be at most ${MAX_AMOUNT}`);
  return value;
}

export function checkReason(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw new LedgerValidationError('reason', 'is required');
  if (value.length > MAX_REASON_LENGTH)
    throw new LedgerValidationError('reason', `must be at most ${MAX_REASON_LENGTH} characters (got ${value.length})`);
  return value.trim();
}

export function checkId(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw new LedgerValidationError(field, 'is required');
  if (value.length > MAX_ID_LENGTH)
    throw new LedgerValidationError(field, `must be at most ${MAX_ID_LENGTH} characters`);
  return value;
}

export function checkDepth(value: unknown): Depth | null {
  if (value === undefined || value === null) return null;
  if (!isDepth(value)) throw new LedgerValidationError('depth', `must be one of ${DEPTHS.join(', ')}`);
  return value;
}

/**
 * What an idempotency key promises: the same operation with the same arguments. The actor is left out on
 * purpose — a second admin replaying the same change is the same request, not a different one.
 */
export function payloadHash(operation: string, fields: Record<string, string | number | null>): string {
  const canonical = JSON.stringify([operation, Object.entries(fields).sort(([a], [b]) => a.localeCompare(b))]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 32);
}
