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

export function terms(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter((t) => t.length > 1 && !STOP.has(t)).map(stem);
}

// A tiny suffix stripper so "sitters"/"sitter" and "pricing"/"price" meet; BM25 needs no more here.
function stem(t: string): string {
  return t.replace(/(ies)$/, 'y').replace(/(ing|ers|er|es|s)$/, '') || t;
}

/** Paragraphs, with long ones cut at sentence boundaries into passages of at most MAX_PASSAGE_WORDS words. */
export function splitPassages(text: string): string[] {
  const out: string[] = [];
  for (const para of text.split(/\n\s*\n/)) {
    const clean = para.replace(/\s+/g, ' ').trim();
    if (!clean) continue;
    const sentences = clean.split(/(?<=[.!?])\s+/);
    let current: string[] = [];
    let words = 0;
    for (const sentence of sentences) {
      const w = sentence.split(' ').length;
      if (words > 0 && words + w > MAX_PASSAGE_WORDS) {
        out.push(current.join(' '));
        current = [];
        words = 0;
      }
      current.push(sentence);
      words += w;
    }
    if (current.length) out.push(current.join(' '));
  }
  // Fold fragments (headings, captions) into the passage that follows so they keep their context.
  const merged: string[] = [];
  let carry = '';
  for (const p of out) {
    const joined = carry ? `${carry} ${p}` : p;
    if (joined.split(' ').length < MIN_PASSAGE_WORDS) carry = joined;
    else {
      merged.push(joined);
      carry = '';
    }
  }
  if (carry) merged.push(carry);
  return merged;
}

/** Okapi BM25 scores of `docs` for `query`. */
export function bm25(query: string[], docs: string[][], k1 = 1.2, b = 0.75): number[] {
  const n = docs.length;
  if (n === 0) return [];
  const avg = docs.reduce((s, d) => s + d.length, 0) / n || 1;
  const df = new Map<string, number>();
  for (const d of docs) for (const t of new Set(d)) df.set(t, (df.get(t) ?? 0) + 1);
  const q = [...new Set(query)];
  return docs.map((d) => {
    const tf = new Map<string, number>();
    for (const t of d) tf.set(t, (tf.get(t) ?? 0) + 1);
    let score = 0;
    for (const t of q) {
      const f = tf.get(t);
      if (!f) continue;
      const idf = Math.log(1 + (n - (df.get(t) ?? 0) + 0.5) / ((df.get(t) ?? 0) + 0.5));
      score += (idf * f * (k1 + 1)) / (f + k1 * (1 - b + (b * d.length) / avg));
    }
    return score;
  });
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
  const scores = bm25(
    terms(query),
    all.map((p) => terms(p.text)),
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
