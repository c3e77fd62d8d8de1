// The deterministic scores, on hand-made reports: no I/O.
import { describe, expect, it } from '@jest/globals';
import type { ResearchReport } from '../research/contract.js';
import {
  citationPairs,
  citationScore,
  citedSentences,
  coverageScore,
  figureFidelity,
  keywordCoverage,
  mean,
  money,
  passageFor,
  winRate,
  type CapturedPage,
} from './scoring.js';

function report(summary: string, recommendations: string[] = [], citations = [1, 2]): ResearchReport {
  return {
    title: 'T',
    idea: 'dog sitters',
    depth: 'essential',
    sandbox: true,
    summary,
    keyFindings: [{ text: 'Owners want trust.', citations: [2] }],
    score: { total: 50, band: 'moderate', confidence: 'low', subScores: [] },
    missingSections: [],
    citations: citations.map((n) => ({
      n,
      url: `https://site${n}.example/page`,
      title: `S${n}`,
      domain: `site${n}.example`,
    })),
    sections: {
      plan: { product: 'p', targetCustomer: 't', problem: 'x', category: 'c' },
      queries: [],
      recommendations,
      flaggedFigures: [],
    },
  };
}

const PAGES: CapturedPage[] = [
  {
    url: 'https://site1.example/page/',
    title: 'S1',
    text: 'The pet sitting market was worth $2.6 billion in 2024 and grows 8% a year.',
  },
  { url: 'https://www.site2.example/page', title: 'S2', text: 'Owners say trust in sitters matters most.' },
];

describe('citedSentences and citationPairs', () => {
  it('keeps only sentences with citations, without their markers and flags, one pair per cited page', () => {
    const r = report('The market is $2.6 billion [1]. It is fragmented. Growth is 8%† a year [1][2].');
    expect(citedSentences(r).map((s) => s.text)).toEqual([
      'The market is $2.6 billion.',
      'Growth is 8% a year.',
      'Owners want trust.',
    ]);
    const pairs = citationPairs(r, PAGES);
    expect(pairs.map((p) => [p.n, p.page?.title])).toEqual([
      [1, 'S1'],
      [1, 'S1'],
      [2, 'S2'],
      [2, 'S2'],
    ]);
  });

  it('gives a citation number the list does not resolve, or a page never read, no page', () => {
    const r = report('Made up [7]. Unread [1].');
    const pairs = citationPairs(r, [PAGES[1]!]);
    expect(pairs.slice(0, 2).map((p) => [p.url, p.page])).toEqual([
      [undefined, undefined],
      ['https://site1.example/page', undefined],
    ]);
  });
});

describe('figureFidelity', () => {
  it('counts a figure found in a cited page, by the citation checker’s rule', () => {
    const f = figureFidelity(report('The market is $2.6 billion [1]. It grows 8% a year [1].'), PAGES);
    expect([f.figures, f.inPage, f.share]).toEqual([2, 2, 1]);
  });

  it('counts a figure the cited page does not state, or one citing an unread page, as not in its page', () => {
    const f = figureFidelity(report('The market is $9.9 billion [1]. Trust costs 40% more [2]. It is 2.6 [3].'), PAGES);
    expect(f.checks.map((c) => [c.figure, c.inPage])).toEqual([
      ['$9.9 billion', false],
      ['40%', false],
      ['2.6', false],
    ]);
    expect(f.share).toBe(0);
  });

  it('is null for a report without figures, not zero', () => {
    expect(figureFidelity(report('No numbers here [1].'), PAGES).share).toBeNull();
  });
});

describe('coverage', () => {
  const reqs = [
    { item: 'named competitors', keywords: ['Rover', 'Wag'] },
    { item: 'pricing', keywords: ['per visit'] },
    { item: 'German market', keywords: ['Büro'] },
  ];
  it('matches any keyword at a word start, case-insensitively, Unicode included', () => {
    expect(keywordCoverage('Rover and wagging tails cost $20 PER VISIT near the büro', reqs)).toEqual([
      true,
      true,
      true,
    ]);
    expect(keywordCoverage('A drover charges per visitor', reqs)).toEqual([false, true, false]);
  });

  it('averages the keyword and judge shares', () => {
    expect(coverageScore([true, true, false, false], [true, false, false, false])).toEqual({
      items: 4,
      keyword: 2,
      judge: 1,
      share: 0.375,
    });
  });
});

describe('citationScore, winRate, money, mean', () => {
  it('counts partly as half and is null with nothing cited', () => {
    expect(citationScore(['supported', 'partly', 'not_supported', 'supported'])).toEqual({
      checked: 4,
      supported: 2,
      partly: 1,
      notSupported: 1,
      precision: 0.625,
    });
    expect(citationScore([]).precision).toBeNull();
  });

  it('gives A half a win per tie', () => {
    expect(winRate(['A', 'B', 'tie', 'A'])).toEqual({ compared: 4, a: 2, b: 1, ties: 1, winRateA: 0.625 });
    expect(winRate([]).winRateA).toBeNull();
  });

  it('prices tokens per million and credits each', () => {
    const cost = { promptTokens: 2_000_000, completionTokens: 500_000, tavilyCredits: 12, wallMs: 1 };
    expect(money(cost, { in: 0.15, out: 0.6, credit: 0.008 })).toBeCloseTo(0.3 + 0.3 + 0.096, 10);
  });

  it('leaves undefined figures out of a mean', () => {
    expect(mean([1, null, 3, undefined])).toBe(2);
    expect(mean([null])).toBeNull();
  });
});

describe('passageFor', () => {
  it('picks the part of a long page that talks about the sentence', () => {
    const filler = Array.from({ length: 200 }, (_, i) => `Unrelated paragraph ${i} about weather and football.`).join(
      '\n\n',
    );
    const page = `${filler}\n\nDog sitting demand in Berlin rose 12% in 2024 according to the survey.\n\n${filler}`;
    const passage = passageFor('Dog sitting demand in Berlin rose 12%', page, 200);
    expect(passage).toContain('rose 12% in 2024');
    expect(passage.length).toBeLessThan(1500);
  });
});
