/* eslint-disable no-control-regex -- the tests look for control characters */
import { describe, expect, it } from '@jest/globals';
import {
  checkCitations,
  FLAG_MARK,
  figureIndex,
  figuresIn,
  normalizeUrl,
  sourceContainsFigure,
  type RetrievedSource,
} from './citations.js';

describe('normalizeUrl', () => {
  it.each([
    ['https://www.example.com/a/', 'example.com/a'],
    ['http://example.com/a', 'example.com/a'],
    ['https://EXAMPLE.com/a#section-2', 'example.com/a'],
    ['https://example.com/a?utm_source=x&utm_medium=y&id=3', 'example.com/a?id=3'],
    ['https://example.com/a?fbclid=abc&gclid=d&ref=hn', 'example.com/a'],
    ['https://example.com/a?b=2&a=1', 'example.com/a?a=1&b=2'],
    ['https://example.com/', 'example.com'],
    ['https://example.com:443/x', 'example.com/x'],
    ['https://example.com:8080/x', 'example.com:8080/x'],
  ])('%s -> %s', (raw, want) => {
    expect(normalizeUrl(raw)).toBe(want);
  });
});

const SOURCES: RetrievedSource[] = [
  {
    id: 'M1',
    url: 'https://www.petmarket.com/report?utm_source=t',
    title: 'Pet market report',
    text: 'The pet care market reached $4.2 billion in 2024, growing 12% a year.',
  },
  {
    id: 'M2',
    url: 'https://stats.example.org/dogs',
    title: 'Dog stats',
    text: 'There are 89.7 million dogs in the US and 1,200 sitting agencies.',
  },
  {
    id: 'C1',
    url: 'https://petmarket.com/report/',
    title: 'Pet market report (again)',
    text: 'Rover charges a 20% fee.',
  },
  {
    id: 'U1',
    url: 'https://forum.example.net/thread',
    title: 'Forum',
    text: 'Owners say they would pay $25 per visit.',
  },
];

describe('checkCitations (table)', () => {
  it.each([
    {
      name: 'numbers in order of first use',
      texts: ['Dogs are many [M2]. The market is big [M1].'],
      want: ['Dogs are many [1]. The market is big [2].'],
      urls: ['https://stats.example.org/dogs', 'https://www.petmarket.com/report?utm_source=t'],
      removed: 0,
    },
    {
      name: 'merges duplicates by normalized URL',
      texts: ['Big market [M1]. Fees are high [C1].', 'Again [C1, M1].'],
      want: ['Big market [1]. Fees are high [1].', 'Again [1].'],
      urls: ['https://www.petmarket.com/report?utm_source=t'],
      removed: 0,
    },
    {
      name: 'removes fabricated ids and URLs, keeps numbering contiguous',
      texts: [
        'Claim [X9]. Other [M2][Z1]. Link [see](https://fake.example.com/a). Bare https://made.up/page here [U1].',
      ],
      want: ['Claim. Other [1]. Link see. Bare here [2].'],
      urls: ['https://stats.example.org/dogs', 'https://forum.example.net/thread'],
      removed: 4,
    },
    {
      name: 'a URL marker that was retrieved becomes its number',
      texts: ['Stats [https://stats.example.org/dogs/]. More [M2].'],
      want: ['Stats [1]. More [1].'],
      urls: ['https://stats.example.org/dogs'],
      removed: 0,
    },
    {
      name: 'mixed separators in one group',
      texts: ['Both [M1; U1].'],
      want: ['Both [1][2].'],
      urls: ['https://www.petmarket.com/report?utm_source=t', 'https://forum.example.net/thread'],
      removed: 0,
    },
  ])('$name', ({ texts, want, urls, removed }) => {
    const r = checkCitations(texts, SOURCES);
    expect(r.texts).toEqual(want);
    expect(r.citations.map((c) => c.url)).toEqual(urls);
    expect(r.citations.map((c) => c.n)).toEqual(urls.map((_, i) => i + 1));
    expect(r.citationsRemoved).toBe(removed);
  });

  it.each([
    { text: 'The market reached $4.2 billion [M1].', flagged: [] },
    { text: 'The market grows 12% a year [M1].', flagged: [] },
    { text: 'The market grows 15% a year [M1].', flagged: ['15%'] },
    { text: 'The market reached $9.9 billion [M1].', flagged: ['$9.9 billion'] },
    { text: 'There are 89.7 million dogs [M2].', flagged: [] },
    { text: 'There are 1,200 agencies [M2].', flagged: [] },
    { text: 'There are 1200 agencies [M2].', flagged: [] },
    { text: 'There are 5 agencies [M2].', flagged: ['5'] },
    { text: 'Owners pay $25 per visit [U1] and 20% fees [C1].', flagged: [] },
    { text: 'Owners pay $30 per visit [U1].', flagged: ['$30'] },
    { text: 'An uncited 77% is not checked.', flagged: [] },
    // Its only citation pointed at nothing retrieved: the figure is flagged, not left looking supported.
    { text: 'Fake citation removed, so 77% is unsupported [Q7].', flagged: ['77%'] },
  ])('flags figures: $text', ({ text, flagged }) => {
    const r = checkCitations([text], SOURCES);
    expect(r.figuresFlagged.map((f) => f.figure)).toEqual(flagged);
    for (const f of flagged) expect(r.texts[0]).toContain(`${f}${FLAG_MARK}`);
    if (flagged.length === 0) expect(r.texts[0]).not.toContain(FLAG_MARK);
  });

  it('checks each sentence against its own citations only', () => {
    const r = checkCitations(['Fees are 20% [C1]. Owners pay $25 [M1].'], SOURCES);
    expect(r.figuresFlagged.map((f) => f.figure)).toEqual(['$25']);
  });
});

describe('figures', () => {
  it('finds money, percentages and numbers but not citation numbers', () => {
    expect(figuresIn('Spend $4.2 billion, up 12.5 percent from 300 firms [3].')).toEqual([
      '$4.2 billion',
      '12.5 percent',
      '300',
    ]);
  });
  it('does not find 5 inside 2025 or 25', () => {
    expect(sourceContainsFigure('In 2025 it was 25.', '5')).toBe(false);
    expect(sourceContainsFigure('about 5 firms', '5')).toBe(true);
    expect(sourceContainsFigure('grew 35 percent', '35%')).toBe(true);
  });
  it("answers from a page's figure index as from the page itself", () => {
    const page =
      'In 2025 the market reached $4.2 billion. About 35 percent of 1,200 owners pay €30/month.\n' +
      'Growth was 12.5% a year; 5 firms hold 60% of it. The 2025 figure repeats.';
    const index = figureIndex(page);
    expect(index.split('\n')).toEqual(['2025', '$4.2 billion', '35 percent', '1,200', '€30', '12.5%', '5', '60%']);
    const claims = [
      '$4.2bn',
      '4.2 billion',
      '35%',
      '1200',
      '1,200',
      '€30',
      '12.5%',
      '5',
      '60%',
      '2025',
      '25',
      '2',
      '6%',
      '60',
      '30%',
      '4.2%',
      '12',
    ];
    for (const figure of claims)
      expect([figure, sourceContainsFigure(index, figure)]).toEqual([figure, sourceContainsFigure(page, figure)]);
  });
});

// A run whose ids share one prefix, as the graph numbers them: bare numbers then mean `S<n>`.
const RUN: RetrievedSource[] = [1, 2, 3, 4, 5].map((i) => ({
  id: `S${i}`,
  url: `https://site${i}.example/page`,
  title: `Page ${i}`,
  text: `Page ${i} says the market is $${i}.5 billion and grows ${i}0% a year.`,
}));

describe('checkCitations: every marker shape', () => {
  it.each([
    ['a bare valid number', 'Big [3].', 'Big [1].', 0],
    ['a bare number no source has', 'Big [14].', 'Big.', 1],
    ['a year in brackets is no source', 'Back in [2024] it was small.', 'Back in it was small.', 1],
    ['corner brackets', 'Big 【3】.', 'Big [1].', 0],
    ['corner brackets with a dagger suffix', 'Big 【4:0†source】.', 'Big [1].', 0],
    ['a footnote', 'Big[^3].', 'Big[1].', 0],
    ['a footnote to nothing', 'Big[^9].', 'Big.', 1],
    ['(source n)', 'Big (source 3).', 'Big [1].', 0],
    ['(Sources: S3, S4)', 'Big (Sources: S3, S4).', 'Big [1][2].', 0],
    ['(see S2)', 'Big (see S2).', 'Big [1].', 0],
    ['(S3) with a run prefix', 'Big (S3).', 'Big [1].', 0],
    ['(S9) with a run prefix but no such source', 'Big (S9).', 'Big.', 1],
    ['a list of numbers', 'Big [3, 4].', 'Big [1][2].', 0],
    ['a list with "and"', 'Big [S3 and S4].', 'Big [1][2].', 0],
    ['a range', 'Big [3-5].', 'Big [1][2][3].', 0],
    ['a range of ids with an en dash', 'Big [S3–S5].', 'Big [1][2][3].', 0],
    ['a range reaching past the sources', 'Big [4-7].', 'Big [1][2].', 2],
    ['a huge range', 'Big [1-999].', 'Big.', 1],
    ['fullwidth brackets', 'Big ［3］.', 'Big [1].', 0],
    ['double brackets', 'Big [[S3]].', 'Big [1].', 0],
    ['[source: 3]', 'Big [source: 3].', 'Big [1].', 0],
    ['[ref #3]', 'Big [ref #3].', 'Big [1].', 0],
    ['prose parentheses stay', 'Three steps (3) in Q3 (Q3) [sic].', 'Three steps (3) in Q3 (Q3) [sic].', 0],
  ])('%s', (_name, text, want, removed) => {
    const r = checkCitations([text], RUN);
    expect(r.texts).toEqual([want]);
    expect(r.citationsRemoved).toBe(removed);
  });
});

describe('checkCitations: links and URLs', () => {
  it.each([
    ['an autolink to nothing retrieved', 'See <https://evil.example/x> now [S1].', 'See now [1].', 1],
    ['a mailto autolink', 'Write <mailto:a@evil.example> now.', 'Write now.', 1],
    ['a www host', 'See www.evil.example now.', 'See now.', 1],
    ['a bare URL retrieved', 'See https://site2.example/page.', 'See [1].', 0],
    ['a bare URL retrieved, other spelling', 'See https://www.site2.example/page/?utm_source=x!', 'See [1]!', 0],
    [
      'a link to a retrieved page keeps its label',
      'See [the study](https://site3.example/page).',
      'See the study [1].',
      0,
    ],
    ['a link with an angle destination', 'See [x](<https://evil.example/a b>).', 'See x.', 1],
    ['a link with a title', 'See [x](https://evil.example "t").', 'See x.', 1],
    ['an image', 'Look ![chart](https://evil.example/c.png).', 'Look chart.', 1],
    ['a URL as a link label', 'See [https://evil.example](https://site1.example/page).', 'See [1].', 1],
    ['a link to a script', 'Click [here](javascript:alert(1)).', 'Click here.', 1],
    ['a reference definition', 'Big [x].\n[x]: https://evil.example', 'Big [x].', 1],
    ['a URL with parentheses', 'See https://evil.example/a_(b) now.', 'See now.', 1],
    ['a URL glued to a word', 'Seehttps://evil.example/x now.', 'See now.', 1],
  ])('%s', (_name, text, want, removed) => {
    const r = checkCitations([text], RUN);
    expect(r.texts).toEqual([want]);
    expect(r.citationsRemoved).toBe(removed);
  });
});

describe('checkCitations: figures that lose their citations', () => {
  it.each([
    ['a made-up citation', 'Revenue hit $9 billion [S99].', ['$9 billion']],
    ['a made-up citation after the full stop', 'Revenue hit $9 billion. [S99] Then more.', ['$9 billion']],
    ['a made-up link', 'Revenue hit 45% ([report](https://evil.example)).', ['45%']],
    ['a bare number no source has', 'Revenue hit $9 billion [14].', ['$9 billion']],
    ['one good citation left is checked normally', 'Revenue hit $3.5 billion [S3][S99].', []],
    ['never cited: not checked', 'Revenue hit $9 billion.', []],
  ])('%s', (_name, text, figures) => {
    const r = checkCitations([text], RUN);
    expect(r.figuresFlagged.map((f) => f.figure)).toEqual(figures);
    for (const f of r.figuresFlagged) {
      expect(f.reason).toBe('citation_removed');
      expect(r.texts[0]).toContain(`${f.figure}${FLAG_MARK}`);
    }
  });

  it('a figure the cited page does not hold is flagged as not in the source', () => {
    const r = checkCitations(['Revenue hit $7 billion [S3].'], RUN);
    expect(r.figuresFlagged).toEqual([
      expect.objectContaining({ figure: '$7 billion', reason: 'not_in_source', sources: [1], text: 0 }),
    ]);
  });

  it('our flag mark and placeholders cannot be written by the model', () => {
    const r = checkCitations(['Revenue hit $3.5 billion† [S3]\uE001\uE002\uE000.'], RUN);
    expect(r.texts).toEqual(['Revenue hit $3.5 billion [1].']);
  });
});

describe('checkCitations: property over hostile text', () => {
  const PIECES = [
    'Big market',
    ' grows 30%',
    ' $2.5 billion',
    '. ',
    '. Then',
    ' [S1]',
    ' [S3]',
    ' [14]',
    ' [3]',
    ' [0]',
    ' 【2】',
    ' 【9†source】',
    '[^4]',
    ' (source 5)',
    ' (see S9)',
    ' (S2)',
    ' [3, 4]',
    ' [2-4]',
    ' [S1–S9]',
    ' [X7]',
    ' [https://site4.example/page]',
    ' [https://evil.example]',
    ' https://evil.example/a)b',
    ' https://site5.example/page',
    ' www.evil.example',
    ' <https://evil.example>',
    ' [x](https://evil.example)',
    ' [y](https://site1.example/page)',
    ' ![i](https://evil.example/i.png)',
    '\n[r]: https://evil.example',
    ' ](',
    ' [',
    ' ]',
    ' (',
    ' )',
    ' \x1b[31m',
    ' \u202e',
    '†',
  ];
  let seed = 5;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  const text = () => Array.from({ length: 1 + rand(14) }, () => PIECES[rand(PIECES.length)]).join('');
  const retrieved = new Set(RUN.map((s) => s.url));

  it('leaves only [n] numbers of retrieved pages, numbered by first use, and no URL at all', () => {
    for (let i = 0; i < 3000; i++) {
      const texts = [text(), text(), text()];
      const r = checkCitations(texts, RUN);
      const all = r.texts.join('\n');
      const used = r.texts.flatMap((t) => [...t.matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1])));
      const firstUse = [...new Set(used)];
      expect([texts, firstUse]).toEqual([texts, r.citations.map((c) => c.n)]);
      expect([texts, r.citations.every((c) => retrieved.has(c.url))]).toEqual([texts, true]);
      expect([
        texts,
        /https?:|www\.|【|\[\^|\(sources?\b|\(see\b|\[S\d|\[X\d|[\uE000-\uE002\x1b\u202e]/i.test(all),
      ]).toEqual([texts, false]);
    }
  });
});
