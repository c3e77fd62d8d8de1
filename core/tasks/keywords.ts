// Keyword normalisation for task search. MongoDB's $text is not available on FerretDB, so each task stores
// the normalised words of its idea, title and summary in an array with a multikey index; a query matches
// when every query word equals a stored word or (for the last, still being typed) is a prefix of one.

const STOP_WORDS = new Set(
  (
    'a an and are as at be but by for from has have in into is it its of on or our that the their them ' +
    'there these they this to was we were what when which who will with you your app apps'
  ).split(' '),
);

const MAX_KEYWORDS = 200;

/** Lower-case, accents stripped, punctuation to spaces: `Café-Apps!` → `cafe apps`. */
export function foldText(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/** The distinct searchable words of some texts, stop words and 1-letter words dropped. */
export function keywordsOf(...texts: (string | undefined)[]): string[] {
  const out = new Set<string>();
  for (const text of texts) {
    if (!text) continue;
    for (const word of foldText(text).split(' ')) {
      if (word.length < 2 || STOP_WORDS.has(word)) continue;
      out.add(word);
      if (out.size >= MAX_KEYWORDS) return [...out];
    }
  }
  return [...out];
}

export type KeywordQuery = { exact: string[]; prefix?: string };

/**
 * Splits a search box's text into whole words and, when the text does not end in a space, a last word
 * that is still being typed and so matches as a prefix. Stop words are dropped from whole words only:
 * "the" typed as a prefix may be the start of "theatre".
 */
export function parseKeywordQuery(text: string): KeywordQuery {
  const folded = foldText(text);
  if (!folded) return { exact: [] };
  const words = folded.split(' ');
  const typing = !/[\s\p{P}]$/u.test(text);
  const last = typing ? words.pop() : undefined;
  const exact = [...new Set(words.filter((w) => w.length >= 2 && !STOP_WORDS.has(w)))];
  return last ? { exact, prefix: last } : { exact };
}

/** A regex source that matches keywords starting with `prefix` (escaped; anchored so the index can be used). */
export function prefixPattern(prefix: string): string {
  return '^' + prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
