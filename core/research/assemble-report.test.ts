/* eslint-disable no-control-regex -- the tests look for control characters */
// The assembly from hand-built analyses and drafts: a terse model, a careful one, and hostile sources.
import { describe, expect, it } from '@jest/globals';
import { marked } from 'marked';
import { assembleReport, isFiller, type AssembleInput } from './assemble-report.js';
import type { RetrievedSource } from './citations.js';
import type { ResearchUsage } from './contract.js';
import { renderReportMarkdown } from './report-markdown.js';
import type { AgentAnalysis, ReportDraft } from './schemas.js';

const usage: ResearchUsage = {
  tavilyCalls: 6,
  tavilyCredits: 12,
  cacheHits: 0,
  promptTokens: 20_000,
  completionTokens: 2_000,
  durationMs: 90_000,
  sourcesUsed: 6,
  citationsRemoved: 0,
  figuresFlagged: 0,
  perNode: {},
};

const SOURCES: RetrievedSource[] = [1, 2, 3, 4, 5, 6].map((i) => ({
  id: `S${i}`,
  url: `https://site${i}.example/page`,
  title: `Page ${i}`,
  text: `$${i}.5 billion\n${i}0%`,
}));

const PLAN = {
  product: 'Dog sitter marketplace',
  targetCustomer: 'dog owners',
  problem: 'finding sitters',
  category: 'pet care',
  queries: { market: 'm', competitor: 'c', customer: 'u' },
};

const NA = { text: 'n/a', sources: [] as string[] };

const TERSE_ANALYSES: AgentAnalysis = {
  market: {
    overview: NA,
    size: [NA],
    growth: [{ text: 'N/A.', sources: [] }],
    trends: [{ text: 'none', sources: [] }],
  },
  competitor: {
    competitors: [{ name: 'n/a', positioning: 'n/a', pricing: 'n/a', sources: [] }],
    gaps: [{ text: '-', sources: [] }],
  },
  customer: {
    segments: [{ name: 'n/a', description: 'n/a', sources: [] }],
    pains: [{ text: 'Unknown', sources: [] }],
    willingnessToPay: [{ text: 'Not stated by the sources.', sources: [] }],
  },
};

const subScore = (score: number, rationale = 'n/a', sources: string[] = []) => ({ score, rationale, sources });

const TERSE_DRAFT: ReportDraft = {
  title: 'n/a',
  summary: 'N/A',
  keyFindings: [NA, NA, NA],
  subScores: {
    demand: subScore(15),
    growth: subScore(15),
    whitespace: subScore(15),
    pain: subScore(15),
    willingness_to_pay: subScore(15),
  },
  confidence: 'high',
  recommendations: ['n/a', 'N/A'],
};

function input(over: Partial<AssembleInput> = {}): AssembleInput {
  return {
    idea: 'dog sitters',
    depth: 'standard',
    sandbox: false,
    plan: PLAN,
    analyses: TERSE_ANALYSES,
    failures: {},
    draft: TERSE_DRAFT,
    sources: SOURCES,
    ...over,
  };
}

describe('isFiller', () => {
  it.each([
    '',
    ' ',
    'n/a',
    'N/A.',
    'NA',
    'n.a.',
    'None',
    '-',
    '—',
    '…',
    'Unknown',
    'Not stated by the sources.',
    'Not disclosed.',
    'n/a [S3]',
  ])('%j is filler', (text) => expect(isFiller(text)).toBe(true));
  it.each(['No', 'Nonexistent demand', 'N/A pricing is common in B2B [S3]', '10%'])('%j is not', (text) =>
    expect(isFiller(text)).toBe(false),
  );
});

describe('a terse model', () => {
  const { report } = assembleReport(input());
  const md = renderReportMarkdown(report, usage);

  it('gets "insufficient evidence", low confidence and scores capped by the evidence rules', () => {
    expect(report.score.band).toBe('insufficient evidence');
    expect(report.score.confidence).toBe('low');
    expect(report.score.modelConfidence).toBe('high');
    expect(report.score.total).toBe(25);
    for (const s of report.score.subScores) expect(s.evidence).toMatchObject({ level: 'none', cap: 5, modelScore: 15 });
    expect(md).toContain('**PMF 25/100 — insufficient evidence** · confidence low');
    expect(md).not.toMatch(/strong|exceptional/);
  });

  it('says plainly that no evidence was found, and never "n/a"', () => {
    expect(`${md}\n${JSON.stringify(report)}`).not.toMatch(/n\/a|\bN\/?A\b|\bunknown\b|not stated/i);
    for (const section of ['the market', 'competitors', 'customers'])
      expect(md).toContain(
        `No evidence was found in the retrieved sources ${section === 'the market' ? 'for the market' : `about ${section}`}`,
      );
    expect(md).toContain('No evidence was found in the retrieved sources for this dimension.');
    expect(md).toContain('**Insufficient evidence.**');
    expect(md).toContain('no evidence found; capped at 5 (model proposed 15)');
    expect(report.title).toBe('PMF research: Dog sitter marketplace');
  });

  it('writes the evidence rules into the Methodology', () => {
    const methodology = md.slice(md.indexOf('## Methodology'));
    expect(methodology).toContain('Evidence rules');
    expect(methodology).toContain('caps the sub-score at 5/20');
    expect(methodology).toContain('The model said its confidence was high; the evidence allows low.');
  });
});

const c = (text: string, ...sources: string[]) => ({ text, sources });

const CAREFUL_ANALYSES: AgentAnalysis = {
  market: {
    overview: c('The market is $1.5 billion.', 'S1'),
    size: [c('Another view puts it at $2.5 billion.', 'S2'), c('An uncited guess of $40 billion.')],
    growth: [c('It grows 30% a year.', 'S3'), c('Others see 40%.', 'S4')],
    trends: [c('A made-up trend of 77%.', 'S99')],
  },
  competitor: {
    competitors: [
      { name: 'Rover [S5]', positioning: 'Leader.', pricing: '20% fee', sources: ['S5'] },
      { name: 'Wag', positioning: 'Second.', pricing: null, sources: ['S6'] },
      { name: 'Ghost', positioning: 'Uncited.', pricing: null, sources: [] },
    ],
    gaps: [c('Trust is a gap.', 'S5', 'S6')],
  },
  customer: {
    segments: [{ name: 'Urban', description: 'Busy owners.', sources: ['S1'] }],
    pains: [c('Sitters cancel.', 'S2'), c('Vetting is hard.', 'S3')],
    willingnessToPay: [c('Owners pay $4.5 billion a year.', 'S4'), c('Fees of 60% are accepted.', 'S5')],
  },
};

const CAREFUL_DRAFT: ReportDraft = {
  title: 'Dog sitting: a fit [S1]',
  summary:
    'Demand is real [S1]. Revenue will reach $9 billion [S42]. See https://evil.example/x and [this](https://evil.example).',
  keyFindings: [c('Big market.', 'S1'), c('An uncited finding.'), NA],
  subScores: {
    demand: subScore(18, 'Large [S1].', ['S2']),
    growth: subScore(16, 'Growing.', ['S3']),
    whitespace: subScore(14, 'Gaps.', ['S5']),
    pain: subScore(13, 'Real pains.', ['S2']),
    willingness_to_pay: subScore(17, 'They pay.', ['S4']),
  },
  confidence: 'high',
  recommendations: ['Start in cities [S1].', 'n/a'],
};

describe('a careful model', () => {
  const assembled = assembleReport(input({ analyses: CAREFUL_ANALYSES, draft: CAREFUL_DRAFT }));
  const { report } = assembled;
  const md = renderReportMarkdown(report, { ...usage, figuresFlagged: assembled.figuresFlagged });

  it('keeps the model scores where the evidence is solid and caps where it is not', () => {
    const by = Object.fromEntries(report.score.subScores.map((s) => [s.key, s]));
    expect(by.demand?.evidence).toMatchObject({ claims: 2, sources: 2, level: 'solid' });
    expect(by.demand?.score).toBe(18);
    expect(by.growth?.evidence).toMatchObject({ claims: 2, level: 'solid' });
    expect(by.whitespace?.evidence?.level).toBe('solid');
    expect(by.pain?.evidence).toMatchObject({ claims: 3, level: 'solid' });
    // Page 5 states neither 60% nor Rover's 20% fee: those claims are flagged and do not count. One is left.
    expect(by.willingness_to_pay?.evidence).toMatchObject({ claims: 1, sources: 1, level: 'thin', modelScore: 17 });
    expect(by.willingness_to_pay?.score).toBe(12);
    expect(md).toContain('1 supported claim from 1 source (thin); capped at 12 (model proposed 17)');
    expect(report.score.band).not.toBe('insufficient evidence');
    expect(report.score.total).toBe(report.score.subScores.reduce((s, x) => s + x.score, 0));
  });

  it('lists only cited claims as evidence and drops filler', () => {
    expect(report.sections?.market?.size).toHaveLength(1);
    expect(report.sections?.market?.trends).toEqual([]);
    expect(report.sections?.competitors?.competitors.map((x) => x.name)).toEqual(['Rover', 'Wag']);
    expect(report.keyFindings).toEqual([{ text: 'Big market.', citations: [1] }]);
    expect(report.sections?.recommendations).toEqual(['Start in cities [1].']);
    expect(report.title).toBe('Dog sitting: a fit');
  });

  it('flags the figure whose only citation was made up, and removes every URL not retrieved', () => {
    expect(report.summary).toContain(`$9 billion†`);
    expect(report.sections?.flaggedFigures).toContainEqual(
      expect.objectContaining({ figure: '$9 billion', reason: 'citation_removed' }),
    );
    expect(`${md}\n${JSON.stringify(report)}`).not.toMatch(/evil\.example/);
    expect(assembled.citationsRemoved).toBeGreaterThanOrEqual(4);
  });

  it('every link in the Markdown is a citation to a retrieved page', () => {
    const hrefs: string[] = [];
    marked.walkTokens(marked.lexer(md, { gfm: true }), (t) => {
      if (t.type === 'link') hrefs.push(t.href);
    });
    expect(hrefs).toEqual(report.citations.map((x) => x.url));
    for (const n of [...md.matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1])))
      expect(n).toBeLessThanOrEqual(report.citations.length);
  });
});

describe('hostile sources', () => {
  const hostile: RetrievedSource[] = [
    { id: 'S1', url: 'https://a.example/x)](https://evil.example/y', title: 'A ](https://evil.example) `b`', text: '' },
    { id: 'S2', url: 'https://b.example/<script>\n\\ c', title: 'B [x]\u202e <https://evil.example>', text: '' },
    { id: 'S3', url: 'https://c.example/p q', title: '\x1b]8;;https://evil.example\x07C\x1b]8;;\x07', text: '' },
  ];
  const draft: ReportDraft = { ...CAREFUL_DRAFT, summary: 'One [S1]. Two [S2]. Three [S3].' };
  const { report } = assembleReport(
    input({
      analyses: {},
      draft,
      sources: hostile,
      failures: { market: 'fetch failed: https://api.evil.example/x' },
      plan: { ...PLAN, product: 'like www.evil.example for dogs [S1]' },
    }),
  );
  const md = renderReportMarkdown(report, usage);

  it('link only to the retrieved URLs, one link each, and carry no control or bidi characters', () => {
    const hrefs: string[] = [];
    marked.walkTokens(marked.lexer(md, { gfm: true }), (t) => {
      if (t.type === 'link') hrefs.push(decodeURI(t.href));
    });
    expect(hrefs).toEqual(hostile.map((s) => s.url));
    expect(md).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/);
    expect(marked.parse(md, { async: false, gfm: true }).match(/<a /g)).toHaveLength(3);
    expect(JSON.stringify(report)).not.toMatch(/https:\/\/api\.evil|www\.evil/);
    expect(report.sections?.plan.product).toBe('like for dogs');
  });
});
