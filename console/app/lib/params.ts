// URL search params → typed filters. Pages keep their whole state in the URL (GET forms), so every
// view can be bookmarked, shared and reloaded; unknown or malformed values are dropped, never trusted.

export function str(p: URLSearchParams, key: string, max = 200): string | undefined {
  const v = p.get(key)?.trim();
  return v ? v.slice(0, max) : undefined;
}

export function oneOf<T extends string>(p: URLSearchParams, key: string, allowed: readonly T[]): T | undefined {
  const v = p.get(key);
  return v && (allowed as readonly string[]).includes(v) ? (v as T) : undefined;
}

export function int(p: URLSearchParams, key: string, def: number, min: number, max: number): number {
  const n = Number(p.get(key));
  return Number.isInteger(n) && p.get(key) !== '' && p.get(key) !== null ? Math.min(max, Math.max(min, n)) : def;
}

export function optInt(p: URLSearchParams, key: string, min: number, max: number): number | undefined {
  const raw = p.get(key);
  if (raw === null || raw.trim() === '') return undefined;
  const n = Number(raw);
  return Number.isFinite(n) ? Math.min(max, Math.max(min, Math.round(n))) : undefined;
}

/** `YYYY-MM-DD` as the start of that UTC day; `endOfDay` gives the start of the next one (exclusive bound). */
export function day(p: URLSearchParams, key: string, endOfDay = false): Date | undefined {
  const v = p.get(key);
  if (!v || !/^\d{4}-\d{2}-\d{2}$/.test(v)) return undefined;
  const d = new Date(`${v}T00:00:00Z`);
  if (Number.isNaN(d.getTime())) return undefined;
  return endOfDay ? new Date(d.getTime() + 86_400_000) : d;
}

/** The same URL with some params changed (undefined removes one): pagination and sort links. */
export function withParams(search: string, changes: Record<string, string | number | undefined>): string {
  const p = new URLSearchParams(search);
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined || v === '') p.delete(k);
    else p.set(k, String(v));
  }
  const s = p.toString();
  return s ? `?${s}` : '?';
}
