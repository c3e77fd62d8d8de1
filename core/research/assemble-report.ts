// From the agents' analyses and the report writer's draft to the ResearchReport every surface reads.
// Pure: filler is dropped, citation ids become [n] through checkCitations, only cited claims stay in the
// evidence lists, the evidence rules decide caps, confidence and band (decision 037), everything is sanitized.
import type { Agent } from './checkpoints.js';
import {
  checkCitations,
  citationNumbers,
  FLAG_MARK,
  stripCitationNumbers,
  withoutCitations,
  type RetrievedSource,
} from './citations.js';
import type { ReportSections, ResearchReport, SubScore, SubScoreKey } from './contract.js';
import type { Depth } from './depth.js';
import { decideVerdict, SUB_SCORE_KEYS, type SupportedClaim } from './evidence.js';
import { defangUrls } from './markdown-safe.js';
import { sanitizeDeep } from './sanitize.js';
import type { AgentAnalysis, Claim, Plan, ReportDraft } from './schemas.js';

const SECTION_OF: Record<Agent, ResearchReport['missingSections'][number]['section']> = {
  market: 'market',
  competitor: 'competitors',
  customer: 'customers',
};

const SUB_SCORE_LABELS: Record<SubScoreKey, string> = {
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

function clampScore(n: number): number {
  return Number.isFinite(n) ? Math.max(0, Math.min(20, Math.round(n))) : 0;
}

// What terse models write instead of leaving a field empty. Compared after markers, punctuation and
// "by the sources" are taken off and the case is folded.
const FILLER = new Set([
  '',
  'n/a',
  'na',
  'n a',
  'none',
  'null',
  'nil',
  'unknown',
  'tbd',
  'nothing',
  'not available',
  'not applicable',
  'unavailable',
  'no data',
  'no data available',
  'no information',
  'no information available',
  'insufficient data',
  'insufficient information',
  'not found',
  'none found',
  'no evidence',
  'no sources',
  'not specified',
  'not stated',
  'not mentioned',
  'not provided',
  'not disclosed',
  'undisclosed',
  'not public',
  'not publicly available',
]);

/** True for "n/a", "None.", "-", "Not stated by the sources." and their like: text that says nothing. */
export function isFiller(text: string): boolean {
  const core = withoutCitations(text)
    .toLowerCase()
    .replace(/\b(?:by|in|from) the (?:sources?|pages?|data|analysis|analyses)\b/g, ' ')
    .replace(/[^\p{L}\p{N}/]+/gu, ' ')
    .trim();
  return FILLER.has(core);
}

/** A text the checker left with at least one citation, some words, and no flagged figure. */
function supported(text: string): boolean {
  return citationNumbers(text).length > 0 && stripCitationNumbers(text).length > 0 && !text.includes(FLAG_MARK);
}

export function assembleReport(input: AssembleInput): Assembled {
  const { plan, analyses, draft } = input;
  // Every prose field goes into one list in reading order, so [n] numbers follow first use through the report.
  // A text that is evidence for a dimension of the score remembers which.
  const texts: string[] = [];
  const dimensionOf: (SubScoreKey | undefined)[] = [];
  const put = (t: string, dimension?: SubScoreKey) => (dimensionOf.push(dimension), texts.push(t) - 1);
  const claims = (cs: Claim[], dimension?: SubScoreKey) =>
    cs.filter((c) => !isFiller(c.text)).map((c) => put(claim(c), dimension));
  const prose = (text: string) => put(isFiller(text) ? '' : text);

  const summary = prose(draft.summary);
  const findings = claims(draft.keyFindings.slice(0, 5));
  const m = analyses.market;
  const market = m && {
    overview: claims([m.overview], 'demand'),
    size: claims(m.size, 'demand'),
    growth: claims(m.growth, 'growth'),
    trends: claims(m.trends, 'growth'),
  };
  const c = analyses.competitor;
  const competitors = c && {
    competitors: c.competitors
      .filter((x) => !isFiller(x.name))
      .map((x) => ({
        name: withoutCitations(x.name),
        positioning: put(isFiller(x.positioning) ? '' : cited(x.positioning, x.sources), 'whitespace'),
        pricing:
          x.pricing === null || isFiller(x.pricing) ? null : put(cited(x.pricing, x.sources), 'willingness_to_pay'),
      })),
    gaps: claims(c.gaps, 'whitespace'),
  };
  const u = analyses.customer;
  const customers = u && {
    segments: u.segments
      .filter((s) => !isFiller(s.name) || !isFiller(s.description))
      .map((s) => ({ name: withoutCitations(s.name), description: put(cited(s.description, s.sources), 'pain') })),
    pains: claims(u.pains, 'pain'),
    willingnessToPay: claims(u.willingnessToPay, 'willingness_to_pay'),
  };
  const rationales = SUB_SCORE_KEYS.map((k) =>
    put(isFiller(draft.subScores[k].rationale) ? '' : cited(draft.subScores[k].rationale, draft.subScores[k].sources)),
  );
  const recommendations = draft.recommendations.filter((r) => !isFiller(r)).map((r) => put(r));

  const checked = checkCitations(texts, input.sources);
  const t = (i: number) => checked.texts[i] ?? '';
  // Evidence lists keep only what still cites a retrieved page; prose (summary, rationales, recommendations)
  // stays, its unsupported figures flagged.
  const kept = new Set<number>();
  const keep = (i: number) => (kept.add(i), t(i));
  const citedOnly = (indices: number[]) => indices.filter((i) => citationNumbers(t(i)).length > 0).map(keep);

  const claimsFor = Object.fromEntries(SUB_SCORE_KEYS.map((k) => [k, [] as SupportedClaim[]])) as Record<
    SubScoreKey,
    SupportedClaim[]
  >;

  const sections: ReportSections = {
    // The plan was written before any source existed: no marker or URL in it can stand (decision 038). The
    // queries are shown as they were searched, their URLs defanged.
    plan: {
      product: withoutCitations(plan.product),
      targetCustomer: withoutCitations(plan.targetCustomer),
      problem: withoutCitations(plan.problem),
      category: withoutCitations(plan.category),
    },
    queries: (['market', 'competitor', 'customer'] as const).map((agent) => ({
      agent,
      query: defangUrls(plan.queries[agent]),
    })),
    market: market && {
      overview: citedOnly(market.overview).join(' '),
      size: citedOnly(market.size),
      growth: citedOnly(market.growth),
      trends: citedOnly(market.trends),
    },
    competitors: competitors && {
      competitors: competitors.competitors
        .filter(
          (x) =>
            citationNumbers(t(x.positioning)).length > 0 ||
            (x.pricing !== null && citationNumbers(t(x.pricing)).length > 0),
        )
        .map((x) => ({
          name: x.name,
          positioning: keep(x.positioning),
          pricing: x.pricing === null || citationNumbers(t(x.pricing)).length === 0 ? null : keep(x.pricing),
        })),
      gaps: citedOnly(competitors.gaps),
    },
    customers: customers && {
      segments: customers.segments
        .filter((s) => citationNumbers(t(s.description)).length > 0)
        .map((s) => ({ name: s.name, description: keep(s.description) })),
      pains: citedOnly(customers.pains),
      willingnessToPay: citedOnly(customers.willingnessToPay),
    },
    recommendations: recommendations.map(keep),
    flaggedFigures: [],
  };
  const summaryText = keep(summary);
  const keyFindings = findings
    .filter((i) => citationNumbers(t(i)).length > 0)
    .map((i) => (kept.add(i), { text: stripCitationNumbers(t(i)), citations: citationNumbers(t(i)) }));
  const rationaleTexts = rationales.map(keep);

  for (const i of kept) {
    const dimension = dimensionOf[i];
    if (dimension && supported(t(i))) claimsFor[dimension].push({ citations: citationNumbers(t(i)) });
  }
  const flagged = checked.figuresFlagged.filter((f) => kept.has(f.text));
  sections.flaggedFigures = flagged.map((f) => ({ figure: f.figure, sentence: f.sentence, reason: f.reason }));

  const verdict = decideVerdict({
    modelScores: Object.fromEntries(SUB_SCORE_KEYS.map((k) => [k, clampScore(draft.subScores[k].score)])) as Record<
      SubScoreKey,
      number
    >,
    modelConfidence: draft.confidence,
    claims: claimsFor,
  });
  const subScores: SubScore[] = SUB_SCORE_KEYS.map((key, i) => ({
    key,
    label: SUB_SCORE_LABELS[key],
    score: verdict.scores[key],
    rationale: rationaleTexts[i] ?? '',
    evidence: verdict.evidence[key],
  }));

  const title = withoutCitations(draft.title);
  const report: ResearchReport = {
    title: isFiller(title) ? `PMF research: ${withoutCitations(plan.product)}` : title,
    idea: input.idea,
    depth: input.depth,
    sandbox: input.sandbox,
    summary: summaryText,
    keyFindings,
    score: {
      total: verdict.total,
      band: verdict.band,
      confidence: verdict.confidence,
      subScores,
      modelConfidence: draft.confidence,
      evidenceSources: verdict.sources,
    },
    missingSections: (Object.entries(input.failures) as [Agent, string][]).map(([agent, reason]) => ({
      section: SECTION_OF[agent],
      reason: defangUrls(reason),
    })),
    citations: checked.citations.map((x) => ({ ...x, title: defangUrls(x.title) })),
    sections,
  };
  // A citation's URL stays exactly as Tavily returned it (it is the one link allowed): every surface encodes it
  // where it builds a link (markdownLink here), and sanitizing would turn it into another URL.
  const safe = sanitizeDeep(report);
  safe.citations = safe.citations.map((x, i) => ({ ...x, url: checked.citations[i]?.url ?? x.url }));
  return {
    report: safe,
    citationsRemoved: checked.citationsRemoved,
    figuresFlagged: flagged.length,
  };
}
