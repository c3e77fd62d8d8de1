// The first module of the work thread (bot/work-thread.ts). Node does not carry `--import tsx` over to
// worker threads, so the thread registers tsx itself before it loads its TypeScript entry.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
