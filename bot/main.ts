// The bot process: the Slack and Discord front doors. The main thread parses and acknowledges; the work
// thread (work-thread.ts) rate-limits, reserves, enqueues and answers; workers (bot/worker.ts) run the research.
// `--check` only checks the platforms' credentials, prints a line per problem and exits (78 if any).
import type { Client } from 'discord.js';
import { loadConfigOrExit, type Env } from '../core/config/index.js';
import { createLogger, type Logger } from '../core/observability/logger.js';
import { startOpsServer } from '../core/observability/ops-server.js';
import { healthPort } from '../core/observability/ports.js';
import { openStorage } from '../core/storage/index.js';
import { createDiscordBot, startDiscordBot } from './discord/app.js';
import { onShutdown } from './shutdown.js';
import {
  checkDiscordCredentials,
  checkSlackCredentials,
  discordMissing,
  discordRefusal,
  slackMissing,
  slackRefusal,
  type CredentialCheck,
} from './platforms.js';
import { boltOptions, createSlackApp, slackMode, socketModeReceiver } from './slack/app.js';
import { createPgInstallationStore } from './slack/installation-store.js';
import { slackErrorCode } from './slack/socket-mode.js';
import { WorkThread } from './work-thread.js';
import type { ChatPlatform } from '../core/platform.js';

/** How long a shutdown works through acknowledged commands, then tells the rest to retry (PM2 kills at 10 s). */
const DRAIN_MS = 7_000;
const SHED_MS = 1_500;
/** The exit code of a bot with no platform left (EX_CONFIG): PM2 does not restart it (stop_exit_codes). */
const NO_PLATFORM_EXIT = 78;

/** What /health reports for a platform: `failed` and `disabled` are down, the rest up. */
type PlatformState = string;

/** One plain line per problem on stderr: what the operator reads first in `pm2 logs bot`. */
function say(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Prints a check's lines; true when the platform may start. */
function reported(check: CredentialCheck | undefined): boolean {
  if (!check) return false;
  check.problems.forEach(say);
  if (check.unchecked) say(check.unchecked);
  return check.problems.length === 0;
}

async function checkOnly(env: Env): Promise<never> {
  const [slack, discord] = await Promise.all([
    slackMissing(env) ? undefined : checkSlackCredentials(env),
    discordMissing(env) ? undefined : checkDiscordCredentials(env),
  ]);
  const ok = [slack, discord].map(reported);
  process.exit([slack, discord].some((c, i) => c && !ok[i]) ? NO_PLATFORM_EXIT : 0);
}

async function main(env: Env, logger: Logger): Promise<void> {
  const noSlack = slackMissing(env);
  const noDiscord = discordMissing(env);
  if (noSlack) logger.warn(`Slack: skipped — ${noSlack}`);
  if (noDiscord) logger.warn(`Discord: skipped — ${noDiscord}`);
  if (noSlack && noDiscord)
    logger.warn('no platform is configured: this process waits idle (see README: "Set up Slack")');

  // Credentials first: a wrong value stops its platform with one line, before anything listens.
  const [slackCheck, discordCheck] = await Promise.all([
    noSlack ? undefined : checkSlackCredentials(env),
    noDiscord ? undefined : checkDiscordCredentials(env),
  ]);
  const startSlack = reported(slackCheck);
  const startDiscord = reported(discordCheck);
  if ((slackCheck || discordCheck) && !startSlack && !startDiscord) {
    say(
      'No platform left to serve: the bot stops (the worker and console keep running). Fix the lines above and restart it.',
    );
    process.exit(NO_PLATFORM_EXIT);
  }

  const work = await WorkThread.start({ env }, logger, () => process.exit(1));
  // A shutdown stops taking commands, finishes those acknowledged, then disconnects (decision 005).
  const stopIntake: (() => Promise<unknown> | unknown)[] = [];
  const disconnect: (() => Promise<unknown> | unknown)[] = [];
  const states = new Map<ChatPlatform, () => PlatformState>();
  // Filled in once the shutdown steps exist (below); a platform lost before that is acted on there.
  const shutdown: { stop?: (code: number, reason: string) => Promise<void> } = {};
  /** A platform stopped for good while running: said in one line; with none left, the bot stops too. */
  const lost = (platform: ChatPlatform, line: string) => {
    say(line);
    states.set(platform, () => 'failed');
    const alive = [...states.values()].some((state) => !['failed', 'disabled'].includes(state()));
    if (!alive) {
      say('No platform left to serve: the bot stops (the worker and console keep running).');
      void shutdown.stop?.(NO_PLATFORM_EXIT, 'no platform left');
    }
  };

  if (slackCheck) states.set('slack', () => (startSlack ? 'connecting' : 'failed'));
  if (discordCheck) states.set('discord', () => (startDiscord ? 'connecting' : 'failed'));

  // The main thread's own connections: Slack installations (OAuth) and the health check.
  const storage = await openStorage(env, 'pmf-bot');
  disconnect.push(() => storage.close());

  if (startSlack) {
    const slackLogger = logger.child({ platform: 'slack' });
    const installationStore = env.SLACK_BOT_TOKEN ? undefined : createPgInstallationStore(storage.pg);
    const receiver =
      slackMode(env) === 'socket'
        ? socketModeReceiver(boltOptions(env, installationStore), slackLogger, {
            tokenRefused: (code) => lost('slack', slackRefusal('SLACK_APP_TOKEN', code)),
            disabled: (line) => lost('slack', line),
          })
        : undefined;
    const app = createSlackApp({
      env,
      logger: slackLogger,
      installationStore,
      receiver,
      dispatch: (w) => work.dispatch({ platform: 'slack', work: w }),
    });
    states.set('slack', () => receiver?.state() ?? 'listening');
    try {
      await app.start();
      stopIntake.push(() => app.stop());
      logger.info(
        { mode: slackMode(env), port: slackMode(env) === 'http' ? env.SLACK_PORT : undefined },
        'Slack app started',
      );
    } catch (err) {
      const code = slackErrorCode(err);
      lost(
        'slack',
        code
          ? slackRefusal('SLACK_APP_TOKEN', code)
          : `Slack: could not start (${(err as Error).message}); in HTTP mode check that SLACK_PORT ${env.SLACK_PORT} is free.`,
      );
    }
  }

  if (startDiscord) {
    const client: Client = createDiscordBot({
      env,
      logger: logger.child({ platform: 'discord' }),
      dispatch: (w) => work.dispatch({ platform: 'discord', work: w }),
    });
    states.set('discord', () => (client.isReady() ? 'connected' : 'reconnecting'));
    try {
      await startDiscordBot(client, env.DISCORD_TOKEN!);
      // Discord stays connected while the work thread drains: commands arriving then are told to retry.
      disconnect.unshift(() => client.destroy());
      logger.info({ guilds: client.guilds.cache.size }, 'Discord bot started');
    } catch (err) {
      await client.destroy();
      const refused = (err as { code?: unknown }).code === 'TokenInvalid';
      lost(
        'discord',
        refused
          ? discordRefusal('the gateway said the token is invalid')
          : `Discord: could not connect (${(err as Error).message}).`,
      );
    }
  }

  const platforms = () => Object.fromEntries([...states].map(([name, state]) => [name, state()]));
  const ops = env.HEALTH_PORT
    ? await startOpsServer({
        port: healthPort(env.HEALTH_PORT, process.env.NODE_APP_INSTANCE),
        metricsToken: env.METRICS_TOKEN,
        moreMetrics: async () => [await work.metrics()],
        health: async () => {
          const health = await storage.health();
          const now = platforms();
          return {
            ...health,
            ok: health.ok && Object.values(now).every((s) => s !== 'failed' && s !== 'disabled'),
            platforms: now,
          };
        },
      })
    : undefined;
  shutdown.stop = onShutdown(logger, [
    ...stopIntake,
    // New commands are refused kindly from here on; those acknowledged are finished within DRAIN_MS, and those
    // not started by then are told to try again, uncharged.
    () => work.finish(DRAIN_MS, SHED_MS),
    ...disconnect,
    () => ops?.close(),
  ]);
  // A platform lost before the shutdown steps existed (at start) is acted on now.
  if (states.size && [...states.values()].every((state) => ['failed', 'disabled'].includes(state())))
    await shutdown.stop(NO_PLATFORM_EXIT, 'no platform left');
}

const env = loadConfigOrExit();
if (process.argv.includes('--check')) await checkOnly(env);
await main(env, createLogger('bot', env.LOG_LEVEL));
