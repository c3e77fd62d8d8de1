// The ledger table's URL filters, shared by the page and its CSV export so the download is what the table shows.
import { day, oneOf } from './params.js';

export const TX_TYPES = ['allowance', 'grant', 'adjust', 'reserve', 'capture', 'release'] as const;

export function ledgerFilters(p: URLSearchParams) {
  return { type: oneOf(p, 'type', TX_TYPES), from: day(p, 'from'), to: day(p, 'to', true) };
}
