// The audit page's URL filters, shared by the page and its CSV export so the download is what the table shows.
import { day, oneOf, str } from './params.js';

export const AUDIT_KIND_VALUES = ['changes', 'security'] as const;

export function auditFilters(p: URLSearchParams) {
  return {
    kind: oneOf(p, 'kind', AUDIT_KIND_VALUES),
    action: str(p, 'action'),
    actor: str(p, 'actor'),
    target: str(p, 'target'),
    from: day(p, 'from'),
    to: day(p, 'to', true),
  };
}
