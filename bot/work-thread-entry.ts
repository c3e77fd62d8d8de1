// Runs on the work thread (bot/work-thread.ts): opens its own connections, does the acknowledged work it is
// handed, and on `finish` drains, closes and lets the thread end.
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { CreditLedger } from '../core/credits/index.js';
import { createJobs } from '../core/jobs/index.js';
import { createLogger } from '../core/observability/logger.js';
import { registry } from '../core/observability/metrics.js';
import { openStorage } from '../core/storage/index.js';
import { ArrivalRate } from './arrivals.js';
import { markInstallationRevoked } from './slack/installation-store.js';
import { boundedDiscordRest } from './discord/delivery.js';
import { Limiter } from './limiter.js';
import { count429s } from './discord/rate-limits.js';
import {
  createDiscordWork,
  DISCORD_REPLIES_AT_ONCE,
  DISCORD_REPLIES_PER_GUILD,
  DISCORD_SUBMISSIONS_AT_ONCE,
  DISCORD_SUBMISSIONS_PER_GUILD,
} from './discord/work.js';
import {
  createSlackWork,
  SLACK_REPLIES_AT_ONCE,
  SLACK_REPLIES_PER_WORKSPACE,
  SLACK_RESEARCH_PER_WORKSPACE,
  SLACK_WORK_AT_ONCE,
} from './slack/work.js';
import {
  WORK_THREAD_NICENESS,
  type FromWorkThread,
  type MetricsSnapshot,
  type ToWorkThread,
  type WorkThreadOptions,
} from './work-thread.js';

const port = parentPort!;
const { options } = workerData as { options: WorkThreadOptions };
const { env } = options;
const logger = createLogger('bot', env.LOG_LEVEL).child({ thread: 'work' });
const tell = (m: FromWorkThread) => port.postMessage(m);

/**
 * Linux gives each thread its own nice value (setpriority on a thread id), so the acking thread keeps the
 * process's. Elsewhere this fails and the thread keeps the process's priority: slower acks under load, no harm.
 */
function lowerThisThreadsPriority(niceness: number): void {
  try {
    const threadId = Number(readlinkSync('/proc/thread-self').split('/').pop());
    setPriority(threadId, niceness);
  } catch (err) {
    logger.debug({ err }, 'work thread priority unchanged');
  }
}

try {
  lowerThisThreadsPriority(options.niceness ?? WORK_THREAD_NICENESS);
  const storage = await openStorage(env, 'pmf-bot-work');
  const ledger = new CreditLedger(storage.pg, { defaultAllowance: env.DEFAULT_MONTHLY_ALLOWANCE });
  // Only the submit side: research runs in the worker process (bot/worker.ts), and this thread holds no
  // platform clients, so the ends it settles (cancels, failures before the queue) are handed to a worker
  // (decision 055).
  const jobs = createJobs({
    env,
    storage,
    ledger,
    deliveries: () => undefined,
    logger,
    ...(options.jobsTuning ? { tuning: options.jobsTuning } : {}),
  });
  // Every command handed over was just acknowledged, so their arrivals are the front door's load.
  const arrivals = new ArrivalRate();
  const lines = {
    slack: new Limiter(options.slackAtOnce ?? SLACK_WORK_AT_ONCE, arrivals, SLACK_RESEARCH_PER_WORKSPACE),
    slackReplies: new Limiter(SLACK_REPLIES_AT_ONCE, arrivals, SLACK_REPLIES_PER_WORKSPACE),
    discord: new Limiter(options.discordAtOnce ?? DISCORD_SUBMISSIONS_AT_ONCE, arrivals, DISCORD_SUBMISSIONS_PER_GUILD),
    discordReplies: new Limiter(DISCORD_REPLIES_AT_ONCE, arrivals, DISCORD_REPLIES_PER_GUILD),
  };
  const slack = createSlackWork({
    env,
    ledger,
    jobs,
    redis: storage.redis,
    logger: logger.child({ platform: 'slack' }),
    keyPrefix: options.slackKeyPrefix,
    limiter: lines.slack,
    replies: lines.slackReplies,
    ...(env.SLACK_BOT_TOKEN
      ? {}
      : { onInstallationGone: (where, code) => markInstallationRevoked(storage.pg, where, code) }),
  });
  const discord = createDiscordWork({
    env,
    ledger,
    jobs,
    redis: storage.redis,
    logger: logger.child({ platform: 'discord' }),
    rest: count429s(boundedDiscordRest(env.DISCORD_API_URL, env.DISCORD_TOKEN ?? '')),
    rateLimitPrefix: options.discordKeyPrefix,
    limiter: lines.discord,
    replies: lines.discordReplies,
  });

  const finish = async (drainMs: number, shedMs: number) => {
    const waiting = Object.values(lines).reduce((n, line) => n + line.size, 0);
    if (waiting) logger.info({ waiting }, 'shutdown: finishing acknowledged commands');
    const finished = await Promise.all(Object.values(lines).map((line) => line.finish(drainMs, shedMs)));
    const drained = !finished.includes(false);
    if (!drained) logger.warn({ waitedMs: drainMs }, 'shutdown: told the commands still waiting to try again');
    await jobs.stop().catch((err: unknown) => logger.warn({ err }, 'jobs did not stop cleanly'));
    await storage.close();
    tell({ type: 'finished', drained });
    port.close();
  };

  port.on('message', (m: ToWorkThread) => {
    if (m.type === 'work') {
      arrivals.note();
      void (m.work.platform === 'slack' ? slack(m.work.work) : discord(m.work.work));
    } else if (m.type === 'metrics') {
      // Only this thread's own series: process-wide ones (CPU, memory) are the main thread's to report.
      void registry.getMetricsAsJSON().then((all) => {
        const metrics = all.filter((metric) => metric.name.startsWith('pmf_'));
        tell({ type: 'metrics', id: m.id, metrics: metrics as MetricsSnapshot });
      });
    } else void finish(m.drainMs, m.shedMs);
  });
  tell({ type: 'ready' });
} catch (err) {
  tell({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
  port.close();
}
