import { Counter, Histogram, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

// One registry per process; every module records into these, each process serves them on /metrics.
export const registry = new Registry();
collectDefaultMetrics({ register: registry });

export const metrics = {
  researches: new Counter({
    name: 'pmf_researches_total',
    help: 'Researches by final status and depth',
    labelNames: ['status', 'depth'] as const,
    registers: [registry],
  }),
  checkpointSeconds: new Histogram({
    name: 'pmf_checkpoint_seconds',
    help: 'Time from task start to each checkpoint',
    labelNames: ['checkpoint'] as const,
    buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300],
    registers: [registry],
  }),
  providerSeconds: new Histogram({
    name: 'pmf_provider_seconds',
    help: 'Provider call latency',
    labelNames: ['provider', 'operation'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    registers: [registry],
  }),
  providerErrors: new Counter({
    name: 'pmf_provider_errors_total',
    help: 'Provider call errors by kind',
    labelNames: ['provider', 'kind'] as const,
    registers: [registry],
  }),
  researchSeconds: new Histogram({
    name: 'pmf_research_duration_seconds',
    help: 'Research run time of each delivered report (ResearchUsage.durationMs), by depth',
    labelNames: ['depth'] as const,
    buckets: [10, 20, 30, 45, 60, 90, 120, 180, 240, 300, 600],
    registers: [registry],
  }),
  reportTavilyCredits: new Histogram({
    name: 'pmf_report_tavily_credits',
    help: 'Tavily credits one report spent (cache hits spend none), by depth',
    labelNames: ['depth'] as const,
    buckets: [0, 1, 2, 4, 6, 9, 12, 15, 18, 24],
    registers: [registry],
  }),
  reportLlmTokens: new Histogram({
    name: 'pmf_report_llm_tokens',
    help: 'LLM tokens (prompt + completion) one report spent, by depth',
    labelNames: ['depth'] as const,
    buckets: [1_000, 5_000, 10_000, 20_000, 40_000, 80_000, 160_000, 320_000],
    registers: [registry],
  }),
  credits: new Counter({
    name: 'pmf_credits_total',
    help: 'Credits moved by the ledger',
    labelNames: ['type'] as const,
    registers: [registry],
  }),
  platformApiErrors: new Counter({
    name: 'pmf_platform_api_errors_total',
    help: 'Slack/Discord API errors, 429s included',
    labelNames: ['platform', 'method', 'code'] as const,
    registers: [registry],
  }),
  queueDepth: new Gauge({ name: 'pmf_queue_depth', help: 'Research jobs waiting to run', registers: [registry] }),
  ackSeconds: new Histogram({
    name: 'pmf_ack_seconds',
    help: 'From a Slack command or Discord interaction reaching its handler to its acknowledgement (deadline 3 s)',
    labelNames: ['platform'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3],
    registers: [registry],
  }),
  ledgerMismatched: new Gauge({
    name: 'pmf_ledger_balances_mismatched',
    help: "This month's balances that differ from their last transaction's balance_after (0 = invariant holds)",
    registers: [registry],
  }),
  workspacesAtZero: new Gauge({
    name: 'pmf_workspaces_balance_zero',
    help: 'Active workspaces whose balance this month is 0 credits',
    registers: [registry],
  }),
  ledgerCheckedAt: new Gauge({
    name: 'pmf_ledger_gauges_timestamp_seconds',
    help: 'When this process last computed the ledger gauges (Unix time)',
    registers: [registry],
  }),
  pickupSeconds: new Histogram({
    name: 'pmf_job_pickup_seconds',
    help: 'Enqueue to handler start',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5],
    registers: [registry],
  }),
};
