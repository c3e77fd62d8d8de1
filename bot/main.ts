// The bot process: the Slack and Discord front doors. It parses, acknowledges, reserves and enqueues;
// workers (bot/worker.ts) run the research.
import { loadConfigOrExit, type Env } from '../core/config/index.js';
import { CreditLedger } from '../core/credits/index.js';
import { createJobs } from '../core/jobs/index.js';
import { createLogger, type Logger } from '../core/observability/logger.js';
import { startOpsServer } from '../core/observability/ops-server.js';
import type { ResearchEngine } from '../core/research/contract.js';
import { openStorage } from '../core/storage/index.js';
import { createDiscordBot, startDiscordBot } from './discord/app.js';
import { onShutdown } from './shutdown.js';
import { discordMissing, slackMissing } from './platforms.js';
import { createSlackApp, slackMode } from './slack/app.js';
import { createPgInstallationStore } from './slack/installation-store.js';

// This process only enqueues; its job layer never runs a worker, so the engine is never called.
const researchRunsInWorkers: ResearchEngine = {
  run: () => Promise.reject(new Error('research runs in the worker process (bot/worker.ts), not in the bot')),
};

async function main(env: Env, logger: Logger): Promise<void> {
  const storage = await openStorage(env, 'pmf-bot');
  const ledger = new CreditLedger(storage.pg, { defaultAllowance: env.DEFAULT_MONTHLY_ALLOWANCE });
  const jobs = createJobs({ env, storage, ledger, engine: researchRunsInWorkers, deliveries: () => undefined, logger });
  const stops: (() => Promise<unknown> | unknown)[] = [];

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
    });
    await app.start();
    stops.push(() => app.stop());
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
    });
    await startDiscordBot(client, env.DISCORD_TOKEN!);
    stops.push(() => client.destroy());
    logger.info({ guilds: client.guilds.cache.size }, 'Discord bot started');
  }

  if (noSlack && noDiscord)
    logger.warn('no platform is configured: this process waits idle (see README: "Set up Slack")');
  const ops = env.HEALTH_PORT
    ? await startOpsServer({ port: env.HEALTH_PORT, health: () => storage.health() })
    : undefined;
  onShutdown(logger, [...stops, () => jobs.stop(), () => ops?.close(), () => storage.close()]);
}

const env = loadConfigOrExit();
await main(env, createLogger('bot', env.LOG_LEVEL));
