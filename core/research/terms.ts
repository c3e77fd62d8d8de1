// Words as BM25 sees them: tokens (letters and digits), lower-cased, without stop words and one-letter
// tokens, suffix-stripped; and the counting of a query's terms over page text, the hot loop of a research run.

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

/** Whether a non-ASCII code point is one `tokens` keeps (`\p{L}`, `\p{N}`); cached, as a page repeats its few. */
const LETTER_OR_DIGIT = /^[\p{L}\p{N}]$/u;
const nonAsciiWordChar = new Map<number, boolean>();
function isNonAsciiWordChar(cp: number): boolean {
  let known = nonAsciiWordChar.get(cp);
  if (known === undefined) {
    known = LETTER_OR_DIGIT.test(String.fromCodePoint(cp));
    nonAsciiWordChar.set(cp, known);
  }
  return known;
}

/** ASCII letters, either case, and digits: the alphabet of the automaton below; -1 for any other character. */
const ALPHABET = 36;
function asciiSymbol(c: number): number {
  if (c >= 97 && c <= 122) return c - 97;
  if (c >= 65 && c <= 90) return c - 65;
  if (c >= 48 && c <= 57) return c - 22;
  return -1;
}

const DEAD = 0;
const ROOT = 1;
const UNLABELLED = -3;

/**
 * A trie over the lower-cased ASCII tokens whose slot is not OTHER: every spelling that stems to a query
 * term (the term itself, and with each suffix `stem` strips), and the stop words. Walking it one character
 * at a time gives a token's slot without cutting the token out of the text.
 */
function termAutomaton(query: string[]) {
  const labelled = new Map<string, number>();
  query.forEach((term, slot) => {
    const spellings = [
      term,
      ...SUFFIXES.map((x) => term + x),
      ...(term.endsWith('y') ? [`${term.slice(0, -1)}ies`] : []),
    ];
    for (const w of spellings) if (/^[a-z0-9]+$/.test(w) && counted(w) && stem(w) === term) labelled.set(w, slot);
  });
  for (const w of STOP) labelled.set(w, SKIPPED);
  // A word adds at most one state a character, so the table is sized once from the words' lengths instead of
  // doubled and copied as it grows: half the allocation (~125 KB, not ~290 KB per extract) and a third of the
  // build time, in a worker running a hundred researches at once.
  let capacity = 2;
  for (const word of labelled.keys()) capacity += word.length;
  let states = 2;
  const next = new Int32Array(capacity * ALPHABET);
  const label = new Int32Array(capacity).fill(UNLABELLED);
  for (const [word, slot] of labelled) {
    let state = ROOT;
    for (let i = 0; i < word.length; i++) {
      const edge = state * ALPHABET + asciiSymbol(word.charCodeAt(i));
      if (next[edge] === DEAD) next[edge] = states++;
      state = next[edge]!;
    }
    label[state] = slot;
  }
  return { next, label };
}

/** A text's length in terms and the count of each query term in it, by the query term's position. */
export type TermCounts = { length: number; tf: number[] };

/**
 * Per text: its length in terms and how often each of `query`'s terms occurs in it, all BM25 needs.
 * The hot loop of a research run (a standard run reads ~350k words): ASCII tokens are classified by walking
 * `termAutomaton` as they are read; only a token with other characters is cut out, lower-cased and stemmed
 * (once per distinct spelling).
 */
export function countQueryTerms(texts: string[], query: string[]): TermCounts[] {
  const { next, label } = termAutomaton(query);
  const slots = new Map(query.map((t, i) => [t, i]));
  const lexicon = new Map<string, number>();
  const slowSlot = (token: string): number => {
    let slot = lexicon.get(token);
    if (slot === undefined) {
      const lower = token.toLowerCase();
      slot = counted(lower) ? (slots.get(stem(lower)) ?? OTHER) : SKIPPED;
      lexicon.set(token, slot);
    }
    return slot;
  };
  return texts.map((text) => {
    const tf = new Array<number>(query.length).fill(0);
    let length = 0;
    let start = -1;
    let state = ROOT;
    let ascii = true;
    for (let i = 0, width = 1; i <= text.length; i += width) {
      const c = i < text.length ? text.charCodeAt(i) : 32;
      const symbol = asciiSymbol(c);
      width = 1;
      if (symbol >= 0) {
        if (start < 0) {
          start = i;
          state = ROOT;
          ascii = true;
        }
        state = next[state * ALPHABET + symbol]!;
        continue;
      }
      if (c >= 128) {
        const cp = text.codePointAt(i)!;
        if (cp > 0xffff) width = 2;
        if (isNonAsciiWordChar(cp)) {
          if (start < 0) start = i;
          ascii = false;
          continue;
        }
      }
      if (start < 0) continue;
      let slot: number;
      if (!ascii) slot = slowSlot(text.slice(start, i));
      else {
        const known = state === DEAD ? UNLABELLED : label[state]!;
        slot = known !== UNLABELLED ? known : i - start > 1 ? OTHER : SKIPPED;
      }
      start = -1;
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
