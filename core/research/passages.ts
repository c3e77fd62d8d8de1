// Choosing what the LLM reads. Extracted pages run 1,500–6,000 words; pasting them whole is what makes
// other research agents spend ~580k tokens a report. We split each page into passages, score them with
// BM25 against the agent's query and the idea, and keep the best within a per-agent token budget — while
// giving every extracted page at least its best passage, so every retrieved source can be cited.

import { countQueryTerms, terms, type TermCounts } from './terms.js';

export type PageText = { sourceId: string; text: string };
export type Passage = { sourceId: string; index: number; text: string; tokens: number; score: number };

const MAX_PASSAGE_WORDS = 160;
const MIN_PASSAGE_WORDS = 12;

/** A rough, provider-neutral token estimate (≈4 characters a token for English). */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

type Piece = { text: string; words: number };

/** The JavaScript whitespace of `\s` and `trim`, for a character beyond ASCII. */
const NON_ASCII_SPACE = /\s/;
function isSpace(c: number, text: string, i: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || (c >= 128 && NON_ASCII_SPACE.test(text[i]!));
}

/**
 * Cuts one paragraph, its whitespace already single spaces, at sentence ends (a space after `.`, `!` or
 * `?`) into runs of whole sentences of at most MAX_PASSAGE_WORDS words; a longer sentence stands alone.
 */
function cutParagraph(clean: string, out: Piece[]): void {
  let passageStart = 0;
  let passageWords = 0;
  let sentenceStart = 0;
  let sentenceWords = 1;
  for (let space = clean.indexOf(' '); ; space = clean.indexOf(' ', space + 1)) {
    if (space !== -1) {
      const before = clean.charCodeAt(space - 1);
      if (before !== 46 && before !== 33 && before !== 63) {
        sentenceWords++;
        continue;
      }
    }
    if (passageWords > 0 && passageWords + sentenceWords > MAX_PASSAGE_WORDS) {
      out.push({ text: clean.slice(passageStart, sentenceStart - 1), words: passageWords });
      passageStart = sentenceStart;
      passageWords = 0;
    }
    passageWords += sentenceWords;
    if (space === -1) break;
    sentenceStart = space + 1;
    sentenceWords = 1;
  }
  out.push({ text: clean.slice(passageStart), words: passageWords });
}

/**
 * Paragraphs, with long ones cut at sentence boundaries into passages of at most MAX_PASSAGE_WORDS words.
 * A paragraph ends at whitespace holding two line breaks; inside one, whitespace collapses to one space.
 * One pass over the characters finds both, so a tidy paragraph (most are) is cut straight out of the page.
 */
export function splitPassages(text: string): string[] {
  const out: Piece[] = [];
  let start = -1;
  let end = -1;
  let untidy = false;
  let breaks = 0;
  let gap = 0;
  for (let i = 0; i <= text.length; i++) {
    const last = i === text.length;
    const c = last ? 10 : text.charCodeAt(i);
    if (!last && !isSpace(c, text, i)) {
      if (start >= 0 && gap > 0 && (gap > 1 || text.charCodeAt(i - 1) !== 32)) untidy = true;
      if (start < 0) start = i;
      end = i + 1;
      breaks = 0;
      gap = 0;
      continue;
    }
    gap++;
    if (c === 10) breaks++;
    if ((breaks >= 2 || last) && start >= 0) {
      const para = text.slice(start, end);
      cutParagraph(untidy ? para.replace(/\s+/g, ' ') : para, out);
      start = -1;
      untidy = false;
    }
  }
  // Fold fragments (headings, captions) into the passage that follows so they keep their context.
  const merged: string[] = [];
  let carry = '';
  let carryWords = 0;
  for (const p of out) {
    const joined = carry ? `${carry} ${p.text}` : p.text;
    const words = carryWords + p.words;
    if (words < MIN_PASSAGE_WORDS) {
      carry = joined;
      carryWords = words;
    } else {
      merged.push(joined);
      carry = '';
      carryWords = 0;
    }
  }
  if (carry) merged.push(carry);
  return merged;
}

const K1 = 1.2;
const B = 0.75;

/** Okapi BM25 scores of `docs` for `query`. */
export function bm25(query: string[], docs: string[][], k1 = K1, b = B): number[] {
  const q = [...new Set(query)];
  const slots = new Map(q.map((t, i) => [t, i]));
  const counts = docs.map((d) => {
    const tf = new Array<number>(q.length).fill(0);
    for (const t of d) {
      const slot = slots.get(t);
      if (slot !== undefined) tf[slot]! += 1;
    }
    return { length: d.length, tf };
  });
  return bm25Counts(counts, k1, b);
}

function bm25Counts(docs: TermCounts[], k1: number, b: number): number[] {
  const n = docs.length;
  if (n === 0) return [];
  const avg = docs.reduce((s, d) => s + d.length, 0) / n || 1;
  const idf = (docs[0]?.tf ?? []).map((_, i) => {
    const df = docs.reduce((s, d) => s + (d.tf[i]! > 0 ? 1 : 0), 0);
    return Math.log(1 + (n - df + 0.5) / (df + 0.5));
  });
  return docs.map((d) =>
    d.tf.reduce(
      (score, f, i) => (f ? score + (idf[i]! * f * (k1 + 1)) / (f + k1 * (1 - b + (b * d.length) / avg)) : score),
      0,
    ),
  );
}

/**
 * The passages to show the LLM: each page's best passage first (so every source stays citable), then the
 * best remaining passages overall until `tokenBudget` is spent. Returned in page order, then reading order.
 */
export function selectPassages(pages: PageText[], query: string, tokenBudget: number): Passage[] {
  const all: Passage[] = [];
  for (const page of pages) {
    splitPassages(page.text).forEach((text, index) =>
      all.push({ sourceId: page.sourceId, index, text, tokens: estimateTokens(text), score: 0 }),
    );
  }
  const scores = bm25Counts(
    countQueryTerms(
      all.map((p) => p.text),
      [...new Set(terms(query))],
    ),
    K1,
    B,
  );
  all.forEach((p, i) => (p.score = scores[i] ?? 0));

  const chosen = new Set<Passage>();
  let spent = 0;
  const ranked = [...all].sort((a, b) => b.score - a.score || a.tokens - b.tokens);
  for (const page of pages) {
    const best = ranked.find((p) => p.sourceId === page.sourceId);
    if (best && spent + best.tokens <= tokenBudget) {
      chosen.add(best);
      spent += best.tokens;
    }
  }
  for (const p of ranked) {
    if (chosen.has(p) || p.score <= 0) continue;
    if (spent + p.tokens > tokenBudget) continue;
    chosen.add(p);
    spent += p.tokens;
  }
  const order = new Map(pages.map((p, i) => [p.sourceId, i]));
  return [...chosen].sort((a, b) => (order.get(a.sourceId) ?? 0) - (order.get(b.sourceId) ?? 0) || a.index - b.index);
}
