// The orphan sweep: tasks a crash left between reserving their credits and saving their job (decision 043)
// are ended by the workers, every orphanSweepEveryMs: their credits are returned (nothing was researched),
// or the task is dropped when it never got any. Safe to run from several workers at once.
import { RESEARCH_JOB, RetryLater } from './agenda.js';
import type { JobQueue } from './queue.js';

async function hasJob(queue: JobQueue, taskId: string): Promise<boolean> {
  const found = await queue.storage.mongo.db
    .collection(queue.tuning.collection)
    .countDocuments({ name: RESEARCH_JOB, 'data.taskId': taskId }, { limit: 1 });
  return found > 0;
}

/** Ends one task a crash left queued with no job; true when it did. */
async function endOrphan(queue: JobQueue, taskId: string): Promise<boolean> {
  const { store, ledger, settler } = queue;
  if (await store.outcomeOf(taskId)) {
    await settler.settle(taskId);
    return true;
  }
  if (await hasJob(queue, taskId)) return false;
  const hold = await ledger.getHold(taskId);
  if (!hold) return store.discardUnreserved(taskId);
  await settler.failBeforeQueue(
    taskId,
    'it was interrupted before it could be queued',
    'no job was saved for this task',
  );
  return true;
}

/** One sweep over the tasks queued longer than orphanAfterMs; returns how many it ended. */
export async function sweepOrphans(queue: JobQueue): Promise<number> {
  const { store, tuning, log } = queue;
  const ids = await store.queuedBefore(new Date(Date.now() - tuning.orphanAfterMs));
  let ended = 0;
  for (const taskId of ids) {
    try {
      if (await endOrphan(queue, taskId)) ended++;
    } catch (err) {
      if (!(err instanceof RetryLater)) log.warn({ taskId, err: String(err) }, 'ending an orphaned task');
    }
  }
  if (ended > 0) log.warn({ ended }, 'ended tasks a crash left without a job');
  return ended;
}

/**
 * Sweeps every orphanSweepEveryMs from now on; returns the function that stops it. The first sweep waits
 * orphanAfterMs, so that short-lived workers sharing a database (tests, one-off runs) never end each
 * other's tasks.
 */
export function scheduleOrphanSweeps(queue: JobQueue): () => void {
  const { tuning, log } = queue;
  let timer: NodeJS.Timeout | undefined;
  const sweep = () => {
    sweepOrphans(queue).catch((err: unknown) => log.warn({ err: String(err) }, 'orphan sweep failed'));
    timer = setTimeout(sweep, tuning.orphanSweepEveryMs).unref();
  };
  timer = setTimeout(sweep, Math.max(tuning.orphanAfterMs, tuning.orphanSweepEveryMs)).unref();
  return () => clearTimeout(timer);
}
