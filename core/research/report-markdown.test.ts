import { describe, expect, it } from '@jest/globals';
import { marked } from 'marked';
import type { ResearchReport, ResearchUsage } from './contract.js';
import { renderReportMarkdown, SANDBOX_NOTICE } from './report-markdown.js';

const usage: ResearchUsage = {
  tavilyCalls: 4,
  tavilyCredits: 8,
  cacheHits: 2,
  promptTokens: 20_000,
  completionTokens: 2_000,
  durationMs: 95_000,
  sourcesUsed: 10,
  citationsRemoved: 3,
  figuresFlagged: 1,
  perNode: {},
};

function report(over: Partial<ResearchReport> = {}): ResearchReport {
  return {
    title: 'Dog sitting',
    idea: 'dog sitters',
    depth: 'standard',
    sandbox: false,
    summary: 'Big market [1].',
    keyFindings: [{ text: 'Owners pay $25', citations: [1] }],
    score: {
      total: 55,
      band: 'moderate',
      confidence: 'medium',
      subScores: [{ key: 'demand', label: 'Demand and market size', score: 11, rationale: 'Many dogs [1].' }],
    },
    missingSections: [{ section: 'competitors', reason: 'the competitor search failed: rate limited' }],
    citations: [{ n: 1, url: 'https://a.com/x', title: 'A', domain: 'a.com' }],
    sections: {
      plan: { product: 'p', targetCustomer: 't', problem: 'x', category: 'c' },
      queries: [{ agent: 'market', query: 'dog sitting market' }],
      market: { overview: 'Overview [1].', size: ['$4B [1]'], growth: [], trends: [] },
      customers: {
        segments: [{ name: 'Urban', description: 'busy [1]' }],
        pains: ['@everyone cancels'],
        willingnessToPay: [],
      },
      recommendations: ['Pilot it <script>x</script>'],
      flaggedFigures: [],
    },
    ...over,
  };
}

describe('renderReportMarkdown', () => {
  it('has every section in order, says why a section is missing, and states the methodology figures', () => {
    const md = renderReportMarkdown(report(), usage);
    const heads = [...md.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
    expect(heads).toEqual([
      'Executive Summary',
      'Market Analysis',
      'Competitive Landscape',
      'Customer Insights',
      'PMF Score',
      'Strategic Recommendations',
      'Citations',
      'Methodology',
    ]);
    expect(md).toContain('This section is missing: the competitor search failed: rate limited');
    expect(md).toMatch(/8 credits spent, 2 served from cache/);
    expect(md).toMatch(/22,000/);
    expect(md).toMatch(/Citations removed.*: 3/);
    expect(md).toMatch(/Figures flagged.*: 1/);
    expect(md).toContain('1. [A](<https://a.com/x>)');
    expect(md).not.toContain(SANDBOX_NOTICE);
    expect(md).not.toMatch(/@everyone|<script/);
  });

  it('says plainly at the top that a sandbox report is synthetic', () => {
    const md = renderReportMarkdown(report({ sandbox: true }), usage);
    expect(md.split('\n').slice(0, 3).join('\n')).toMatch(/synthetic/i);
  });

  it('keeps every citation one whole link whatever its title and URL hold, and links nothing else', () => {
    const citations = [
      {
        n: 1,
        url: 'https://a.example/@everyone/x)](https://evil.example',
        title: 'T [x](https://evil.example) `b`',
        domain: 'a.example',
      },
      { n: 2, url: 'https://b.example/<script>\n\\', title: '<b>B</b> ]( @here', domain: 'b.example' },
    ];
    const md = renderReportMarkdown(
      report({ citations, summary: 'See https://evil.example and [y](https://evil.example) [1][2].' }),
      usage,
    );
    const hrefs: string[] = [];
    marked.walkTokens(marked.lexer(md, { gfm: true }), (t) => {
      if (t.type === 'link') hrefs.push(decodeURI(t.href));
    });
    expect(hrefs).toEqual(citations.map((c) => c.url));
    expect(md).not.toMatch(/@here|<b>|<script/);
  });
});
