import { describe, expect, it } from '@jest/globals';
import { bm25, estimateTokens, selectPassages, splitPassages, terms } from './passages.js';

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
