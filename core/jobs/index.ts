// The research job layer on Agenda 6 (MongoDB storage, Redis notifications for instant pickup), by role:
// - submit.ts      the submit side: submit, cancel and retry researches (createJobs); needs no engine
// - worker.ts      the worker: runs research and end jobs with the engine (createResearchWorker)
// - orphans.ts     the sweep that ends tasks a crash left without a job
// - progress-hub.ts  live progress published and listened to through Redis
// - queue.ts       what the two sides of one process share (Agenda, task store, settler, hub)
// - settle.ts, research-job.ts, outcomes.ts  ending a task, the job handlers, the words of an end
// The bot's work thread and the console build only the submit side; the worker process builds the worker.
// Decisions: docs/decisions/040–046, 055, 100.
export type {
  Actor,
  CreateJobsOptions,
  Jobs,
  JobsEnv,
  JobsTuning,
  LedgerPort,
  ResearchWorker,
  ResearchWorkerOptions,
  SubmitOptions,
  SubmitRequest,
  SubmitResult,
} from './types.js';
export { JobsError } from './types.js';
export { createJobs } from './submit.js';
export { createResearchWorker } from './worker.js';
