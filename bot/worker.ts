// The worker process: runs research jobs and delivers them to Slack, Discord or the console.
import { ConfigError, loadConfigOrExit } from '../core/config/index.js';
import { CreditLedger } from '../core/credits/index.js';
import { createResearchWorker } from '../core/jobs/index.js';
import { watchLedger } from '../core/observability/ledger-gauges.js';
import { createLogger } from '../core/observability/logger.js';
import { metrics } from '../core/observability/metrics.js';
import { startOpsServer } from '../core/observability/ops-server.js';
import { healthPort } from '../core/observability/ports.js';
import { createResearchEngine, startSandboxForEnv } from '../core/research/index.js';
import { openStorage } from '../core/storage/index.js';
import { createDeliveries } from './deliveries.js';
import { onShutdown } from './shutdown.js';

const env = loadConfigOrExit();
const logger = createLogger('worker', env.LOG_LEVEL);

// Each worker hosts its own sandbox on a free port, so several workers on one machine never collide.
const sandbox = await startSandboxForEnv({ ...env, SANDBOX_PORT: 0 }).catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(78);
  }
  throw err;
});
if (sandbox) logger.warn('SANDBOX MODE: research runs on synthetic providers; every report says so');

const storage = await openStorage(env, 'pmf-worker');
const ledger = new CreditLedger(storage.pg, { defaultAllowance: env.DEFAULT_MONTHLY_ALLOWANCE });
const engine = createResearchEngine({
  env,
  redis: storage.redis,
  pg: storage.pg,
  providerUrls: sandbox?.urls,
  logger,
});
const deliveries = createDeliveries(env, storage, logger);
const jobs = createResearchWorker({ env, storage, ledger, engine, deliveries: deliveries.resolve, logger });
await jobs.startWorker();
// Queue depth is read from the task store (shared by every worker) rather than counted in-process.
const queueGauge = setInterval(() => {
  jobs.tasks.search({ status: 'queued', pageSize: 1 }).then(
    (page) => metrics.queueDepth.set(page.total),
    (err: unknown) => logger.debug({ err }, 'queue depth not read'),
  );
}, 15_000).unref();
// Ledger invariant and zero-balance gauges for the alert rules (ops/prometheus/alerts.yml).
const stopLedgerGauges = watchLedger(storage.pg, logger);
const ops = env.HEALTH_PORT
  ? await startOpsServer({
      port: healthPort(env.HEALTH_PORT, process.env.NODE_APP_INSTANCE),
      health: () => storage.health(),
      metricsToken: env.METRICS_TOKEN,
    })
  : undefined;
logger.info(
  { concurrency: env.WORKER_CONCURRENCY, deliveries: deliveries.platforms, health: ops?.url },
  'worker started',
);

onShutdown(logger, [
  () => clearInterval(queueGauge),
  stopLedgerGauges,
  () => jobs.stop(),
  () => deliveries.close(),
  () => ops?.close(),
  () => sandbox?.sandbox.close(),
  () => storage.close(),
]);
