// A research worker in a process of its own, for the crash test (which SIGKILLs it) and the benchmark.
// Configured by environment: the storage URLs, WORKER_DB (Mongo database), WORKER_TUNING and WORKER_ENV
// (JSON), WORKER_ENGINE=fake|sandbox (+ SANDBOX_TAVILY_URL, SANDBOX_OPENAI_URL, WORKER_CACHE_PREFIX).
// Prints `ready` once it takes jobs. Every delivery call is recorded in the `delivery_log` collection.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { CreditLedger } from '../../core/credits/index.js';
import { createLogger } from '../../core/observability/logger.js';
import type { ResearchEngine } from '../../core/research/contract.js';
import { connectMongo, createPostgres, createRedis } from '../../core/storage/index.js';
import { sandboxEngine } from './research.js';
import { borrowedStorage } from './storage.js';
import { createResearchWorker } from '../../core/jobs/index.js';
import { FakeEngine, RecordingDelivery, TEST_JOBS_ENV, type DeliveryCall } from './jobs-fixtures.js';
import type { JobsEnv, JobsTuning } from '../../core/jobs/types.js';

const mongo = await connectMongo(process.env.MONGO_URL!, process.env.WORKER_DB!);
const redis = createRedis(process.env.REDIS_URL!, 'test-worker');
const pg = createPostgres(process.env.DATABASE_URL!, { max: 5 });
const tuning = JSON.parse(process.env.WORKER_TUNING ?? '{}') as Partial<JobsTuning>;
const env: JobsEnv = { ...TEST_JOBS_ENV, ...(JSON.parse(process.env.WORKER_ENV ?? '{}') as Partial<JobsEnv>) };

function engineFromEnv(): ResearchEngine {
  if (process.env.WORKER_ENGINE !== 'sandbox')
    return new FakeEngine({ stepMs: Number(process.env.WORKER_STEP_MS ?? 100) });
  const sandbox = { tavilyUrl: process.env.SANDBOX_TAVILY_URL!, openaiUrl: process.env.SANDBOX_OPENAI_URL! };
  return sandboxEngine(sandbox, redis, pg, {
    cachePrefix: process.env.WORKER_CACHE_PREFIX ?? 'test:worker:',
    timeoutMs: 120_000,
  });
}

const delivery = new RecordingDelivery(mongo.db.collection<DeliveryCall>('delivery_log'));
const jobs = createResearchWorker({
  env,
  storage: borrowedStorage({ pg, mongo, redis }),
  ledger: new CreditLedger(pg),
  engine: engineFromEnv(),
  deliveries: () => delivery,
  logger: createLogger('test-worker', process.env.JOBS_TEST_LOG ?? 'silent'),
  tuning,
});
// WORKER_METRICS=1: measure this process's event-loop delay and peak RSS, printed as `metrics {…}` on SIGTERM.
const lag = monitorEventLoopDelay({ resolution: 10 });
// memoryUsage.rss() alone: the full memoryUsage() walks the heap spaces, which cost the measured worker 290 ms
// of CPU over a 100-research benchmark.
let peakRss = process.memoryUsage.rss();
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 100);
if (process.env.WORKER_METRICS) lag.enable();

await jobs.startWorker();
process.stdout.write('ready\n');

process.on('SIGTERM', () => {
  lag.disable();
  clearInterval(sampler);
  if (process.env.WORKER_METRICS) {
    const metrics = { lagP99Ms: lag.percentile(99) / 1e6, lagMaxMs: lag.max / 1e6, peakRssMb: peakRss / 2 ** 20 };
    process.stdout.write(`metrics ${JSON.stringify(metrics)}\n`);
  }
  void jobs.stop().finally(() => process.exit(0));
});
