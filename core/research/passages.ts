// Choosing what the LLM reads. Extracted pages run 1,500–6,000 words; pasting them whole is what makes
// other research agents spend ~580k tokens a report. We split each page into passages, score them with
// BM25 against the agent's query and the idea, and keep the best within a per-agent token budget — while
// giving every extracted page at least its best passage, so every retrieved source can be cited.

export type PageText = { sourceId: string; text: string };
export type Passage = { sourceId: string; index: number; text: string; tokens: number; score: number };

const MAX_PASSAGE_WORDS = 160;
const MIN_PASSAGE_WORDS = 12;

/** A rough, provider-neutral token estimate (≈4 characters a token for English). */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

const STOP = new Set(
  'a an and are as at be by for from has have in into is it its of on or that the their this to was were will with what which who how why can our your you we they app apps tool tools product platform'.split(
    ' ',
  ),
);

const tokens = (text: string): string[] => text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
const counted = (token: string) => token.length > 1 && !STOP.has(token);

export function terms(text: string): string[] {
  return tokens(text).filter(counted).map(stem);
}

/** A token that does not count (stop word, one character), or one that counts but is no query term. */
const SKIPPED = -2;
const OTHER = -1;

/** Per text: its length in terms and how often each of `query`'s terms occurs in it, all BM25 needs. */
function countQueryTerms(texts: string[], query: string[]): TermCounts[] {
  const slots = new Map(query.map((t, i) => [t, i]));
  // A page repeats its vocabulary: each distinct token is filtered and stemmed once, then looked up once.
  const lexicon = new Map<string, number>();
  return texts.map((text) => {
    const tf = new Array<number>(query.length).fill(0);
    let length = 0;
    for (const token of tokens(text)) {
      let slot = lexicon.get(token);
      if (slot === undefined) {
        slot = counted(token) ? (slots.get(stem(token)) ?? OTHER) : SKIPPED;
        lexicon.set(token, slot);
      }
      if (slot === SKIPPED) continue;
      length++;
      if (slot >= 0) tf[slot]! += 1;
    }
    return { length, tf };
  });
}

const SUFFIXES = ['ing', 'ers', 'er', 'es', 's'];

// A tiny suffix stripper so "sitters"/"sitter" and "pricing"/"price" meet; BM25 needs no more here.
// "ies" becomes "y", then the longest matching suffix goes (an empty result keeps the word).
function stem(word: string): string {
  const t = word.endsWith('ies') ? `${word.slice(0, -3)}y` : word;
  const suffix = SUFFIXES.find((x) => t.endsWith(x));
  return (suffix ? t.slice(0, -suffix.length) : t) || word;
}

/** Words in text whose whitespace is already single spaces. */
function wordsIn(clean: string): number {
  let n = 1;
  for (let i = clean.indexOf(' '); i !== -1; i = clean.indexOf(' ', i + 1)) n++;
  return n;
}

/** Paragraphs, with long ones cut at sentence boundaries into passages of at most MAX_PASSAGE_WORDS words. */
export function splitPassages(text: string): string[] {
  const out: { text: string; words: number }[] = [];
  for (const para of text.split(/\n\s*\n/)) {
    const clean = para.replace(/\s+/g, ' ').trim();
    if (!clean) continue;
    let current: string[] = [];
    let words = 0;
    for (const sentence of clean.split(/(?<=[.!?]) /)) {
      const w = wordsIn(sentence);
      if (words > 0 && words + w > MAX_PASSAGE_WORDS) {
        out.push({ text: current.join(' '), words });
        current = [];
        words = 0;
      }
      current.push(sentence);
      words += w;
    }
    if (current.length) out.push({ text: current.join(' '), words });
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

/** A document's length in terms and the count of each query term in it, by the query term's position. */
type TermCounts = { length: number; tf: number[] };

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
