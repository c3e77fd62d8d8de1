import { Agenda, type BackoffStrategy, type JobRepository } from 'agenda';
import { MongoBackend } from '@agendajs/mongo-backend';
import { RedisNotificationChannel } from '@agendajs/redis-backend';
import type { Mongo, Redis } from '../storage/index.js';
import type { JobsEnv, JobsTuning } from './types.js';

// Agenda 6 with MongoDB storage (FerretDB 1.24 runs every query the Mongo backend makes: checked in
// core/jobs/agenda.test.ts) and Redis pub/sub to wake workers the moment a job is saved. Polling stays on as
// the safety net that also finds jobs whose worker died (expired locks are only found by a poll).

export const RESEARCH_JOB = 'research';
/**
 * The final delivery of a task settled in a process without platform clients (the bot's work thread, the
 * console): a durable hand-off any worker picks up at once, beside the research jobs (decision 055).
 */
export const END_JOB = 'research-end';
/** End jobs a worker runs at once, on top of WORKER_CONCURRENCY research jobs: an end never waits for a research slot. */
export const END_JOBS_AT_ONCE = 4;

export type ResearchJobData = { taskId: string };

/** Thrown by the handler to have Agenda run the job again after `delayMs` (our own retry accounting). */
export class RetryLater extends Error {
  constructor(
    readonly delayMs: number,
    cause: string,
  ) {
    super(cause);
    this.name = 'RetryLater';
  }
}

/** Agenda re-runs only jobs that asked for it; everything else was settled by the handler itself. */
export const retryLaterBackoff: BackoffStrategy = (ctx) => (ctx.error instanceof RetryLater ? ctx.error.delayMs : null);

/**
 * Makes this process's job locks one at a time. FerretDB applies `findOneAndUpdate` as read then write
 * (decision 045), so lock attempts that overlap all "win" the same job: Agenda makes one per notification,
 * and a burst of 40 jobs ran each of them 2–5 times at once in one worker (core/jobs/agenda.test.ts), the
 * duplicates crowding out the jobs still waiting. One at a time, each lock sees the one before it. Across
 * processes the race stays (decision 040: a second run loses every guard); MongoDB 7 has none.
 */
function oneLockAtATime(repository: JobRepository): void {
  let last: Promise<unknown> = Promise.resolve();
  const serial =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> => {
      const next = last.then(() => fn(...args));
      last = next.catch(() => undefined);
      return next;
    };
  repository.getNextJobToRun = serial(repository.getNextJobToRun.bind(repository));
  repository.lockJob = serial(repository.lockJob.bind(repository));
}

export type AgendaParts = { agenda: Agenda; channel?: RedisNotificationChannel };

export function createAgenda(
  mongo: Mongo,
  redis: Redis,
  env: JobsEnv,
  tuning: JobsTuning,
  onError: (err: Error) => void,
): AgendaParts {
  // Reconnect forever (the default gives up after 10 tries, leaving workers on polling until restarted);
  // an unheard 'error' event would crash the process.
  const channel = tuning.notify
    ? new RedisNotificationChannel({
        redis,
        channelName: tuning.channel,
        reconnect: { enabled: true, maxAttempts: Number.MAX_SAFE_INTEGER, initialDelayMs: 100, maxDelayMs: 5000 },
      })
    : undefined;
  channel?.on('error', onError);
  const backend = new MongoBackend({ mongo: mongo.db, collection: tuning.collection });
  oneLockAtATime(backend.repository);
  const agenda = new Agenda({
    backend,
    ...(channel ? { notificationChannel: channel } : {}),
    name: tuning.workerName,
    processEvery: tuning.processEveryMs,
    maxConcurrency: env.WORKER_CONCURRENCY + END_JOBS_AT_ONCE,
    defaultConcurrency: env.WORKER_CONCURRENCY,
    // A worker locks no more jobs than it can run, so queued jobs stay free for other workers; each job
    // name's own limits (worker.ts) keep research at WORKER_CONCURRENCY.
    defaultLockLimit: env.WORKER_CONCURRENCY,
    lockLimit: env.WORKER_CONCURRENCY + END_JOBS_AT_ONCE,
    defaultLockLifetime: env.JOB_LOCK_LIFETIME_MS,
  });
  return { agenda, ...(channel ? { channel } : {}) };
}
