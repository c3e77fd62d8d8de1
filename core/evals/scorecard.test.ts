// Totals, the Markdown scorecard and the chart, from hand-made scores: no I/O.
import { describe, expect, it } from '@jest/globals';
import { evalConfig, ideaScore } from '../../test/helpers/evals.js';
import { buildScorecard, renderChartSvg, renderScorecardMarkdown, totalsOf } from './scorecard.js';

describe('totalsOf', () => {
  it('pools citations and figures over the run, so a report with many citations weighs more', () => {
    const t = totalsOf([ideaScore('a', 40, 36, 10, 10), ideaScore('b', 4, 0, 0, 0)], 1);
    expect(t.citationPrecision).toBeCloseTo(36 / 44, 10);
    expect(t.supportedPerReport).toBe(18);
    expect(t.figureFidelity).toBe(1);
    expect(t).toMatchObject({ ideas: 2, failed: 1, tokensPerReport: 45_000, moneyTotal: 0.2 });
  });

  it('says n/a, not zero, when no idea produced a figure', () => {
    expect(totalsOf([], 0)).toMatchObject({ citationPrecision: null, figureFidelity: null, coverage: null });
  });
});

describe('renderScorecardMarkdown', () => {
  it('has the totals with targets and anchors, a row per idea and per failure, and the configuration', () => {
    const md = renderScorecardMarkdown(
      buildScorecard(
        evalConfig(),
        { scores: [ideaScore('a|b', 40, 36, 10, 10)], failed: [{ id: 'c', error: 'quota' }] },
        new Date('2026-12-04T11:00:00Z'),
      ),
    );
    expect(md).toContain('| Citation support precision | 90.0% ✓ | ≥ 85% | DeepResearch Bench FACT');
    expect(md).toContain('Open Deep Research ≈ 580,000');
    expect(md).toContain('| a\\|b | k | 50 | 90.0% (40) |');
    expect(md).toContain('| c | failed: quota |');
    expect(md).toContain('judge model: `gpt-4o`');
    expect(md).toContain('Version: 0.1.0 (abc123)');
    expect(md).toContain('$0.1000');
  });
});

describe('renderChartSvg', () => {
  it('draws five bars per idea, clips past 100%, and escapes labels', () => {
    const s = ideaScore('x<y', 10, 5, 0, 0);
    s.cost.tokens = 120_000;
    const svg = renderChartSvg([s]);
    expect(svg.match(/class="bar"/g)).toHaveLength(5);
    expect(svg).toContain('x&lt;y');
    expect(svg).not.toContain('x<y');
    expect(svg).toContain('width="420.0"'); // tokens at 200% of the budget: a full bar
    expect(svg).toContain('>n/a<'); // no figures: no figure-fidelity bar
  });
});
