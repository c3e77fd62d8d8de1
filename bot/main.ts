// The bot process: the Slack and Discord front doors. It parses, acknowledges, reserves and enqueues;
// workers (bot/worker.ts) run the research.
import { loadConfigOrExit, type Env } from '../core/config/index.js';
import { CreditLedger } from '../core/credits/index.js';
import { createJobs } from '../core/jobs/index.js';
import { createLogger, type Logger } from '../core/observability/logger.js';
import { startOpsServer } from '../core/observability/ops-server.js';
import type { ResearchEngine } from '../core/research/contract.js';
import { openStorage } from '../core/storage/index.js';
import { createDiscordBot, DISCORD_SUBMISSIONS_AT_ONCE, startDiscordBot } from './discord/app.js';
import { Limiter } from './limiter.js';
import { onShutdown } from './shutdown.js';
import { discordMissing, slackMissing } from './platforms.js';
import { createSlackApp, SLACK_WORK_AT_ONCE, slackMode } from './slack/app.js';
import { createPgInstallationStore } from './slack/installation-store.js';

/** How long a shutdown works through acknowledged commands, then tells the rest to retry (PM2 kills at 10 s). */
const DRAIN_MS = 7_000;
const SHED_MS = 1_500;

// This process only enqueues; its job layer never runs a worker, so the engine is never called.
const researchRunsInWorkers: ResearchEngine = {
  run: () => Promise.reject(new Error('research runs in the worker process (bot/worker.ts), not in the bot')),
};

async function main(env: Env, logger: Logger): Promise<void> {
  const storage = await openStorage(env, 'pmf-bot');
  const ledger = new CreditLedger(storage.pg, { defaultAllowance: env.DEFAULT_MONTHLY_ALLOWANCE });
  const jobs = createJobs({ env, storage, ledger, engine: researchRunsInWorkers, deliveries: () => undefined, logger });
  // A shutdown stops taking commands, finishes those acknowledged, then disconnects (decision 005).
  const stopIntake: (() => Promise<unknown> | unknown)[] = [];
  const disconnect: (() => Promise<unknown> | unknown)[] = [];
  // Acknowledged commands wait here for their turn.
  const backlogs = { slack: new Limiter(SLACK_WORK_AT_ONCE), discord: new Limiter(DISCORD_SUBMISSIONS_AT_ONCE) };

  const noSlack = slackMissing(env);
  if (noSlack) {
    logger.warn(`Slack: skipped — ${noSlack}`);
  } else {
    const installationStore = env.SLACK_BOT_TOKEN ? undefined : createPgInstallationStore(storage.pg);
    const app = createSlackApp({
      env,
      ledger,
      jobs,
      redis: storage.redis,
      logger: logger.child({ platform: 'slack' }),
      installationStore,
      work: backlogs.slack,
    });
    await app.start();
    stopIntake.push(() => app.stop());
    logger.info(
      { mode: slackMode(env), port: slackMode(env) === 'http' ? env.SLACK_PORT : undefined },
      'Slack app started',
    );
  }

  const noDiscord = discordMissing(env);
  if (noDiscord) {
    logger.warn(`Discord: skipped — ${noDiscord}`);
  } else {
    const client = createDiscordBot({
      env,
      ledger,
      jobs,
      redis: storage.redis,
      logger: logger.child({ platform: 'discord' }),
      submissions: backlogs.discord,
    });
    await startDiscordBot(client, env.DISCORD_TOKEN!);
    disconnect.push(() => client.destroy());
    logger.info({ guilds: client.guilds.cache.size }, 'Discord bot started');
  }

  if (noSlack && noDiscord)
    logger.warn('no platform is configured: this process waits idle (see README: "Set up Slack")');
  const ops = env.HEALTH_PORT
    ? await startOpsServer({ port: env.HEALTH_PORT, health: () => storage.health() })
    : undefined;
  onShutdown(logger, [
    ...stopIntake,
    () => drainBacklogs([backlogs.slack, backlogs.discord], logger),
    ...disconnect,
    () => jobs.stop(),
    () => ops?.close(),
    () => storage.close(),
  ]);
}

/**
 * New commands are refused kindly from here on; those already acknowledged are finished within DRAIN_MS, and
 * those that have not started by then are told to try again (nothing was charged for them).
 */
async function drainBacklogs(backlogs: Limiter[], logger: Logger): Promise<void> {
  const waiting = backlogs.reduce((n, b) => n + b.size, 0);
  if (waiting) logger.info({ waiting }, 'shutdown: finishing acknowledged commands');
  const finished = await Promise.all(backlogs.map((b) => b.finish(DRAIN_MS, SHED_MS)));
  if (finished.includes(false))
    logger.warn({ waitedMs: DRAIN_MS }, 'shutdown: told the commands still waiting to try again');
}

const env = loadConfigOrExit();
await main(env, createLogger('bot', env.LOG_LEVEL));
