// Composition root of the console: storage, the ledger, the task store and (for submit/cancel/retry) the job
// layer, as the ConsoleServices the routes receive through Remix's load context.
import type { Env } from '../core/config/index.js';
import { providerMode } from '../core/config/index.js';
import { CreditLedger } from '../core/credits/index.js';
import { createJobs } from '../core/jobs/index.js';
import type { Logger } from '../core/observability/logger.js';
import type { ResearchEngine } from '../core/research/contract.js';
import { openStorage, type Storage } from '../core/storage/index.js';
import { TaskStore } from '../core/tasks/store.js';
import type { ConsoleServices, JobsPort } from './app/lib/services.server.js';

// The console enqueues researches; workers run them. Its job layer is never started as a worker, so the
// engine it is given is never called.
const notInThisProcess: ResearchEngine = {
  run: () => Promise.reject(new Error('researches run in the worker process, not in the console')),
};

function sandboxOn(env: Env): boolean {
  try {
    return providerMode(env) === 'sandbox';
  } catch {
    return false;
  }
}

export type ConsoleRuntime = { services: ConsoleServices; storage: Storage; close(): Promise<void> };

export async function createConsoleRuntime(env: Env, logger: Logger, opts: { jobs?: JobsPort; storage?: Storage } = {}): Promise<ConsoleRuntime> {
  const ownStorage = !opts.storage;
  const storage = opts.storage ?? (await openStorage(env, 'pmf-console'));
  const ledger = new CreditLedger(storage.pg, { defaultAllowance: env.DEFAULT_MONTHLY_ALLOWANCE });
  // Indexes are the job layer's to create (its ready step); a second createIndexes of the same batch makes
  // FerretDB 1.24 drop the connection, so the console does not repeat it.
  const tasks = new TaskStore(storage.mongo);
  let jobs = opts.jobs;
  let stopJobs: (() => Promise<void>) | undefined;
  if (!jobs) {
    try {
      const created = createJobs({ env, storage, ledger, engine: notInThisProcess, deliveries: () => undefined, logger });
      jobs = created;
      stopJobs = () => created.stop();
    } catch (err) {
      logger.warn({ err }, 'job layer unavailable: playground, cancel and retry are disabled');
    }
  }
  const services: ConsoleServices = {
    db: storage.pg,
    redis: storage.redis,
    mongo: storage.mongo,
    ledger,
    tasks,
    jobs,
    origin: env.CONSOLE_ORIGIN,
    sandbox: sandboxOn(env),
    now: () => new Date(),
  };
  return {
    services,
    storage,
    async close() {
      await stopJobs?.().catch(() => undefined);
      if (ownStorage) await storage.close();
    },
  };
}
