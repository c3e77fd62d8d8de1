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
