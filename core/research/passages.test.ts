import { describe, expect, it } from '@jest/globals';
import { bm25, estimateTokens, selectPassages, splitPassages } from './passages.js';
import { terms } from './terms.js';

function filler(words: number, word = 'lorem'): string {
  return Array.from({ length: words }, (_, i) => `${word}${i % 7}`).join(' ') + '.';
}

describe('splitPassages', () => {
  it('splits on blank lines and cuts long paragraphs at sentences', () => {
    const long = Array.from({ length: 30 }, () => 'This sentence has exactly eight words in it.').join(' ');
    const parts = splitPassages(`Intro paragraph with enough words to stand on its own here.\n\n${long}`);
    expect(parts.length).toBeGreaterThanOrEqual(2);
    expect(parts.join(' ').split(' ').length).toBe(11 + 240);
    for (const p of parts) expect(p.split(' ').length).toBeLessThanOrEqual(160 + 12);
  });
  it('folds short headings into the next passage', () => {
    const parts = splitPassages(`## Pricing\n\n${filler(40)}`);
    expect(parts).toHaveLength(1);
    expect(parts[0]).toMatch(/^## Pricing/);
  });
});

/** The definition splitPassages implements, written the plain way: the fast one must cut exactly like it. */
function referenceSplit(text: string): string[] {
  const out: { text: string; words: number }[] = [];
  for (const para of text.split(/\n\s*\n/)) {
    const clean = para.replace(/\s+/g, ' ').trim();
    if (!clean) continue;
    let current: string[] = [];
    let words = 0;
    for (const sentence of clean.split(/(?<=[.!?]) /)) {
      const w = sentence.split(' ').length;
      if (words > 0 && words + w > 160) {
        out.push({ text: current.join(' '), words });
        [current, words] = [[], 0];
      }
      current.push(sentence);
      words += w;
    }
    out.push({ text: current.join(' '), words });
  }
  const merged: string[] = [];
  let carry = { text: '', words: 0 };
  for (const p of out) {
    const joined = { text: carry.text ? `${carry.text} ${p.text}` : p.text, words: carry.words + p.words };
    if (joined.words < 12) carry = joined;
    else [merged[merged.length], carry] = [joined.text, { text: '', words: 0 }];
  }
  if (carry.text) merged.push(carry.text);
  return merged;
}

describe('splitPassages against its plain definition', () => {
  const sentences = (n: number, end = '.') =>
    Array.from({ length: n }, (_, i) => `Sentence ${i} has a handful of words in it${end}`).join(' ');
  it.each([
    ['empty', ''],
    ['only whitespace', ' \n\n \t \n'],
    ['CRLF paragraphs', `${sentences(3)}\r\n\r\n${sentences(4)}`],
    ['blank line holding spaces and tabs', `${sentences(3)}\n \t \n${sentences(3)}`],
    ['a single line break stays inside the paragraph', `${sentences(2)}\n${sentences(2)}`],
    ['runs of spaces, tabs and no-break spaces', `Lead   words\there.  Then\u00a0\u2003more words follow here!  Yes?`],
    ['leading and trailing blank lines', `\n\n\n  ${sentences(2)}  \n\n`],
    ['a long paragraph cut at sentence ends', sentences(60)],
    ['questions and exclamations end sentences', sentences(40, '?') + ' ' + sentences(40, '!')],
    ['one sentence longer than a passage', `${'word '.repeat(400)}end.`],
    ['headings fold into what follows', `## Pricing\n\n### Plans\n\n${sentences(5)}\n\n## Tail`],
    ['unicode line and paragraph separators', `${sentences(2)}\u2028${sentences(2)}\u2029\u2029${sentences(2)}`],
  ])('%s', (_name, text) => {
    expect(splitPassages(text)).toEqual(referenceSplit(text));
  });
});

describe('bm25', () => {
  it('ranks the passage that matches the query first', () => {
    const docs = [terms('cats and birds'), terms('dog sitter prices in the neighbourhood'), terms('weather today')];
    const s = bm25(terms('dog sitters prices'), docs);
    expect(s[1]).toBeGreaterThan(s[0]!);
    expect(s[1]).toBeGreaterThan(s[2]!);
  });
});

describe('selectPassages', () => {
  const pages = ['A', 'B', 'C'].map((id, i) => ({
    sourceId: id,
    text: [
      filler(120),
      `Dog sitting prices ${i}: owners pay for vetted sitters in the neighbourhood. ${filler(60, 'dog')}`,
      filler(150, 'ipsum'),
      filler(150, 'dolor'),
    ].join('\n\n'),
  }));

  it('keeps within the budget, gives every page a passage, prefers relevant ones', () => {
    const budget = 1200;
    const chosen = selectPassages(pages, 'dog sitters prices neighbourhood', budget);
    expect(chosen.reduce((s, p) => s + p.tokens, 0)).toBeLessThanOrEqual(budget);
    expect(new Set(chosen.map((p) => p.sourceId))).toEqual(new Set(['A', 'B', 'C']));
    for (const id of ['A', 'B', 'C']) expect(chosen.find((p) => p.sourceId === id)?.text).toMatch(/Dog sitting prices/);
  });

  it('shrinks the text a lot for long pages', () => {
    const big = [
      {
        sourceId: 'A',
        text: Array.from({ length: 40 }, (_, i) => (i === 7 ? 'dog sitters prices here. ' : '') + filler(100)).join(
          '\n\n',
        ),
      },
    ];
    const chosen = selectPassages(big, 'dog sitters prices', 800);
    expect(chosen.reduce((s, p) => s + p.tokens, 0)).toBeLessThan(estimateTokens(big[0]!.text) / 4);
  });
});
