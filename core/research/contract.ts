// What the research engine promises the rest of the product. The engine (core/research) implements
// ResearchEngine; the job layer (core/jobs) and every surface read ResearchResult.
import type { CheckpointId } from './checkpoints.js';
import type { Depth } from './depth.js';

export type ResearchInput = {
  /** Stable per task: the LangGraph thread id, so a resumed run continues where the last one stopped. */
  runId: string;
  idea: string;
  depth: Depth;
};

export type ResearchHooks = {
  /** Called once per engine checkpoint (`plan` … `report`) as it completes. */
  onCheckpoint?: (id: CheckpointId, at: Date) => void | Promise<void>;
  signal?: AbortSignal;
};

export type SubScoreKey = 'demand' | 'growth' | 'whitespace' | 'pain' | 'willingness_to_pay';
/** `insufficient evidence` replaces the band when the evidence rules say the score means little (decision 037). */
export type ScoreBand = 'weak' | 'moderate' | 'strong' | 'exceptional' | 'insufficient evidence';
export type Confidence = 'low' | 'medium' | 'high';

/** How much a sub-score rests on: the analyses' supported claims for that dimension (decision 037). */
export type EvidenceLevel = 'none' | 'thin' | 'solid';
export type DimensionEvidence = {
  /** Claims with at least one surviving citation and no flagged figure. */
  claims: number;
  /** Distinct sources those claims cite. */
  sources: number;
  level: EvidenceLevel;
  /** The highest score this evidence allows, and what the model proposed before the cap. */
  cap: number;
  modelScore: number;
};

export type SubScore = {
  key: SubScoreKey;
  label: string;
  score: number;
  rationale: string;
  /** Absent on reports stored before the evidence rules. */
  evidence?: DimensionEvidence;
};

export type Citation = { n: number; url: string; title: string; domain: string };

export type Finding = { text: string; citations: number[] };

export type ResearchUsage = {
  tavilyCalls: number;
  tavilyCredits: number;
  cacheHits: number;
  promptTokens: number;
  completionTokens: number;
  /** True when a server sent no `usage` and some token counts are estimates (characters / 4); absent in older reports. */
  tokensEstimated?: boolean;
  durationMs: number;
  sourcesUsed: number;
  citationsRemoved: number;
  figuresFlagged: number;
  perNode: Record<string, { promptTokens: number; completionTokens: number; ms: number }>;
};

export type ResearchReport = {
  title: string;
  idea: string;
  depth: Depth;
  /** True when sources and analysis came from the sandbox providers: every surface must say so. */
  sandbox: boolean;
  summary: string;
  keyFindings: Finding[];
  score: {
    total: number;
    band: ScoreBand;
    confidence: Confidence;
    subScores: SubScore[];
    /** What the model said before the evidence rules (absent on older reports). */
    modelConfidence?: Confidence;
    /** Distinct sources cited by supported claims across all dimensions (absent on older reports). */
    evidenceSources?: number;
  };
  /** Sections that could not be written (an agent failed for good), with the reason shown to the reader. */
  missingSections: { section: 'market' | 'competitors' | 'customers'; reason: string }[];
  citations: Citation[];
  /** The body of the report (added by the engine; optional so older stored reports still type-check). Prose carries `[n]`. */
  sections?: ReportSections;
};

export type ReportSections = {
  plan: { product: string; targetCustomer: string; problem: string; category: string };
  queries: { agent: 'market' | 'competitor' | 'customer'; query: string }[];
  market?: { overview: string; size: string[]; growth: string[]; trends: string[] };
  competitors?: { competitors: { name: string; positioning: string; pricing: string | null }[]; gaps: string[] };
  customers?: { segments: { name: string; description: string }[]; pains: string[]; willingnessToPay: string[] };
  recommendations: string[];
  /**
   * Figures marked with † in the text: the cited source's extracted text does not contain them
   * (`not_in_source`), or every citation the sentence had pointed at nothing retrieved (`citation_removed`).
   */
  flaggedFigures: { figure: string; sentence: string; reason?: 'not_in_source' | 'citation_removed' }[];
};

export type ResearchResult = { report: ResearchReport; markdown: string; usage: ResearchUsage };

export interface ResearchEngine {
  run(input: ResearchInput, hooks?: ResearchHooks): Promise<ResearchResult>;
  /**
   * Drops what the engine keeps so that a run with this id can resume (its checkpoints). Call it once the
   * run's outcome and report are stored elsewhere; engines that keep nothing leave it out.
   */
  forget?(runId: string): Promise<void>;
}

/** Why a provider said no, the same words for the LLM and Tavily (decision 025). */
export type ProviderFailureKind =
  'bad_credentials' | 'unknown_model' | 'context_too_long' | 'quota_exhausted' | 'rate_limited' | 'transient';

export type ProviderFailure = {
  provider: 'llm' | 'tavily';
  kind: ProviderFailureKind;
  /** The setting an admin must change (`OPENAI_API_KEY`, `OPENAI_MODEL`, `TAVILY_API_KEY`, the Tavily plan). */
  setting?: string;
};

/**
 * A run that cannot succeed: `userMessage` is safe to show in Slack or Discord; `retryable` tells the job
 * layer; `failure`, when a provider refused, says which and why.
 */
export class ResearchError extends Error {
  constructor(
    readonly userMessage: string,
    readonly detail: string,
    readonly retryable: boolean,
    readonly failure?: ProviderFailure,
  ) {
    super(detail);
    this.name = 'ResearchError';
  }
}

/** A refusal only an admin can fix: retrying or asking the user to try again is pointless. */
export function needsAdmin(failure: ProviderFailure | undefined): boolean {
  return failure !== undefined && ['bad_credentials', 'unknown_model', 'quota_exhausted'].includes(failure.kind);
}

export function scoreBand(total: number): ScoreBand {
  if (total >= 80) return 'exceptional';
  if (total >= 60) return 'strong';
  if (total >= 40) return 'moderate';
  return 'weak';
}
