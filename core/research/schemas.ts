// The structured outputs the LLM must return (zod, validated by the provider). Every claim carries the
// ids of the sources it rests on; the citation checker later turns ids into [n] and drops unknown ones.
// Scores are also clamped in code: not every OpenAI-compatible server honours minimum/maximum.
import { z } from 'zod';
import type { Agent } from './checkpoints.js';

export const PlanSchema = z.object({
  product: z.string().describe('The product, restated in one sentence'),
  targetCustomer: z.string().describe('Who buys or uses it'),
  problem: z.string().describe('The problem it solves'),
  category: z.string().describe('The market category, in a few words'),
  queries: z
    .object({
      market: z.string().describe('One web search query about market size, growth and trends'),
      competitor: z.string().describe('One web search query about competitors, alternatives and their pricing'),
      customer: z.string().describe('One web search query about customer pains, reviews and willingness to pay'),
    })
    .describe('Exactly one search query per research agent'),
});
export type Plan = z.infer<typeof PlanSchema>;

const sources = z.array(z.string()).describe('Ids of the sources (e.g. "S3") that support this; never a URL');
const ClaimSchema = z.object({ text: z.string(), sources });
export type Claim = z.infer<typeof ClaimSchema>;

const MarketAnalysisSchema = z.object({
  overview: ClaimSchema.describe('Two or three sentences on the market'),
  size: z.array(ClaimSchema).describe('Market size figures, as stated by the sources'),
  growth: z.array(ClaimSchema).describe('Growth rates and timing signals'),
  trends: z.array(ClaimSchema).describe('Trends that help or hurt the product'),
});

export const CompetitorAnalysisSchema = z.object({
  competitors: z.array(
    z.object({
      name: z.string(),
      positioning: z.string(),
      pricing: z.string().nullable().describe('Pricing as a source states it, or null when no source says'),
      sources,
    }),
  ),
  gaps: z.array(ClaimSchema).describe('Gaps and whitespace the competitors leave open'),
});

const CustomerAnalysisSchema = z.object({
  segments: z.array(z.object({ name: z.string(), description: z.string(), sources })),
  pains: z.array(ClaimSchema),
  willingnessToPay: z.array(ClaimSchema),
});

export type MarketAnalysis = z.infer<typeof MarketAnalysisSchema>;
export type CompetitorAnalysis = z.infer<typeof CompetitorAnalysisSchema>;
export type CustomerAnalysis = z.infer<typeof CustomerAnalysisSchema>;
export type AgentAnalysis = { market: MarketAnalysis; competitor: CompetitorAnalysis; customer: CustomerAnalysis };

export const ANALYSIS_SCHEMAS = {
  market: MarketAnalysisSchema,
  competitor: CompetitorAnalysisSchema,
  customer: CustomerAnalysisSchema,
} as const satisfies Record<Agent, z.ZodTypeAny>;

const subScore = z.object({
  score: z.number().int().min(0).max(20).describe('0 to 20'),
  rationale: z.string().describe('One paragraph on the evidence'),
  sources,
});

export const ReportDraftSchema = z.object({
  title: z.string(),
  summary: z.string().describe('Executive summary, 3–5 sentences, citing evidence inline as [S3]'),
  keyFindings: z.array(ClaimSchema).describe('The three most important findings'),
  subScores: z.object({
    demand: subScore.describe('Demand and market size'),
    growth: subScore.describe('Growth and timing'),
    whitespace: subScore.describe('Competitive whitespace'),
    pain: subScore.describe('Customer pain severity'),
    willingness_to_pay: subScore.describe('Willingness to pay'),
  }),
  confidence: z.enum(['low', 'medium', 'high']).describe('From the amount and quality of the evidence'),
  recommendations: z
    .array(z.string())
    .describe('Three to five strategic recommendations, citing evidence inline as [S3]'),
});
export type ReportDraft = z.infer<typeof ReportDraftSchema>;
