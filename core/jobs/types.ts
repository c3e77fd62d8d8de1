import type { Env } from '../config/index.js';
import type { Logger } from '../observability/logger.js';
import type { ResearchEngine } from '../research/contract.js';
import type { Depth } from '../research/depth.js';
import type { Storage } from '../storage/index.js';
import type { DeliveryResolver } from '../tasks/delivery.js';
import type { TaskStore } from '../tasks/store.js';
import type { Origin, Task } from '../tasks/types.js';

/** The part of the CreditLedger (core/credits) the job layer uses; each call is idempotent per task. */
export interface LedgerPort {
  reserve(args: {
    workspaceId: string;
    cost: number;
    taskId: string;
    depth?: Depth;
    actor: string;
    idempotencyKey?: string;
  }): Promise<unknown>;
  capture(args: { taskId: string; actor: string }): Promise<unknown>;
  release(args: { taskId: string; actor: string; reason: string }): Promise<unknown>;
  getHold(taskId: string): Promise<{ status: 'held' | 'captured' | 'released' } | undefined>;
  /** Throws the typed refusal a reserve of `cost` would meet now (no credits, suspended), from a read only. */
  refuseEarly(workspaceId: string, cost: number): Promise<void>;
}

export type JobsEnv = Pick<
  Env,
  'WORKER_CONCURRENCY' | 'JOB_LOCK_LIFETIME_MS' | 'JOB_MAX_ATTEMPTS' | 'WORKER_DRAIN_TIMEOUT_MS'
>;

export type SubmitRequest = {
  /** Caller-chosen and stable across retries of the same request (a Slack retry, a double click). */
  requestKey: string;
  workspaceId: string;
  requester: { id: string; name?: string };
  origin: Origin;
  idea: string;
  depth: Depth;
};

export type SubmitOptions = {
  /** Posts the surface's parent/status messages and returns their refs, stored on the task origin. */
  announce?: (task: Task) => Promise<Partial<Origin>>;
};

export type Actor = { id: string; isAdmin: boolean };

/** What the submit side needs: no research engine, since it runs no research. */
export type CreateJobsOptions = {
  env: JobsEnv;
  storage: Storage;
  ledger: LedgerPort;
  /** The platform deliveries this process holds; the final messages of the others are handed to a worker. */
  deliveries: DeliveryResolver;
  logger: Logger;
  /** Tuning for tests and benchmarks; production uses the defaults. */
  tuning?: Partial<JobsTuning>;
};

/** A worker also runs the researches, with this engine. */
export type ResearchWorkerOptions = CreateJobsOptions & { engine: ResearchEngine };

export type JobsTuning = {
  /** Agenda's polling interval; the Redis channel makes pickup instant, polling is the safety net. */
  processEveryMs: number;
  /** Use the Redis notification channel (false measures plain Agenda polling in the benchmark). */
  notify: boolean;
  /** Agenda's jobs collection. */
  collection: string;
  /** Redis channel for Agenda's job notifications. */
  channel: string;
  /** Prefix of the per-task progress channels (`<prefix><taskId>`). */
  progressPrefix: string;
  /** First retry delay; doubles per attempt. */
  retryBaseMs: number;
  /** Minimum time between two progress deliveries of one task. */
  progressIntervalMs: number;
  /** How often a running job checks for a cancel request (a Redis message cuts it short). */
  cancelPollMs: number;
  /** Delivery retries for a transient delivery error. */
  deliveryAttempts: number;
  /** A task still queued this long after it was created, with no job behind it, was orphaned by a crash. */
  orphanAfterMs: number;
  /** How often a worker looks for orphaned tasks. */
  orphanSweepEveryMs: number;
  /** Name of this worker in lock and claim records. */
  workerName: string;
};

export type SubmitResult = { task: Task; created: boolean };

/** The submit side of the job layer, which every process that takes requests builds (submit.ts). */
export type Jobs = {
  tasks: TaskStore;
  submitResearch(req: SubmitRequest, opts?: SubmitOptions): Promise<SubmitResult>;
  cancelResearch(taskId: string, actor: Actor): Promise<Task>;
  /** A failed research runs again as a new task (`retryOf` = the failed one) with a new hold; idempotent per failed task. */
  retryResearch(taskId: string, actor: Actor, opts?: SubmitOptions): Promise<Task>;
  /** Closes this process's connections to the queue (the wake-up channel, the progress subscriptions). */
  stop(): Promise<void>;
  /** Live task updates from any worker, via Redis pub/sub channel `pmf:progress:<taskId>`. */
  subscribeProgress(taskId: string, onTask: (task: Task) => void): Promise<() => Promise<void>>;
};

/** The worker process's job layer: the submit side plus running the research jobs (worker.ts). */
export type ResearchWorker = Jobs & {
  /**
   * Ends the tasks a crash left between reserving credits and saving their job: their credits are returned
   * (nothing was researched), or the task is dropped when it never got any. A started worker runs it every
   * `orphanSweepEveryMs`; returns how many tasks it ended.
   */
  sweepOrphans(): Promise<number>;
  /** Starts processing research jobs in this process (WORKER_CONCURRENCY at a time). */
  startWorker(): Promise<void>;
  /** Stops taking jobs, lets running ones finish up to WORKER_DRAIN_TIMEOUT_MS, then unlocks the rest. */
  stop(): Promise<void>;
};

/** Refusals a surface shows the user as they are (`message` is safe to show). */
export class JobsError extends Error {
  constructor(
    readonly code: 'not_found' | 'forbidden' | 'not_cancellable' | 'not_retryable' | 'invalid',
    message: string,
  ) {
    super(message);
    this.name = 'JobsError';
  }
}
