// What the submit side and the worker of one process share: the tuning (channels carrying the install's
// namespace), the task store, Agenda on MongoDB with its Redis wake-up channel, the progress hub and the
// settler that ends decided tasks. Opened once per process's job layer; it runs no research itself.
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Agenda } from 'agenda';
import type { RedisNotificationChannel } from '@agendajs/redis-backend';
import type { Logger } from '../observability/logger.js';
import { namespacedChannel, type Storage } from '../storage/index.js';
import { TaskStore } from '../tasks/store.js';
import { createAgenda, END_JOB, type ResearchJobData } from './agenda.js';
import { PROGRESS_PREFIX } from './progress.js';
import { createProgressHub, type ProgressHub } from './progress-hub.js';
import { TaskSettler } from './settle.js';
import type { CreateJobsOptions, JobsEnv, JobsTuning, LedgerPort } from './types.js';

const DEFAULT_TUNING: Omit<JobsTuning, 'workerName'> = {
  processEveryMs: 5000,
  notify: true,
  collection: 'agendaJobs',
  channel: 'pmf:agenda',
  progressPrefix: PROGRESS_PREFIX,
  retryBaseMs: 5000,
  progressIntervalMs: 1000,
  cancelPollMs: 5000,
  deliveryAttempts: 4,
  orphanAfterMs: 5 * 60_000,
  orphanSweepEveryMs: 60_000,
};

export type JobQueue = {
  env: JobsEnv;
  storage: Storage;
  ledger: LedgerPort;
  tuning: JobsTuning;
  log: Logger;
  store: TaskStore;
  agenda: Agenda;
  /** Agenda's wake-up channel (absent when tuning.notify is off). */
  channel?: RedisNotificationChannel;
  /** Where a cancel is announced, so that the worker running the task stops at once. */
  cancelChannel: string;
  hub: ProgressHub;
  settler: TaskSettler;
  /** True while this process runs the worker: Agenda then holds the wake-up channel itself. */
  working: boolean;
  /** Indexes, Agenda's backend, and (in a process that only submits) the channel that wakes the workers. */
  ready(): Promise<void>;
  /** Closes the progress hub and forgets `ready`, so that a stopped layer that is used again gets ready again. */
  close(): void;
};

/**
 * `forget` drops the engine's saved run of a settled task; only a worker, which has the engine, passes it.
 */
export function openJobQueue(opts: CreateJobsOptions, forget?: (taskId: string) => Promise<void>): JobQueue {
  const { env, storage, ledger, deliveries, logger } = opts;
  const tuned: JobsTuning = {
    ...DEFAULT_TUNING,
    workerName: `${hostname()}:${process.pid}:${randomUUID().slice(0, 6)}`,
    ...opts.tuning,
  };
  // Channels ignore the Redis database number and the connection's key prefix: they carry the install's
  // namespace explicitly (Agenda's wake-up channel, its `:state` twin, the cancel and progress channels).
  const tuning: JobsTuning = {
    ...tuned,
    channel: namespacedChannel(storage.redis, tuned.channel),
    progressPrefix: namespacedChannel(storage.redis, tuned.progressPrefix),
  };
  const log = logger.child({ component: 'jobs', worker: tuning.workerName });
  const store = new TaskStore(storage.mongo);
  const { agenda, channel } = createAgenda(storage.mongo, storage.redis, env, tuning, (err) =>
    log.warn({ err: err.message }, 'job notification channel error'),
  );
  agenda.on('error', (err: Error) => log.warn({ err: err.message }, 'agenda error'));
  const hub = createProgressHub(storage.redis, tuning.progressPrefix, log);
  const settler = new TaskSettler({
    store,
    ledger,
    deliveries,
    publish: (task) => hub.publish(task),
    logger: log,
    env,
    tuning,
    // Saved in MongoDB, so the end survives this process; the Redis channel wakes a worker at once.
    handOff: async (taskId) => {
      await agenda.now<ResearchJobData>(END_JOB, { taskId });
    },
    forget,
  });
  let readyPromise: Promise<void> | undefined;
  const queue: JobQueue = {
    env,
    storage,
    ledger,
    tuning,
    log,
    store,
    agenda,
    channel,
    cancelChannel: `${tuning.channel}:cancel`,
    hub,
    settler,
    working: false,
    ready: () =>
      (readyPromise ??= (async () => {
        await Promise.all([store.ensureIndexes(), agenda.ready]);
        if (channel && !queue.working && channel.state !== 'connected') await channel.connect();
      })()),
    close() {
      hub.close();
      readyPromise = undefined;
    },
  };
  return queue;
}
