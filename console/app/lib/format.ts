// Formatting shared by server and browser.

export function fmtNumber(n: number): string {
  return new Intl.NumberFormat('en-US').format(n);
}

export function fmtDate(d: Date | string | undefined | null): string {
  if (!d) return '—';
  const date = new Date(d);
  return date.toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
}

export function fmtDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
}

export function domainOf(url: string): string {
  try {
    return new URL(url).hostname.replace(/^www\./, '');
  } catch {
    return url;
  }
}

/** A value from an audit row's details, as a person reads it: numbers grouped, nothing as "—". */
export function fmtValue(v: unknown): string {
  if (v === null || v === undefined || v === '') return '—';
  if (typeof v === 'number') return fmtNumber(v);
  if (typeof v === 'string') return v.length > 120 ? `${v.slice(0, 117)}…` : v;
  return JSON.stringify(v);
}

/** A ledger amount as the tables show it: a grant with its +, a debit red, a grant green, a capture (0) plain. */
export function fmtLedgerAmount(n: number): { text: string; color: string | undefined } {
  return {
    text: `${n > 0 ? '+' : ''}${fmtNumber(n)}`,
    color: n < 0 ? 'var(--bad)' : n > 0 ? 'var(--ok)' : undefined,
  };
}

/** "insufficient evidence" is no verdict on the idea (decision 037): shown neutral, not as bad as "weak". */
export function bandClass(band: string | null): string {
  if (band === 'strong' || band === 'exceptional') return 'ok';
  if (band === 'moderate') return 'warn';
  if (band === 'insufficient evidence') return 'info';
  return band ? 'bad' : '';
}
