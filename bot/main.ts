// The bot process: the Slack and Discord front doors. The main thread parses and acknowledges; the work
// thread (work-thread.ts) rate-limits, reserves, enqueues and answers; workers (bot/worker.ts) run the research.
import { loadConfigOrExit, type Env } from '../core/config/index.js';
import { createLogger, type Logger } from '../core/observability/logger.js';
import { startOpsServer } from '../core/observability/ops-server.js';
import { healthPort } from '../core/observability/ports.js';
import { openStorage } from '../core/storage/index.js';
import { createDiscordBot, startDiscordBot } from './discord/app.js';
import { onShutdown } from './shutdown.js';
import { discordMissing, slackMissing } from './platforms.js';
import { createSlackApp, slackMode } from './slack/app.js';
import { createPgInstallationStore } from './slack/installation-store.js';
import { WorkThread } from './work-thread.js';

/** How long a shutdown works through acknowledged commands, then tells the rest to retry (PM2 kills at 10 s). */
const DRAIN_MS = 7_000;
const SHED_MS = 1_500;

async function main(env: Env, logger: Logger): Promise<void> {
  const noSlack = slackMissing(env);
  const noDiscord = discordMissing(env);
  if (noSlack) logger.warn(`Slack: skipped — ${noSlack}`);
  if (noDiscord) logger.warn(`Discord: skipped — ${noDiscord}`);
  if (noSlack && noDiscord)
    logger.warn('no platform is configured: this process waits idle (see README: "Set up Slack")');

  const work = await WorkThread.start({ env }, logger, () => process.exit(1));
  // A shutdown stops taking commands, finishes those acknowledged, then disconnects (decision 005).
  const stopIntake: (() => Promise<unknown> | unknown)[] = [];
  const disconnect: (() => Promise<unknown> | unknown)[] = [];

  // The main thread's own connections: Slack installations (OAuth) and the health check.
  const storage = await openStorage(env, 'pmf-bot');
  disconnect.push(() => storage.close());

  if (!noSlack) {
    const installationStore = env.SLACK_BOT_TOKEN ? undefined : createPgInstallationStore(storage.pg);
    const app = createSlackApp({
      env,
      logger: logger.child({ platform: 'slack' }),
      installationStore,
      dispatch: (w) => work.dispatch({ platform: 'slack', work: w }),
    });
    await app.start();
    stopIntake.push(() => app.stop());
    logger.info(
      { mode: slackMode(env), port: slackMode(env) === 'http' ? env.SLACK_PORT : undefined },
      'Slack app started',
    );
  }

  if (!noDiscord) {
    const client = createDiscordBot({
      env,
      logger: logger.child({ platform: 'discord' }),
      dispatch: (w) => work.dispatch({ platform: 'discord', work: w }),
    });
    await startDiscordBot(client, env.DISCORD_TOKEN!);
    // Discord stays connected while the work thread drains: commands arriving then are told to retry.
    disconnect.unshift(() => client.destroy());
    logger.info({ guilds: client.guilds.cache.size }, 'Discord bot started');
  }

  const ops = env.HEALTH_PORT
    ? await startOpsServer({
        port: healthPort(env.HEALTH_PORT, process.env.NODE_APP_INSTANCE),
        health: () => storage.health(),
        metricsToken: env.METRICS_TOKEN,
        moreMetrics: async () => [await work.metrics()],
      })
    : undefined;
  onShutdown(logger, [
    ...stopIntake,
    // New commands are refused kindly from here on; those acknowledged are finished within DRAIN_MS, and those
    // not started by then are told to try again, uncharged.
    () => work.finish(DRAIN_MS, SHED_MS),
    ...disconnect,
    () => ops?.close(),
  ]);
}

const env = loadConfigOrExit();
await main(env, createLogger('bot', env.LOG_LEVEL));
