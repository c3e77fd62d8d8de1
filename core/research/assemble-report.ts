// From the agents' analyses and the report writer's draft to the ResearchReport every surface reads.
// Pure: citation ids become [n] through checkCitations, scores are clamped and summed, everything is sanitized.
import type { Agent } from './checkpoints.js';
import { checkCitations, citationNumbers, stripCitationNumbers, type RetrievedSource } from './citations.js';
import { scoreBand, type ReportSections, type ResearchReport, type SubScore, type SubScoreKey } from './contract.js';
import type { Depth } from './depth.js';
import { sanitizeDeep } from './sanitize.js';
import type { AgentAnalysis, Claim, Plan, ReportDraft } from './schemas.js';

export const SECTION_OF: Record<Agent, ResearchReport['missingSections'][number]['section']> = {
  market: 'market',
  competitor: 'competitors',
  customer: 'customers',
};

export const SUB_SCORE_LABELS: Record<SubScoreKey, string> = {
  demand: 'Demand and market size',
  growth: 'Growth and timing',
  whitespace: 'Competitive whitespace',
  pain: 'Customer pain severity',
  willingness_to_pay: 'Willingness to pay',
};

export type AssembleInput = {
  idea: string;
  depth: Depth;
  sandbox: boolean;
  plan: Plan;
  analyses: Partial<AgentAnalysis>;
  failures: Partial<Record<Agent, string>>;
  draft: ReportDraft;
  sources: RetrievedSource[];
};

export type Assembled = { report: ResearchReport; citationsRemoved: number; figuresFlagged: number };

function cited(text: string, ids: string[]): string {
  return `${text.trim()}${ids.length ? ' ' : ''}${ids.map((id) => `[${id}]`).join('')}`;
}
const claim = (c: Claim) => cited(c.text, c.sources);

export function clampScore(n: number): number {
  return Number.isFinite(n) ? Math.max(0, Math.min(20, Math.round(n))) : 0;
}

export function assembleReport(input: AssembleInput): Assembled {
  const { plan, analyses, draft } = input;
  // Every prose field goes into one list in reading order, so [n] numbers follow first use through the report.
  const texts: string[] = [];
  const put = (t: string) => texts.push(t) - 1;
  const putAll = (cs: Claim[]) => cs.map((c) => put(claim(c)));

  const summary = put(draft.summary);
  const findings = putAll(draft.keyFindings.slice(0, 5));
  const m = analyses.market;
  const market = m && {
    overview: put(claim(m.overview)),
    size: putAll(m.size),
    growth: putAll(m.growth),
    trends: putAll(m.trends),
  };
  const c = analyses.competitor;
  const competitors = c && {
    competitors: c.competitors.map((x) => ({
      name: x.name,
      positioning: put(cited(x.positioning, x.sources)),
      pricing: x.pricing === null || x.pricing.trim() === '' ? null : put(cited(x.pricing, x.sources)),
    })),
    gaps: putAll(c.gaps),
  };
  const u = analyses.customer;
  const customers = u && {
    segments: u.segments.map((s) => ({ name: s.name, description: put(cited(s.description, s.sources)) })),
    pains: putAll(u.pains),
    willingnessToPay: putAll(u.willingnessToPay),
  };
  const keys = Object.keys(SUB_SCORE_LABELS) as SubScoreKey[];
  const rationales = keys.map((k) => put(cited(draft.subScores[k].rationale, draft.subScores[k].sources)));
  const recommendations = draft.recommendations.map((r) => put(r));

  const checked = checkCitations(texts, input.sources);
  const t = (i: number) => checked.texts[i] ?? '';

  const subScores: SubScore[] = keys.map((key, i) => ({
    key,
    label: SUB_SCORE_LABELS[key],
    score: clampScore(draft.subScores[key].score),
    rationale: t(rationales[i] ?? -1),
  }));
  const total = subScores.reduce((s, x) => s + x.score, 0);

  const sections: ReportSections = {
    plan: {
      product: plan.product,
      targetCustomer: plan.targetCustomer,
      problem: plan.problem,
      category: plan.category,
    },
    queries: (['market', 'competitor', 'customer'] as const).map((agent) => ({ agent, query: plan.queries[agent] })),
    market: market && {
      overview: t(market.overview),
      size: market.size.map(t),
      growth: market.growth.map(t),
      trends: market.trends.map(t),
    },
    competitors: competitors && {
      competitors: competitors.competitors.map((x) => ({
        name: x.name,
        positioning: t(x.positioning),
        pricing: x.pricing === null ? null : t(x.pricing),
      })),
      gaps: competitors.gaps.map(t),
    },
    customers: customers && {
      segments: customers.segments.map((s) => ({ name: s.name, description: t(s.description) })),
      pains: customers.pains.map(t),
      willingnessToPay: customers.willingnessToPay.map(t),
    },
    recommendations: recommendations.map(t),
    flaggedFigures: checked.figuresFlagged.map((f) => ({ figure: f.figure, sentence: f.sentence })),
  };

  const report: ResearchReport = {
    title: draft.title.trim() || `PMF research: ${plan.product}`,
    idea: input.idea,
    depth: input.depth,
    sandbox: input.sandbox,
    summary: t(summary),
    keyFindings: findings.map((i) => ({ text: stripCitationNumbers(t(i)), citations: citationNumbers(t(i)) })),
    score: { total, band: scoreBand(total), confidence: draft.confidence, subScores },
    missingSections: (Object.entries(input.failures) as [Agent, string][]).map(([agent, reason]) => ({
      section: SECTION_OF[agent],
      reason,
    })),
    citations: checked.citations,
    sections,
  };
  return {
    report: sanitizeDeep(report),
    citationsRemoved: checked.citationsRemoved,
    figuresFlagged: checked.figuresFlagged.length,
  };
}
