// The 17 checkpoints of a research, with the stable ids every surface (tests, console, Slack, Discord) uses.

export const CHECKPOINTS = [
  'received',
  'credits_reserved',
  'queued',
  'started',
  'plan',
  'queries',
  'market_search',
  'market_extract',
  'market_analysis',
  'competitor_search',
  'competitor_extract',
  'competitor_analysis',
  'customer_search',
  'customer_extract',
  'customer_analysis',
  'report',
  'delivered',
] as const;

export type CheckpointId = (typeof CHECKPOINTS)[number];

/** The checkpoints the research graph itself reports; the job layer owns the rest. */
export const ENGINE_CHECKPOINTS = CHECKPOINTS.slice(4, 16) as readonly CheckpointId[];

export const AGENTS = ['market', 'competitor', 'customer'] as const;
export type Agent = (typeof AGENTS)[number];

export const CHECKPOINT_LABELS: Record<CheckpointId, string> = {
  received: 'received',
  credits_reserved: 'credits',
  queued: 'queued',
  started: 'started',
  plan: 'plan',
  queries: 'queries',
  market_search: 'search',
  market_extract: 'extract',
  market_analysis: 'analysis',
  competitor_search: 'search',
  competitor_extract: 'extract',
  competitor_analysis: 'analysis',
  customer_search: 'search',
  customer_extract: 'extract',
  customer_analysis: 'analysis',
  report: 'report',
  delivered: 'delivered',
};

export function isCheckpointId(value: unknown): value is CheckpointId {
  return typeof value === 'string' && (CHECKPOINTS as readonly string[]).includes(value);
}
