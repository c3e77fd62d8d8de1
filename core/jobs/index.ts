// The research job layer: submit, run, deliver, cancel and retry research tasks on Agenda 6 (MongoDB
// storage, Redis notifications for instant pickup). Process entry points compose createJobs with storage,
// the ledger, the engine and the platform deliveries.
import type { CreateJobsOptions, Jobs } from './types.js';

export type { Actor, CreateJobsOptions, Jobs, JobsEnv, JobsTuning, LedgerPort, SubmitOptions, SubmitRequest, SubmitResult } from './types.js';
export { JobsError } from './types.js';
export { progressChannel } from './progress.js';

export function createJobs(opts: CreateJobsOptions): Jobs {
  void opts;
  throw new Error('createJobs: implementation lands shortly');
}
