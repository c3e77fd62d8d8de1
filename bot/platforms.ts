import { LogLevel, WebClient } from '@slack/web-api';
import { DiscordAPIError, REST, Routes } from 'discord.js';
import type { Env } from '../core/config/index.js';
import { slackMode } from './slack/app.js';
import { slackApiUrlOption } from './slack/client.js';

/** Why Slack cannot start with this configuration (one line saying what to set), or undefined when it can. */
export function slackMissing(env: Env): string | undefined {
  const hasAuth = env.SLACK_BOT_TOKEN || (env.SLACK_CLIENT_ID && env.SLACK_CLIENT_SECRET);
  if (!hasAuth) return 'set SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID + SLACK_CLIENT_SECRET (OAuth)';
  if (slackMode(env) === 'socket' && !env.SLACK_APP_TOKEN) return 'Socket Mode needs SLACK_APP_TOKEN (xapp-…)';
  if (slackMode(env) === 'http' && !env.SLACK_SIGNING_SECRET) return 'HTTP mode needs SLACK_SIGNING_SECRET';
  return undefined;
}

export function discordMissing(env: Env): string | undefined {
  if (!env.DISCORD_TOKEN) return 'set DISCORD_TOKEN and DISCORD_APPLICATION_ID';
  return undefined;
}

const SLACK_HELP = 'README: "Set up Slack"';
const DISCORD_HELP = 'README: "Set up Discord"';

/** What a credential check found: lines that stop the platform, and a note when the check could not be made. */
export type CredentialCheck = { problems: string[]; unchecked?: string };

/** Problems with the Slack values that need no network: the kind of token each variable holds. */
function slackShapeProblems(env: Env): string[] {
  const problems: string[] = [];
  const bot = env.SLACK_BOT_TOKEN;
  if (bot && !/^(xoxe\.)?xoxb-/.test(bot))
    problems.push(
      `Slack: SLACK_BOT_TOKEN is ${slackTokenKind(bot)}, not a bot token (xoxb-…): use the Bot User OAuth Token from "Install App" in the app settings (${SLACK_HELP}).`,
    );
  const app = env.SLACK_APP_TOKEN;
  if (slackMode(env) === 'socket' && app && !app.startsWith('xapp-'))
    problems.push(
      `Slack: SLACK_APP_TOKEN is ${slackTokenKind(app)}, not an app-level token (xapp-…): Socket Mode needs one with the connections:write scope, from "Basic Information → App-Level Tokens" (${SLACK_HELP}).`,
    );
  return problems;
}

/** The line for a token Slack refused (`code` is Slack's error, e.g. invalid_auth). */
export function slackRefusal(variable: 'SLACK_BOT_TOKEN' | 'SLACK_APP_TOKEN', code: string): string {
  const where =
    variable === 'SLACK_BOT_TOKEN'
      ? 'copy the Bot User OAuth Token (xoxb-…) again from "Install App" in the app settings'
      : 'create an app-level token (xapp-…) with the connections:write scope under "Basic Information → App-Level Tokens"';
  return `Slack: ${variable} was refused by Slack (${code}): ${where} (${SLACK_HELP}).`;
}

/**
 * Checks the Slack credentials before anything listens: their shape, then one cheap call each (auth.test for
 * the bot token, apps.connections.open for the app token in Socket Mode). Slack out of reach is not a
 * credential problem: it is reported as unchecked and the platform starts (and retries) anyway.
 */
export async function checkSlackCredentials(env: Env): Promise<CredentialCheck> {
  const problems = slackShapeProblems(env);
  if (problems.length) return { problems };
  const options = {
    ...slackApiUrlOption(env.SLACK_API_URL),
    retryConfig: { retries: 0 },
    timeout: 10_000,
    logLevel: LogLevel.ERROR,
  };
  const calls: [variable: 'SLACK_BOT_TOKEN' | 'SLACK_APP_TOKEN', call: () => Promise<unknown>][] = [];
  if (env.SLACK_BOT_TOKEN)
    calls.push(['SLACK_BOT_TOKEN', () => new WebClient(env.SLACK_BOT_TOKEN, options).auth.test()]);
  if (slackMode(env) === 'socket' && env.SLACK_APP_TOKEN)
    calls.push(['SLACK_APP_TOKEN', () => new WebClient(env.SLACK_APP_TOKEN, options).apps.connections.open()]);
  let unchecked: string | undefined;
  await Promise.all(
    calls.map(async ([variable, call]) => {
      try {
        await call();
      } catch (err) {
        const code = (err as { data?: { error?: unknown } }).data?.error;
        if (typeof code === 'string') problems.push(slackRefusal(variable, code));
        else
          unchecked = `Slack: could not reach Slack to check ${variable} (${(err as Error).message}); starting anyway.`;
      }
    }),
  );
  return { problems, unchecked };
}

/** Problems with the Discord values that need no network. */
function discordShapeProblems(env: Env): string[] {
  const token = env.DISCORD_TOKEN ?? '';
  if (/^bot\s/i.test(token))
    return [`Discord: DISCORD_TOKEN starts with "Bot ": set the token alone, without the prefix (${DISCORD_HELP}).`];
  if (/\s/.test(token))
    return [
      `Discord: DISCORD_TOKEN contains a space or line break: paste the token alone, on one line (${DISCORD_HELP}).`,
    ];
  if (env.DISCORD_APPLICATION_ID && !/^\d{15,21}$/.test(env.DISCORD_APPLICATION_ID))
    return [
      `Discord: DISCORD_APPLICATION_ID "${env.DISCORD_APPLICATION_ID}" is not an id (digits only): copy the Application ID from "General Information" in the developer portal (${DISCORD_HELP}).`,
    ];
  return [];
}

/** The line for a bot token Discord refused. */
export function discordRefusal(status: string): string {
  return `Discord: DISCORD_TOKEN was refused by Discord (${status}): reset the bot token under "Bot → Reset Token" in the developer portal and paste it whole (${DISCORD_HELP}).`;
}

/**
 * Checks the Discord credentials before the gateway is opened: their shape, GET /users/@me with the bot token,
 * and that DISCORD_APPLICATION_ID is the token's application (GET /applications/@me).
 */
export async function checkDiscordCredentials(env: Env): Promise<CredentialCheck> {
  const problems = discordShapeProblems(env);
  if (problems.length) return { problems };
  const rest = new REST({ retries: 0, timeout: 10_000, ...(env.DISCORD_API_URL ? { api: env.DISCORD_API_URL } : {}) });
  rest.setToken(env.DISCORD_TOKEN!);
  try {
    await rest.get(Routes.user());
    const app = (await rest.get(Routes.currentApplication())) as { id?: string };
    if (env.DISCORD_APPLICATION_ID && app.id && app.id !== env.DISCORD_APPLICATION_ID)
      problems.push(
        `Discord: DISCORD_APPLICATION_ID is ${env.DISCORD_APPLICATION_ID}, but DISCORD_TOKEN belongs to application ${app.id}: copy both from the same application in the developer portal (${DISCORD_HELP}).`,
      );
    return { problems };
  } catch (err) {
    if (err instanceof DiscordAPIError && err.status === 401) return { problems: [discordRefusal('401 Unauthorized')] };
    return {
      problems,
      unchecked: `Discord: could not check DISCORD_TOKEN (${(err as Error).message}); starting anyway.`,
    };
  } finally {
    rest.clearHashSweeper();
    rest.clearHandlerSweeper();
  }
}

/** What kind of Slack token this is, for messages that must not print it. */
function slackTokenKind(token: string): string {
  if (/^(xoxe\.)?xoxb-/.test(token)) return 'a bot token (xoxb-…)';
  if (token.startsWith('xapp-')) return 'an app-level token (xapp-…)';
  if (token.startsWith('xoxp-')) return 'a user token (xoxp-…)';
  if (/^xox[a-z]-/.test(token)) return `a ${token.slice(0, 5)}… token`;
  return 'not a Slack token';
}
