import type { Env } from '../core/config/index.js';
import { slackMode } from './slack/app.js';

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
