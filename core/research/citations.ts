// The citation checker: pure functions that turn the source-id markers the LLM wrote (`[M2]`, `[C1, U3]`)
// into reader-facing `[n]` numbers, drop every citation to something this run did not retrieve, and flag
// figures that the cited source's text does not contain. The LLM is never trusted with a URL or a number.
import { cleanText } from '../text/clean.js';
import type { Citation } from './contract.js';

export type RetrievedSource = { id: string; url: string; title: string; text: string };

/** Why a figure carries the flag: the cited pages do not state it, or every citation it had was removed. */
export type FlagReason = 'not_in_source' | 'citation_removed';

/** `text` is the index of the text (in checkCitations' input) the figure is in. */
export type FlaggedFigure = { figure: string; sentence: string; sources: number[]; reason: FlagReason; text: number };

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

// --- Finding citation markers, links and URLs in model text -----------------------------------------------
// Models cite in many shapes; every shape below is resolved against this run's source ids or removed, and
// every link or URL is resolved against the pages this run retrieved or removed (decision 038).

/** One reference: an id (`S3`, `M12`) or a bare number (`3`, read as `S3` when the run's ids share one prefix). */
const REF = String.raw`(?:[A-Za-z]{1,3}\d{1,4}|\d{1,4})`;
/** A reference or a range of them: `S3-S5`, `3–5`. */
const REF_OR_RANGE = String.raw`${REF}(?:\s*[-–—]\s*${REF})?`;
const SEP = String.raw`(?:\s*[,;&]\s*|\s+and\s+|\s+)`;
const LIST = String.raw`${REF_OR_RANGE}(?:${SEP}${REF_OR_RANGE})*`;
const URL_REF = String.raw`https?:\/\/[^\s\]\[,;]+`;
const LIST_OR_URLS = String.raw`(?:${REF_OR_RANGE}|${URL_REF})(?:${SEP}(?:${REF_OR_RANGE}|${URL_REF}))*`;
/** Words models put before the reference: `[source: S3]`, `(see 3)`, `[ref #3]`. */
const KEYWORD = String.raw`(?:sources?|src|refs?|references?|citations?|cite|cf\.?|see|id)\s*[:#]?\s*`;

const ALTERNATIVES = [
  // A reference-style link definition `[x]: https://…` on a line of its own.
  String.raw`(?<refdef>^[ \t]{0,3}\[[^\]\n]+\]:[ \t]*\S+[^\n]*)`,
  // An inline link or image: `[label](dest "title")`, the destination bare (one level of parentheses) or `<…>`.
  String.raw`(?<link>!?\[(?<label>[^\[\]\n]*)\]\(\s*(?<href><[^<>\n]*>|[^\s()<>]*(?:\([^\s()<>]*\)[^\s()<>]*)*)(?:\s+(?:"[^"\n]*"|'[^'\n]*'|\([^()\n]*\)))?\s*\))`,
  // `[S3]`, `[S3, S4]`, `[3-5]`, `[^3]`, `[[S3]]`, `[source: 3]`, `[https://…]`, fullwidth `［3］`.
  String.raw`(?<square>[\[［]\[?\^?\s*(?:${KEYWORD})?#?(?<squareList>${LIST_OR_URLS})\s*\]?[\]］])`,
  // `【3】`, `【4:0†source】` (the form some chat models use).
  String.raw`(?<corner>【\s*(?:${KEYWORD})?(?<cornerList>${LIST})(?:[:†‡][^】\n]*)?\s*】)`,
  // `(source 3)`, `(sources: S3, S4)`, `(see S3)`; a plain `(3)` is prose and stays.
  String.raw`(?<paren>\(\s*${KEYWORD}(?<parenList>${LIST})\s*\))`,
  // An autolink `<scheme:…>` or `<name@host>`.
  String.raw`(?<autolink><(?:[A-Za-z][A-Za-z0-9+.\-]{1,31}:[^<>\s]*|[^<>\s@]+@[^<>\s@]+)>)`,
  // A bare URL or `www.` host, which Markdown renderers, Slack and Discord turn into links.
  String.raw`(?<bare>(?:(?:https?|ftp):\/\/|www\.)[^\s<>"'\x60]+)`,
];
const tokens = new Map<string, RegExp>();

/**
 * All of the above in one pattern, so that one pass meets them in reading order (numbers go by first use).
 * A paren group without a keyword is a citation only when every reference has one of the run's id prefixes,
 * `(S3)`, so the pattern depends on the run's ids.
 */
function tokenPattern(prefixes: string[]): RegExp {
  const key = prefixes.join('|');
  let pattern = tokens.get(key);
  if (!pattern) {
    const id = String.raw`(?:${key})\d{1,4}`;
    const range = String.raw`${id}(?:\s*[-–—]\s*${id})?`;
    const parenIds = String.raw`(?:\(\s*(?<idList>${range}(?:${SEP}${range})*)\s*\))`;
    pattern = new RegExp([...ALTERNATIVES, ...(key ? [parenIds] : [])].join('|'), 'gimu');
    tokens.set(key, pattern);
  }
  return pattern;
}

const CLOSERS: Record<string, string> = { ')': '(', ']': '[', '}': '{' };

/** A bare URL ends before trailing punctuation and before a closing bracket it did not open (one pass). */
function trimUrl(url: string): [string, string] {
  const count = new Map<string, number>();
  for (const c of url) count.set(c, (count.get(c) ?? 0) + 1);
  let end = url.length;
  while (end > 0) {
    const c = url[end - 1]!;
    const open = CLOSERS[c];
    const unbalanced = open !== undefined && (count.get(c) ?? 0) > (count.get(open) ?? 0);
    if (!'.,:;!?*_~\'"'.includes(c) && !unbalanced) break;
    count.set(c, (count.get(c) ?? 0) - 1);
    end -= 1;
  }
  return [url.slice(0, end), url.slice(end)];
}

// Placeholders while the checker works (private-use characters, stripped from the input first): a resolved
// citation, and the spot where a citation to nothing retrieved was removed.
const CITE_OPEN = '\uE001';
const CITE_CLOSE = '\uE002';
const LOST = '\uE000';
const PLACEHOLDER = /\uE001(\d+)\uE002/g;
const cite = (n: number) => `${CITE_OPEN}${n}${CITE_CLOSE}`;

class Numbering {
  private readonly byId = new Map<string, RetrievedSource>();
  private readonly byUrl = new Map<string, RetrievedSource>();
  private readonly numberOf = new Map<string, number>();
  /** The id prefix bare numbers stand for, when the run's ids share one (`S`). */
  private readonly barePrefix: string | undefined;
  readonly prefixes: string[];
  readonly citations: Citation[] = [];
  readonly textOf = new Map<number, string>();
  removed = 0;

  constructor(sources: RetrievedSource[]) {
    const prefixes = new Set<string>();
    for (const s of sources) {
      this.byId.set(s.id.toUpperCase(), s);
      const prefix = /^([A-Za-z]{1,3})\d+$/.exec(s.id)?.[1];
      if (prefix) prefixes.add(prefix.toUpperCase());
      const key = normalizeUrl(s.url);
      if (!this.byUrl.has(key)) this.byUrl.set(key, s);
    }
    this.prefixes = [...prefixes];
    this.barePrefix = prefixes.size === 1 ? this.prefixes[0] : undefined;
  }

  /** The `[n]` of a source id or URL, assigning the next number on first use; undefined when not retrieved. */
  resolve(ref: string): number | undefined {
    const source = /^(?:https?:|www\.)/i.test(ref)
      ? this.byUrl.get(normalizeUrl(/^www\./i.test(ref) ? `http://${ref}` : ref))
      : /^\d+$/.test(ref)
        ? this.barePrefix === undefined
          ? undefined
          : this.byId.get(`${this.barePrefix}${Number(ref)}`)
        : this.byId.get(ref.toUpperCase().replace(/^([A-Z]+)0+(?=\d)/, '$1'));
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

  /** Placeholders for a list of references (ranges expanded, at most 20 ids); LOST when none resolves. */
  resolveList(list: string): string {
    const numbers: number[] = [];
    let lost = false;
    for (const part of list.split(new RegExp(SEP, 'iu')).filter(Boolean)) {
      for (const ref of expandRange(part)) {
        const n = ref === undefined ? undefined : this.resolve(ref);
        if (n === undefined) {
          this.removed += 1;
          lost = true;
        } else if (!numbers.includes(n)) numbers.push(n);
      }
    }
    return numbers.length ? numbers.map(cite).join('') : lost ? LOST : '';
  }
}

/** `S3-S5` → S3, S4, S5; `3–5` → 3, 4, 5. A reversed or huge range is one unresolvable reference. */
function expandRange(part: string): (string | undefined)[] {
  const m = /^([A-Za-z]{0,3})(\d{1,4})\s*[-–—]\s*([A-Za-z]{0,3})(\d{1,4})$/u.exec(part.trim());
  if (!m) return [part.trim()];
  const [, p1 = '', a = '0', p2 = '', b = '0'] = m;
  const from = Number(a);
  const to = Number(b);
  if ((p2 && p2.toUpperCase() !== p1.toUpperCase()) || to < from || to - from > 20) return [undefined];
  return Array.from({ length: to - from + 1 }, (_, i) => `${p1}${from + i}`);
}

/** Rewrites markers, links and URLs into placeholders (resolved) or LOST (removed). */
function rewriteMarkers(text: string, numbering: Numbering): string {
  return text.replace(tokenPattern(numbering.prefixes), (whole: string, ...args: unknown[]) => {
    const g = args[args.length - 1] as Record<string, string | undefined>;
    if (g.refdef !== undefined) {
      numbering.removed += 1;
      return LOST;
    }
    if (g.link !== undefined) {
      const href = (g.href ?? '').replace(/^<|>$/g, '').trim();
      const n = /^https?:\/\//i.test(href) ? numbering.resolve(href) : undefined;
      // The label may itself hold a URL (`[https://x](https://x)`): it is rewritten like any text.
      const label = rewriteMarkers(g.label ?? '', numbering);
      if (n === undefined) numbering.removed += 1;
      return `${label}${label ? ' ' : ''}${n === undefined ? LOST : cite(n)}`;
    }
    const list = g.squareList ?? g.cornerList ?? g.parenList ?? g.idList;
    if (list !== undefined) return numbering.resolveList(list);
    if (g.autolink !== undefined) {
      const n = numbering.resolve(whole.slice(1, -1));
      if (n === undefined) numbering.removed += 1;
      return n === undefined ? LOST : cite(n);
    }
    const [url, tail] = trimUrl(whole);
    const n = numbering.resolve(url);
    if (n === undefined) numbering.removed += 1;
    return `${n === undefined ? LOST : cite(n)}${tail}`;
  });
}

/** Final spelling: placeholders become `[n]`, removal spots vanish, and the spaces they leave are tidied. */
function finish(text: string): string {
  return (
    text
      .replace(PLACEHOLDER, '[$1]')
      .replaceAll(LOST, '')
      .replace(/\(\s*\)/g, '')
      // Only where a run of spaces starts, so a long run is scanned once.
      .replace(/(?<![ \t])[ \t]+([.,;:!?)])/g, '$1')
      .replace(/[ \t]{2,}/g, ' ')
      .trim()
  );
}

/**
 * Our placeholder characters and our flag mark are ours alone: a model or a page cannot write them. A dagger
 * inside `【4†source】` is the model's citation syntax and stays for the marker pattern.
 */
function prepare(text: string): string {
  return cleanText(text)
    .replace(/[\uE000-\uE002]/g, '')
    .replace(/【[^】【\n]*】|†/g, (found) => (found === FLAG_MARK ? '' : found));
}

/**
 * Text with every citation marker, link and URL removed (a name, a title): nothing in it can cite or link.
 * `[S3]`, `[14]`, `(source 3)`, `[x](https://…)` (its label stays), `<https://…>`, `https://…`, `www.…`.
 */
export function withoutCitations(text: string): string {
  return finish(rewriteMarkers(prepare(text), new Numbering([])));
}

// Money ($4.2 billion, €30/month, USD 12), percentages (35%, 12.5 percent), and plain numbers (1,200; 3.5x).
const FIGURE =
  /(?:(?:[$€£¥]|\b(?:USD|EUR|GBP)\s?)\s?\d[\d,]*(?:\.\d+)?(?:\s?(?:trillion|billion|million|thousand|bn|mn|[kmbt])\b)?|\b\d[\d,]*(?:\.\d+)?\s?(?:%|percent\b|per cent\b)|\b\d[\d,]*(?:\.\d+)?(?:\s?(?:trillion|billion|million|thousand|bn|mn)\b)?)/gi;

/** Every figure in a sentence, citation numbers excluded. */
export function figuresIn(sentence: string): string[] {
  const plain = sentence
    .replace(/\[\d+\]/g, ' ')
    .replace(PLACEHOLDER, ' ')
    .replaceAll(LOST, ' ');
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

// Sentences end at . ! ? or …; a citation written after the full stop (`big. [S3] Next`)
// still belongs to the sentence before it.
// The look-behind is bounded so that it stays cheap on long runs of closing characters.
const SENTENCE_END = /(?<=[.!?…]["'”’)]{0,3}(?:\s{0,3}(?:\uE001\d{1,4}\uE002|\uE000)){0,20})\s+(?=[A-Z0-9"'“(*\-•])/u;

/** Splits finished prose (citations written `[n]`) into sentences the way the checker does. */
export function splitSentences(text: string): string[] {
  return text.split('\n').flatMap((line) =>
    line
      .replace(/\[(\d{1,4})\]/g, '\uE001$1\uE002')
      .split(SENTENCE_END)
      .filter((s) => s.trim().length > 0)
      .map((s) => s.replace(/\uE001(\d{1,4})\uE002/g, '[$1]')),
  );
}

function flagSentence(sentence: string, index: number, numbering: Numbering, flagged: FlaggedFigure[]): string {
  const cited = [...sentence.matchAll(PLACEHOLDER)].map((m) => Number(m[1]));
  // A sentence whose every citation pointed at nothing retrieved is not supported by anything: its figures
  // are flagged like figures the cited page does not hold (decision 038). A sentence that never cited
  // anything is not checked (nothing to check against).
  if (cited.length === 0 && !sentence.includes(LOST)) return sentence;
  const texts = cited.map((n) => numbering.textOf.get(n) ?? '');
  const plain = finish(sentence.replace(PLACEHOLDER, ''));
  let out = sentence;
  for (const figure of new Set(figuresIn(sentence))) {
    if (cited.length > 0 && texts.some((t) => sourceContainsFigure(t, figure))) continue;
    flagged.push({
      figure,
      sentence: plain,
      sources: [...new Set(cited)],
      reason: cited.length > 0 ? 'not_in_source' : 'citation_removed',
      text: index,
    });
    const at = out.indexOf(figure);
    if (at >= 0 && out[at + figure.length] !== FLAG_MARK)
      out = `${out.slice(0, at + figure.length)}${FLAG_MARK}${out.slice(at + figure.length)}`;
  }
  return out;
}

/**
 * Rewrites `texts` (in reading order) so that citations are `[1]…[n]` in order of first use, one number per
 * normalized URL; removes every marker, link and URL that does not resolve to a page in `sources`; marks with
 * FLAG_MARK the figures the cited sources do not contain and those whose every citation was removed.
 */
export function checkCitations(texts: string[], sources: RetrievedSource[]): CitationCheck {
  const numbering = new Numbering(sources);
  const rewritten = texts.map((t) => rewriteMarkers(prepare(t), numbering));
  const figuresFlagged: FlaggedFigure[] = [];
  const flaggedTexts = rewritten.map((t, index) =>
    finish(
      t
        .split('\n')
        .map((line) =>
          line
            .split(SENTENCE_END)
            .filter((s) => s.trim().length > 0)
            .map((s) => flagSentence(s, index, numbering, figuresFlagged))
            .join(' '),
        )
        .join('\n'),
    ),
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
