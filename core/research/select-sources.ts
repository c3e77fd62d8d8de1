// Which search hits an agent extracts: best score first, one page per domain before any domain gets a
// second, never the same page twice (by normalized URL), only http(s).
import { domainOf, normalizeUrl } from './citations.js';

export type ScoredHit = { url: string; score: number };

export function chooseUrls<T extends ScoredHit>(hits: T[], count: number): T[] {
  const seen = new Set<string>();
  const unique = [...hits]
    .filter((h) => /^https?:\/\//i.test(h.url))
    .sort((a, b) => b.score - a.score)
    .filter((h) => {
      const key = normalizeUrl(h.url);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  const chosen: T[] = [];
  const domains = new Set<string>();
  for (const h of unique) {
    if (chosen.length >= count) break;
    const d = domainOf(h.url);
    if (domains.has(d)) continue;
    domains.add(d);
    chosen.push(h);
  }
  for (const h of unique) {
    if (chosen.length >= count) break;
    if (!chosen.includes(h)) chosen.push(h);
  }
  return chosen;
}
