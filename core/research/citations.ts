// The citation checker: pure functions that turn the source-id markers the LLM wrote (`[M2]`, `[C1, U3]`)
// into reader-facing `[n]` numbers, drop every citation to something this run did not retrieve, and flag
// figures that the cited source's text does not contain. The LLM is never trusted with a URL or a number.
import type { Citation } from './contract.js';

export type RetrievedSource = { id: string; url: string; title: string; text: string };

export type FlaggedFigure = { figure: string; sentence: string; sources: number[] };

export type CitationCheck = {
  texts: string[];
  citations: Citation[];
  citationsRemoved: number;
  figuresFlagged: FlaggedFigure[];
};

/** Appended to a figure the cited sources do not contain; Methodology explains it. */
export const FLAG_MARK = '†';

const TRACKING_PARAMS = /^(utm_.*|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|ref|ref_src|igshid|_ga|yclid)$/i;

/** One spelling per page: no scheme, no `www.`, no trailing slash, no tracking parameters, no fragment. */
export function normalizeUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return raw
      .trim()
      .toLowerCase()
      .replace(/^[a-z]+:\/\//, '')
      .replace(/^www\./, '')
      .replace(/[#].*$/, '')
      .replace(/\/+$/, '');
  }
  const host = url.hostname.toLowerCase().replace(/^www\./, '');
  const port = url.port && url.port !== '80' && url.port !== '443' ? `:${url.port}` : '';
  const params = [...url.searchParams.entries()]
    .filter(([k]) => !TRACKING_PARAMS.test(k))
    .sort(([a], [b]) => a.localeCompare(b));
  const query = params.length ? `?${new URLSearchParams(params).toString()}` : '';
  const path = url.pathname.replace(/\/+$/, '');
  return `${host}${port}${path}${query}`;
}

export function domainOf(raw: string): string {
  try {
    return new URL(raw).hostname.toLowerCase().replace(/^www\./, '');
  } catch {
    return normalizeUrl(raw).split('/')[0] ?? '';
  }
}

// `[M2]`, `[M2, C3]`, `[M2; C3]`, `[https://…]` — a bracket group of ids or URLs, not followed by `(` (a Markdown link).
const MARKER =
  /\[((?:[A-Za-z]{1,3}\d{1,4}|https?:\/\/[^\s\]]+)(?:\s*[,;]\s*(?:[A-Za-z]{1,3}\d{1,4}|https?:\/\/[^\s\]]+))*)\](?!\()/g;
// Markdown links the LLM may have invented; kept only when they point at a retrieved page.
const MD_LINK = /\[([^\]\n]*)\]\((https?:\/\/[^)\s]+|[a-z]+:[^)\s]*)\)/gi;
const BARE_URL = /(?<![\w(/[])https?:\/\/[^\s)\]]+/g;

class Numbering {
  private readonly byId = new Map<string, RetrievedSource>();
  private readonly byUrl = new Map<string, RetrievedSource>();
  private readonly numberOf = new Map<string, number>();
  readonly citations: Citation[] = [];
  readonly textOf = new Map<number, string>();
  removed = 0;

  constructor(sources: RetrievedSource[]) {
    for (const s of sources) {
      this.byId.set(s.id.toUpperCase(), s);
      const key = normalizeUrl(s.url);
      if (!this.byUrl.has(key)) this.byUrl.set(key, s);
    }
  }

  /** The `[n]` of a source id or URL, assigning the next number on first use; undefined when not retrieved. */
  resolve(ref: string): number | undefined {
    const source = /^https?:/i.test(ref) ? this.byUrl.get(normalizeUrl(ref)) : this.byId.get(ref.toUpperCase());
    if (!source) return undefined;
    const key = normalizeUrl(source.url);
    let n = this.numberOf.get(key);
    if (n === undefined) {
      n = this.citations.length + 1;
      this.numberOf.set(key, n);
      this.citations.push({
        n,
        url: source.url,
        title: source.title || domainOf(source.url),
        domain: domainOf(source.url),
      });
      this.textOf.set(n, source.text);
    } else {
      // Two ids for one page (two agents extracted it): either text may hold a figure.
      const known = this.textOf.get(n) ?? '';
      if (!known.includes(source.text)) this.textOf.set(n, `${known}\n${source.text}`);
    }
    return n;
  }
}

function rewriteMarkers(text: string, numbering: Numbering): string {
  const withLinks = text.replace(MD_LINK, (whole, label: string, href: string) => {
    const n = /^https?:/i.test(href) ? numbering.resolve(href) : undefined;
    if (n === undefined) {
      numbering.removed += 1;
      return label;
    }
    return `${label} [${n}]`;
  });
  const withMarkers = withLinks.replace(MARKER, (_whole, inner: string) => {
    const numbers: number[] = [];
    for (const ref of inner.split(/\s*[,;]\s*/)) {
      const n = numbering.resolve(ref);
      if (n === undefined) numbering.removed += 1;
      else if (!numbers.includes(n)) numbers.push(n);
    }
    return numbers.map((n) => `[${n}]`).join('');
  });
  return withMarkers
    .replace(BARE_URL, (url) => {
      const n = numbering.resolve(url);
      if (n === undefined) {
        numbering.removed += 1;
        return '';
      }
      return `[${n}]`;
    })
    .replace(/[ \t]+([.,;:!?])/g, '$1')
    .replace(/[ \t]{2,}/g, ' ')
    .trim();
}

// Money ($4.2 billion, €30/month, USD 12), percentages (35%, 12.5 percent), and plain numbers (1,200; 3.5x).
const FIGURE =
  /(?:(?:[$€£¥]|\b(?:USD|EUR|GBP)\s?)\s?\d[\d,]*(?:\.\d+)?(?:\s?(?:trillion|billion|million|thousand|bn|mn|[kmbt])\b)?|\b\d[\d,]*(?:\.\d+)?\s?(?:%|percent\b|per cent\b)|\b\d[\d,]*(?:\.\d+)?(?:\s?(?:trillion|billion|million|thousand|bn|mn)\b)?)/gi;

/** Every figure in a sentence, citation numbers excluded. */
export function figuresIn(sentence: string): string[] {
  const plain = sentence.replace(/\[\d+\]/g, ' ');
  return [...plain.matchAll(FIGURE)].map((m) => m[0].trim());
}

/**
 * The figures a page states, one per line, without repeats: all `sourceContainsFigure` needs of a source.
 * The state keeps this instead of the page, which is checkpointed after every step (decision 032).
 */
export function figureIndex(pageText: string): string {
  return [...new Set(figuresIn(pageText))].join('\n');
}

function numericCore(figure: string): string {
  return (figure.match(/\d[\d,]*(?:\.\d+)?/)?.[0] ?? '').replace(/,/g, '');
}

/** True when the source text holds the figure's number as a number of its own (so `5` is not found in `2025`). */
export function sourceContainsFigure(sourceText: string, figure: string): boolean {
  const core = numericCore(figure);
  if (!core) return true;
  const text = sourceText.replace(/(\d),(?=\d{3}\b)/g, '$1');
  const escaped = core.replace('.', '\\.');
  const isPercent = /%|percent|per cent/i.test(figure);
  const pattern = isPercent
    ? `(?<![\\d.])${escaped}(?:\\.0+)?\\s?(?:%|percent|per cent)`
    : `(?<![\\d.])${escaped}(?![\\d]|\\.\\d)`;
  return new RegExp(pattern, 'i').test(text);
}

/** Splits prose into sentences, keeping each sentence's trailing citation numbers with it. */
export function splitSentences(text: string): string[] {
  return text.split(/(?<=[.!?](?:\s*\[\d+\])*)\s+(?=[A-Z0-9"'“(*\-•])/).filter((s) => s.trim().length > 0);
}

function flagSentence(sentence: string, numbering: Numbering, flagged: FlaggedFigure[]): string {
  const cited = [...sentence.matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1]));
  if (cited.length === 0) return sentence;
  const texts = cited.map((n) => numbering.textOf.get(n) ?? '');
  let out = sentence;
  for (const figure of new Set(figuresIn(sentence))) {
    if (texts.some((t) => sourceContainsFigure(t, figure))) continue;
    flagged.push({ figure, sentence: sentence.replace(/\[\d+\]/g, '').trim(), sources: [...new Set(cited)] });
    const at = out.indexOf(figure);
    if (at >= 0 && out[at + figure.length] !== FLAG_MARK)
      out = `${out.slice(0, at + figure.length)}${FLAG_MARK}${out.slice(at + figure.length)}`;
  }
  return out;
}

/**
 * Rewrites `texts` (in reading order) so that citations are `[1]…[n]` in order of first use, one number per
 * normalized URL; removes citations to sources not in `sources`; marks unsupported figures with FLAG_MARK.
 */
export function checkCitations(texts: string[], sources: RetrievedSource[]): CitationCheck {
  const numbering = new Numbering(sources);
  const rewritten = texts.map((t) => rewriteMarkers(t, numbering));
  const figuresFlagged: FlaggedFigure[] = [];
  const flaggedTexts = rewritten.map((t) =>
    t
      .split('\n')
      .map((line) =>
        splitSentences(line)
          .map((s) => flagSentence(s, numbering, figuresFlagged))
          .join(' '),
      )
      .join('\n'),
  );
  return { texts: flaggedTexts, citations: numbering.citations, citationsRemoved: numbering.removed, figuresFlagged };
}

/** The citation numbers a text carries, in order, without repeats. */
export function citationNumbers(text: string): number[] {
  return [...new Set([...text.matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1])))];
}

/** Text without its `[n]` markers, for places that show citations separately. */
export function stripCitationNumbers(text: string): string {
  return text.replace(/\s*\[\d+\]/g, '').trim();
}
