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
  pickupSeconds: new Histogram({
    name: 'pmf_job_pickup_seconds',
    help: 'Enqueue to handler start',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5],
    registers: [registry],
  }),
};
