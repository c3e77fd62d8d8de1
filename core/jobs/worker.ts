// The worker side of the job layer: runs research jobs (and the end jobs other processes hand over) with
// the research engine, hears cancels at once, sweeps orphaned tasks, and drains on stop. Only the worker
// process builds it (bot/worker.ts); it carries the submit side (submit.ts) on the same queue.
import { END_JOB, END_JOBS_AT_ONCE, RESEARCH_JOB, retryLaterBackoff, type ResearchJobData } from './agenda.js';
import { scheduleOrphanSweeps, sweepOrphans } from './orphans.js';
import { openJobQueue } from './queue.js';
import { ResearchJobHandler } from './research-job.js';
import { submitSideOf } from './submit.js';
import type { ResearchWorker, ResearchWorkerOptions } from './types.js';
import type { Redis } from '../storage/redis.js';

/** How often a stopping worker looks whether its last research has left (the drain ends then, not at its timeout). */
const DRAIN_POLL_MS = 50;

export function createResearchWorker(opts: ResearchWorkerOptions): ResearchWorker {
  const { engine } = opts;
  const queue = openJobQueue(opts, async (taskId) => {
    await engine.forget?.(taskId);
  });
  const { env, storage, tuning, log, store, agenda, channel, hub, settler } = queue;
  const jobs = submitSideOf(queue);
  const handler = new ResearchJobHandler({
    store,
    engine,
    settler,
    publish: (task) => hub.publish(task),
    logger: log,
    env,
    tuning,
  });
  let cancelSub: Redis | undefined;
  let stopSweeps: (() => void) | undefined;

  /**
   * Agenda's own drain waits for the whole timeout whenever the last job's "complete" event comes before the
   * job leaves its running list (it does while the finished job is still being removed, removeOnComplete), so
   * a worker whose researches were all delivered would wait WORKER_DRAIN_TIMEOUT_MS anyway. The timeout is an
   * upper bound: the drain is ended as soon as nothing runs here any more.
   */
  async function drainAgenda(): Promise<{ timedOut: boolean }> {
    const idle = new AbortController();
    const watch = (async () => {
      while (!idle.signal.aborted) {
        await new Promise((r) => setTimeout(r, DRAIN_POLL_MS));
        if (handler.running.size > 0 || idle.signal.aborted) continue;
        const stats = await agenda.getRunningStats().catch(() => undefined);
        if (stats && stats.runningJobs === 0) idle.abort();
      }
    })();
    const result = await agenda.drain({
      timeout: env.WORKER_DRAIN_TIMEOUT_MS,
      signal: idle.signal,
      closeConnection: false,
    });
    idle.abort();
    await watch;
    return { timedOut: result.timedOut };
  }

  return {
    ...jobs,

    sweepOrphans: () => sweepOrphans(queue),

    async startWorker() {
      if (queue.working) return;
      await queue.ready();
      queue.working = true;
      // The submit side may have connected the channel; Agenda's start connects its own subscription.
      if (channel?.state === 'connected') await channel.disconnect();
      agenda.define<ResearchJobData>(RESEARCH_JOB, (job) => handler.handle(job), {
        concurrency: env.WORKER_CONCURRENCY,
        lockLimit: env.WORKER_CONCURRENCY,
        lockLifetime: env.JOB_LOCK_LIFETIME_MS,
        backoff: retryLaterBackoff,
        // A finished job has settled its task, which keeps the whole story; left in place, finished jobs make
        // every lock query slower on FerretDB, which answers it by scanning the collection.
        removeOnComplete: true,
      });
      agenda.define<ResearchJobData>(END_JOB, (job) => handler.handleEnd(job), {
        concurrency: END_JOBS_AT_ONCE,
        lockLimit: END_JOBS_AT_ONCE,
        lockLifetime: env.JOB_LOCK_LIFETIME_MS,
        backoff: retryLaterBackoff,
        removeOnComplete: true,
      });
      cancelSub = storage.redis.duplicate();
      cancelSub.on('error', () => undefined);
      cancelSub.on('message', (_channel: string, id: string) => handler.running.get(id)?.abort('cancel'));
      await cancelSub.subscribe(queue.cancelChannel);
      await agenda.start();
      stopSweeps = scheduleOrphanSweeps(queue);
      log.info(
        { concurrency: env.WORKER_CONCURRENCY, lockLifetimeMs: env.JOB_LOCK_LIFETIME_MS },
        'research worker started',
      );
    },

    async stop() {
      stopSweeps?.();
      stopSweeps = undefined;
      if (!queue.working) return jobs.stop();
      await agenda.ready.catch(() => undefined);
      queue.working = false;
      const result = await drainAgenda();
      if (result.timedOut) {
        log.warn({ running: handler.running.size }, 'drain timed out; handing running researches back to the queue');
        for (const abort of handler.running.values()) abort.abort('shutdown');
        const deadline = Date.now() + 5000;
        while (handler.running.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      }
      cancelSub?.disconnect();
      cancelSub = undefined;
      queue.close();
    },
  };
}
