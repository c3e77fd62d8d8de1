// Evidence decides the verdict, not the model's mood (decision 037). Pure rules on what the citation checker
// left standing: how many supported claims each of the five dimensions has and how many distinct sources
// they cite decide a cap on each sub-score, the report's confidence, and whether the score means anything.
import { FLAG_MARK } from './citations.js';
import {
  scoreBand,
  type Confidence,
  type DimensionEvidence,
  type EvidenceLevel,
  type ScoreBand,
  type SubScoreKey,
} from './contract.js';

export const SUB_SCORE_KEYS: readonly SubScoreKey[] = ['demand', 'growth', 'whitespace', 'pain', 'willingness_to_pay'];

/** The thresholds, in one place so that the Methodology text and the code cannot drift apart. */
export const EVIDENCE_RULES = {
  /** A dimension is `solid` with at least this many supported claims citing at least this many distinct sources. */
  solidClaims: 2,
  solidSources: 2,
  /** The highest sub-score (of 20) each level allows. */
  cap: { none: 5, thin: 12, solid: 20 } satisfies Record<EvidenceLevel, number>,
  /** Below either, the report says "insufficient evidence" instead of a band. */
  minDimensions: 3,
  minSources: 3,
} as const;

/** A claim that counts as evidence: it kept at least one citation and none of its figures is flagged. */
export type SupportedClaim = { citations: number[] };

export function evidenceLevel(claims: number, sources: number): EvidenceLevel {
  if (claims === 0) return 'none';
  return claims >= EVIDENCE_RULES.solidClaims && sources >= EVIDENCE_RULES.solidSources ? 'solid' : 'thin';
}

export function assessDimension(claims: SupportedClaim[], modelScore: number): DimensionEvidence {
  const sources = new Set(claims.flatMap((c) => c.citations)).size;
  const level = evidenceLevel(claims.length, sources);
  return { claims: claims.length, sources, level, cap: EVIDENCE_RULES.cap[level], modelScore };
}

/** high: every dimension solid; medium: at least three solid and none without evidence; low otherwise. */
export function evidenceConfidence(levels: EvidenceLevel[]): Confidence {
  const solid = levels.filter((l) => l === 'solid').length;
  if (solid === levels.length) return 'high';
  if (solid >= 3 && !levels.includes('none')) return 'medium';
  return 'low';
}

const RANK: Record<Confidence, number> = { low: 0, medium: 1, high: 2 };

/** The lower of two confidences: the model may be more cautious than the evidence, never bolder. */
export function lowerConfidence(a: Confidence, b: Confidence): Confidence {
  return RANK[a] <= RANK[b] ? a : b;
}

export function isInsufficient(levels: EvidenceLevel[], distinctSources: number): boolean {
  const withEvidence = levels.filter((l) => l !== 'none').length;
  return withEvidence < EVIDENCE_RULES.minDimensions || distinctSources < EVIDENCE_RULES.minSources;
}

export type VerdictInput = {
  /** The model's sub-scores, already clamped to 0–20. */
  modelScores: Record<SubScoreKey, number>;
  modelConfidence: Confidence;
  claims: Record<SubScoreKey, SupportedClaim[]>;
};

export type Verdict = {
  scores: Record<SubScoreKey, number>;
  evidence: Record<SubScoreKey, DimensionEvidence>;
  total: number;
  band: ScoreBand;
  confidence: Confidence;
  /** Distinct sources cited by supported claims across all five dimensions. */
  sources: number;
};

export function decideVerdict(input: VerdictInput): Verdict {
  const evidence = Object.fromEntries(
    SUB_SCORE_KEYS.map((k) => [k, assessDimension(input.claims[k], input.modelScores[k])]),
  ) as Record<SubScoreKey, DimensionEvidence>;
  const scores = Object.fromEntries(
    SUB_SCORE_KEYS.map((k) => [k, Math.min(input.modelScores[k], evidence[k].cap)]),
  ) as Record<SubScoreKey, number>;
  const total = SUB_SCORE_KEYS.reduce((sum, k) => sum + scores[k], 0);
  const levels = SUB_SCORE_KEYS.map((k) => evidence[k].level);
  const sources = new Set(SUB_SCORE_KEYS.flatMap((k) => input.claims[k].flatMap((c) => c.citations))).size;
  const insufficient = isInsufficient(levels, sources);
  return {
    scores,
    evidence,
    total,
    band: insufficient ? 'insufficient evidence' : scoreBand(total),
    confidence: insufficient ? 'low' : lowerConfidence(evidenceConfidence(levels), input.modelConfidence),
    sources,
  };
}

/** The rules in words, for the report's Methodology: generated from EVIDENCE_RULES so they cannot drift. */
export function evidenceRulesText(): string[] {
  const r = EVIDENCE_RULES;
  return [
    `A claim counts as evidence when it keeps at least one citation to a retrieved page and none of its figures is flagged ${FLAG_MARK}.`,
    `Per dimension: no such claim caps the sub-score at ${r.cap.none}/20; fewer than ${r.solidClaims} claims or fewer than ${r.solidSources} distinct sources (thin evidence) caps it at ${r.cap.thin}/20; otherwise it is not capped.`,
    `Confidence is high when all five dimensions have solid evidence, medium when at least three do and every dimension has some, low otherwise; the model's own confidence can only lower it.`,
    `With evidence for fewer than ${r.minDimensions} dimensions, or fewer than ${r.minSources} distinct sources in all, the report says "insufficient evidence" instead of a band.`,
  ];
}
