// Composition root of the console: storage, the ledger, the task store and (for submit/cancel/retry) the job
// layer, as the ConsoleServices the routes receive through Remix's load context.
import type { Env } from '../core/config/index.js';
import { providerMode } from '../core/config/index.js';
import { CreditLedger } from '../core/credits/index.js';
import { createJobs } from '../core/jobs/index.js';
import type { Logger } from '../core/observability/logger.js';
import { namespacedChannel, openStorage, type Storage } from '../core/storage/index.js';
import { PROGRESS_PREFIX } from '../core/jobs/progress.js';
import { TaskStore, TASKS_COLLECTION } from '../core/tasks/store.js';
import { TaskIndex } from './app/lib/task-index.server.js';
import type { ConsoleServices, JobsPort } from './app/lib/ports.server.js';

function sandboxOn(env: Env): boolean {
  try {
    return providerMode(env) === 'sandbox';
  } catch {
    return false;
  }
}

export type ConsoleRuntime = {
  services: ConsoleServices;
  storage: Storage;
  indexReady: Promise<void>;
  close(): Promise<void>;
};

/** A full rescan of the task index this often catches changes published while no console was listening. */
const INDEX_RESCAN_MS = 10 * 60 * 1000;

export async function createConsoleRuntime(
  env: Env,
  logger: Logger,
  opts: { jobs?: JobsPort; storage?: Storage; progressPrefix?: string } = {},
): Promise<ConsoleRuntime> {
  const ownStorage = !opts.storage;
  const storage = opts.storage ?? (await openStorage(env, 'pmf-console'));
  const ledger = new CreditLedger(storage.pg, { defaultAllowance: env.DEFAULT_MONTHLY_ALLOWANCE });
  // Indexes are the job layer's to create (its ready step).
  const tasks = new TaskStore(storage.mongo);
  let jobs = opts.jobs;
  let stopJobs: (() => Promise<void>) | undefined;
  if (!jobs) {
    try {
      // Only the submit side: the console enqueues researches and workers run them (decision 100).
      const created = createJobs({
        env,
        storage,
        ledger,
        deliveries: () => undefined,
        logger,
      });
      jobs = created;
      stopJobs = () => created.stop();
    } catch (err) {
      logger.warn({ err }, 'job layer unavailable: playground, cancel and retry are disabled');
    }
  }
  // The search/usage read model fills in the background; until then pages query the TaskStore directly.
  const taskIndex = new TaskIndex();
  const subscriber = storage.redis.duplicate();
  const indexStarted = taskIndex
    .start({
      collection: storage.mongo.db.collection(TASKS_COLLECTION),
      subscriber,
      // The job layer publishes progress in the install's namespace (createJobs); listen in the same one.
      prefix: namespacedChannel(storage.redis, opts.progressPrefix ?? PROGRESS_PREFIX),
      rescanMs: INDEX_RESCAN_MS,
      onError: (err) => logger.warn({ err }, 'task index update failed'),
    })
    .then(() => logger.info({ tasks: taskIndex.size }, 'task index ready'))
    .catch((err: unknown) => logger.warn({ err }, 'task index unavailable: search queries MongoDB directly'));
  const services: ConsoleServices = {
    db: storage.pg,
    redis: storage.redis,
    mongo: storage.mongo,
    ledger,
    tasks,
    jobs,
    taskIndex,
    origin: env.CONSOLE_ORIGIN,
    sandbox: sandboxOn(env),
    now: () => new Date(),
  };
  return {
    services,
    storage,
    indexReady: indexStarted,
    async close() {
      await taskIndex.stop();
      // A first fill still reading MongoDB must finish before the storage it reads from is closed.
      await indexStarted;
      subscriber.disconnect();
      await stopJobs?.().catch(() => undefined);
      if (ownStorage) await storage.close();
    },
  };
}
