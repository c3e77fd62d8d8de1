// The deterministic half of the evaluation (decision 090): which sentences of a report cite which pages,
// whether each figure is in the page it cites, which required items the text names, precision, cost and
// win rates. Pure functions: the judge (judge.ts) and the runner (runner.ts) do the I/O.
import { figuresIn, normalizeUrl, sourceContainsFigure, splitSentences } from '../research/citations.js';
import type { ResearchReport } from '../research/contract.js';
import { selectPassages } from '../research/passages.js';
import type { Requirement } from './ideas.js';

/** A page the engine read during the run (extracted text, or the search snippet when it was not extracted). */
export type CapturedPage = { url: string; title: string; text: string };

/** One sentence of the report and the citation numbers it carries; `text` is without its `[n]` and `†`. */
export type CitedSentence = { text: string; citations: number[] };

/** One (sentence, cited page) pair: the unit FACT counts. `page` is undefined when the run never read it. */
export type CitationPair = { sentence: string; n: number; url: string | undefined; page: CapturedPage | undefined };

export const VERDICTS = ['supported', 'partly', 'not_supported'] as const;
export type Verdict = (typeof VERDICTS)[number];

const cite = (text: string, ns: number[]) => `${text}${ns.map((n) => ` [${n}]`).join('')}`;

/** Every prose field of a report in reading order, with its `[n]` markers (key findings get theirs back). */
function reportProse(report: ResearchReport): string[] {
  const s = report.sections;
  return [
    report.summary,
    ...report.keyFindings.map((f) => cite(f.text, f.citations)),
    ...(s?.market ? [s.market.overview, ...s.market.size, ...s.market.growth, ...s.market.trends] : []),
    ...(s?.competitors
      ? [
          ...s.competitors.competitors.flatMap((c) => [
            `${c.name}: ${c.positioning}`,
            ...(c.pricing ? [c.pricing] : []),
          ]),
          ...s.competitors.gaps,
        ]
      : []),
    ...(s?.customers
      ? [
          ...s.customers.segments.map((x) => `${x.name}: ${x.description}`),
          ...s.customers.pains,
          ...s.customers.willingnessToPay,
        ]
      : []),
    ...report.score.subScores.map((x) => x.rationale),
    ...(s?.recommendations ?? []),
  ].filter((t) => t.trim().length > 0);
}

/** The report as one plain text (no citation numbers), for coverage and the rubric. */
export function reportPlainText(report: ResearchReport): string {
  return [report.title, ...reportProse(report)].map((t) => t.replace(/\s*\[\d+\]/g, '')).join('\n');
}

/** The sentences that carry at least one citation. */
export function citedSentences(report: ResearchReport): CitedSentence[] {
  const out: CitedSentence[] = [];
  for (const block of reportProse(report))
    for (const sentence of splitSentences(block)) {
      const citations = [...new Set([...sentence.matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1])))];
      if (citations.length === 0) continue;
      const text = sentence
        .replace(/\s*\[\d+\]/g, '')
        .replace(/†/g, '')
        .trim();
      if (text) out.push({ text, citations });
    }
  return out;
}

/** Pages by normalized URL; a page seen twice (extracted by two agents) keeps both texts. */
function pageIndex(pages: CapturedPage[]): Map<string, CapturedPage> {
  const index = new Map<string, CapturedPage>();
  for (const p of pages) {
    const key = normalizeUrl(p.url);
    const known = index.get(key);
    if (!known) index.set(key, p);
    else if (!known.text.includes(p.text)) index.set(key, { ...known, text: `${known.text}\n${p.text}` });
  }
  return index;
}

/** Each (sentence, cited page) pair; a number the citation list does not resolve has neither url nor page. */
export function citationPairs(report: ResearchReport, pages: CapturedPage[]): CitationPair[] {
  const index = pageIndex(pages);
  const urlOf = new Map(report.citations.map((c) => [c.n, c.url]));
  return citedSentences(report).flatMap((s) =>
    s.citations.map((n) => {
      const url = urlOf.get(n);
      return { sentence: s.text, n, url, page: url ? index.get(normalizeUrl(url)) : undefined };
    }),
  );
}

/** The part of a page a judge reads for one sentence: its best passages within ~`tokenBudget` tokens. */
export function passageFor(sentence: string, pageText: string, tokenBudget = 700): string {
  return selectPassages([{ sourceId: 'page', text: pageText }], sentence, tokenBudget)
    .map((p) => p.text)
    .join('\n…\n');
}

export type FigureCheck = { figure: string; sentence: string; inPage: boolean };
export type FigureFidelity = { figures: number; inPage: number; share: number | null; checks: FigureCheck[] };

/**
 * Every figure of every cited sentence, found (or not) in the full text of a page that sentence cites,
 * with the citation checker's own rule (sourceContainsFigure). `share` is null when the report has no figures.
 */
export function figureFidelity(report: ResearchReport, pages: CapturedPage[]): FigureFidelity {
  const index = pageIndex(pages);
  const urlOf = new Map(report.citations.map((c) => [c.n, c.url]));
  const checks: FigureCheck[] = [];
  for (const s of citedSentences(report)) {
    const texts = s.citations.map((n) => {
      const url = urlOf.get(n);
      return (url && index.get(normalizeUrl(url))?.text) ?? '';
    });
    for (const figure of new Set(figuresIn(s.text)))
      checks.push({ figure, sentence: s.text, inPage: texts.some((t) => t !== '' && sourceContainsFigure(t, figure)) });
  }
  const inPage = checks.filter((c) => c.inPage).length;
  return { figures: checks.length, inPage, share: checks.length ? inPage / checks.length : null, checks };
}

/** Which required items the text names: any one keyword, case-insensitive, at a word start. */
export function keywordCoverage(text: string, requirements: Requirement[]): boolean[] {
  const lower = text.toLowerCase();
  return requirements.map((r) =>
    r.keywords.some((k) => {
      const escaped = k.toLowerCase().replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      return new RegExp(`(?:^|[^\\p{L}\\p{N}])${escaped}`, 'u').test(lower);
    }),
  );
}

export type CoverageScore = { items: number; keyword: number; judge: number; share: number };

/** Coverage is the mean of the keyword share and the judge's share: either alone is easy to fool. */
export function coverageScore(keyword: boolean[], judge: boolean[]): CoverageScore {
  const items = keyword.length;
  const k = keyword.filter(Boolean).length;
  const j = judge.filter(Boolean).length;
  return { items, keyword: k, judge: j, share: items ? (k / items + j / items) / 2 : 0 };
}

export type CitationScore = {
  checked: number;
  supported: number;
  partly: number;
  notSupported: number;
  /** (supported + ½ partly) / checked; null when nothing was cited. */
  precision: number | null;
};

export function citationScore(verdicts: Verdict[]): CitationScore {
  const supported = verdicts.filter((v) => v === 'supported').length;
  const partly = verdicts.filter((v) => v === 'partly').length;
  const checked = verdicts.length;
  return {
    checked,
    supported,
    partly,
    notSupported: checked - supported - partly,
    precision: checked ? (supported + partly / 2) / checked : null,
  };
}

export const RUBRIC_KEYS = ['comprehensiveness', 'insight', 'usefulness', 'readability'] as const;
export type RubricKey = (typeof RUBRIC_KEYS)[number];
export type Rubric = Record<RubricKey, number>;

export function rubricMean(r: Rubric): number {
  return RUBRIC_KEYS.reduce((s, k) => s + r[k], 0) / RUBRIC_KEYS.length;
}

export type Prices = {
  /** Money per million prompt tokens. */
  in: number;
  /** Money per million completion tokens. */
  out: number;
  /** Money per Tavily credit. */
  credit: number;
};

export type Cost = { promptTokens: number; completionTokens: number; tavilyCredits: number; wallMs: number };

export function money(c: Cost, p: Prices): number {
  return (c.promptTokens / 1e6) * p.in + (c.completionTokens / 1e6) * p.out + c.tavilyCredits * p.credit;
}

export type Outcome = 'A' | 'B' | 'tie';
export type WinRate = { compared: number; a: number; b: number; ties: number; winRateA: number | null };

/** A's win rate with ties counted as half a win, as RACE-style pairwise comparisons report it. */
export function winRate(outcomes: Outcome[]): WinRate {
  const a = outcomes.filter((o) => o === 'A').length;
  const b = outcomes.filter((o) => o === 'B').length;
  const ties = outcomes.length - a - b;
  return { compared: outcomes.length, a, b, ties, winRateA: outcomes.length ? (a + ties / 2) / outcomes.length : null };
}

/** Mean of the defined values; null when there are none (a figure no idea produced is not zero). */
export function mean(values: (number | null | undefined)[]): number | null {
  const xs = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  return xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : null;
}
