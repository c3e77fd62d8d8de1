// Hand-made evaluation results for the tests of the scorecard and of the console's Evals page.
import type { EvalConfig, IdeaScore } from '../../core/evals/runner.js';

/** One idea's scores: `checked` citations of which `supported` held, `figures` of which `inPage` were found. */
export function ideaScore(id: string, checked: number, supported: number, figures: number, inPage: number): IdeaScore {
  return {
    id,
    kind: 'k',
    idea: id,
    pmfScore: 50,
    citation: {
      checked,
      supported,
      partly: 0,
      notSupported: checked - supported,
      precision: checked ? supported / checked : null,
      supportedPerReport: supported,
      unsupported: [],
    },
    figures: { figures, inPage, share: figures ? inPage / figures : null, notInPage: [] },
    coverage: { items: 4, keyword: 2, judge: 2, share: 0.5, missing: [] },
    rubric: { comprehensiveness: 6, insight: 5, usefulness: 5, readability: 8, mean: 6 },
    cost: {
      promptTokens: 40_000,
      completionTokens: 5_000,
      tokens: 45_000,
      tavilyCredits: 12,
      cacheHits: 0,
      wallMs: 90_000,
      money: 0.1,
    },
    judgeTokens: 10_000,
  };
}

/** A run's configuration as `npm run eval` records it. */
export function evalConfig(): EvalConfig {
  return {
    set: 'evals/ideas.jsonl',
    depth: 'standard',
    limit: null,
    concurrency: 2,
    model: 'gpt-4o-mini',
    judgeModel: 'gpt-4o',
    sandbox: false,
    prices: { in: 0.15, out: 0.6, credit: 0.008 },
    startedAt: '2026-12-04T10:00:00.000Z',
    version: '0.1.0 (abc123)',
  };
}
