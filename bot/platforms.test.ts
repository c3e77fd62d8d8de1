import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { parseEnv } from '../core/config/index.js';
import { startFakeDiscord, type FakeDiscord } from '../test/fakes/discord/index.js';
import { DEFAULT_TOKEN, startFakeSlack, type FakeSlack } from '../test/fakes/slack/server.js';
import { checkDiscordCredentials, checkSlackCredentials, discordMissing, slackMissing } from './platforms.js';

const base = { DATABASE_URL: 'postgres://h/db', MONGO_URL: 'mongodb://h/db', REDIS_URL: 'redis://h' };

describe('which platforms can start', () => {
  it.each([
    [{}, /SLACK_BOT_TOKEN/],
    [{ SLACK_BOT_TOKEN: 'xoxb-1' }, /SLACK_SIGNING_SECRET/],
    [{ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_MODE: 'socket' }, /SLACK_APP_TOKEN/],
    [{ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1' }, undefined],
    [{ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's' }, undefined],
    [{ SLACK_CLIENT_ID: 'c', SLACK_CLIENT_SECRET: 's', SLACK_SIGNING_SECRET: 's' }, undefined],
    [{ SLACK_CLIENT_ID: 'c', SLACK_SIGNING_SECRET: 's' }, /SLACK_CLIENT_SECRET/],
  ])('Slack with %j → %s', (vars, expected) => {
    const missing = slackMissing(parseEnv({ ...base, ...vars }));
    if (expected) expect(missing).toMatch(expected);
    else expect(missing).toBeUndefined();
  });

  it('Discord needs its token', () => {
    expect(discordMissing(parseEnv(base))).toMatch(/DISCORD_TOKEN/);
    expect(discordMissing(parseEnv({ ...base, DISCORD_TOKEN: 't' }))).toBeUndefined();
  });
});

describe('credentials checked before anything listens', () => {
  const APP_TOKEN = `xapp-1-A1-${randomUUID()}`;
  let slack: FakeSlack;
  let discord: FakeDiscord;
  beforeAll(async () => {
    slack = await startFakeSlack({ socketMode: { appTokens: { [APP_TOKEN]: 'A1' } } });
    discord = await startFakeDiscord();
  });
  afterAll(async () => {
    await slack?.close();
    await discord?.close();
  });
  const slackEnv = (vars: Record<string, string>) =>
    parseEnv({ ...base, SLACK_API_URL: slack.apiUrl, SLACK_BOT_TOKEN: DEFAULT_TOKEN, ...vars });
  const discordEnv = (vars: Record<string, string>) =>
    parseEnv({
      ...base,
      DISCORD_API_URL: discord.apiUrl,
      DISCORD_TOKEN: discord.token,
      DISCORD_APPLICATION_ID: discord.applicationId,
      ...vars,
    });

  it('accepts good Slack tokens in both modes, with one call each', async () => {
    const before = slack.calls.length;
    expect(await checkSlackCredentials(slackEnv({ SLACK_APP_TOKEN: APP_TOKEN }))).toEqual({ problems: [] });
    expect(
      slack.calls
        .slice(before)
        .map((c) => c.method)
        .sort(),
    ).toEqual(['apps.connections.open', 'auth.test']);
    expect(await checkSlackCredentials(slackEnv({ SLACK_SIGNING_SECRET: 's', SLACK_MODE: 'http' }))).toEqual({
      problems: [],
    });
  });

  it('names the bot token pasted as the app token, without calling Slack or printing it', async () => {
    const before = slack.calls.length;
    const { problems } = await checkSlackCredentials(slackEnv({ SLACK_APP_TOKEN: DEFAULT_TOKEN }));
    expect(problems).toEqual([
      'Slack: SLACK_APP_TOKEN is a bot token (xoxb-…), not an app-level token (xapp-…): Socket Mode needs one with the connections:write scope, from "Basic Information → App-Level Tokens" (README: "Set up Slack").',
    ]);
    expect(problems.join()).not.toContain(DEFAULT_TOKEN);
    expect(slack.calls.length).toBe(before);
  });

  it('names each token Slack refuses, with its error', async () => {
    const { problems } = await checkSlackCredentials(
      slackEnv({ SLACK_BOT_TOKEN: 'xoxb-revoked', SLACK_APP_TOKEN: 'xapp-1-unknown' }),
    );
    expect(problems.sort()).toEqual([
      'Slack: SLACK_APP_TOKEN was refused by Slack (invalid_auth): create an app-level token (xapp-…) with the connections:write scope under "Basic Information → App-Level Tokens" (README: "Set up Slack").',
      'Slack: SLACK_BOT_TOKEN was refused by Slack (invalid_auth): copy the Bot User OAuth Token (xoxb-…) again from "Install App" in the app settings (README: "Set up Slack").',
    ]);
  });

  it('starts anyway when Slack cannot be reached, and says so', async () => {
    const check = await checkSlackCredentials(
      parseEnv({
        ...base,
        SLACK_API_URL: 'http://127.0.0.1:9/api/',
        SLACK_BOT_TOKEN: 'xoxb-1',
        SLACK_SIGNING_SECRET: 's',
      }),
    );
    expect(check.problems).toEqual([]);
    expect(check.unchecked).toMatch(/^Slack: could not reach Slack to check SLACK_BOT_TOKEN/);
  });

  it('accepts a good Discord token whose application is DISCORD_APPLICATION_ID', async () => {
    expect(await checkDiscordCredentials(discordEnv({}))).toEqual({ problems: [] });
    expect(discord.requests.map((r) => r.route)).toEqual(
      expect.arrayContaining(['GET /users/@me', 'GET /applications/@me']),
    );
  });

  it('names a refused Discord token, an application id of another app, and a "Bot " prefix', async () => {
    expect((await checkDiscordCredentials(discordEnv({ DISCORD_TOKEN: 'not-the-token' }))).problems).toEqual([
      'Discord: DISCORD_TOKEN was refused by Discord (401 Unauthorized): reset the bot token under "Bot → Reset Token" in the developer portal and paste it whole (README: "Set up Discord").',
    ]);
    const other = '123456789012345678';
    expect((await checkDiscordCredentials(discordEnv({ DISCORD_APPLICATION_ID: other }))).problems).toEqual([
      `Discord: DISCORD_APPLICATION_ID is ${other}, but DISCORD_TOKEN belongs to application ${discord.applicationId}: copy both from the same application in the developer portal (README: "Set up Discord").`,
    ]);
    expect((await checkDiscordCredentials(discordEnv({ DISCORD_TOKEN: `Bot ${discord.token}` }))).problems).toEqual([
      'Discord: DISCORD_TOKEN starts with "Bot ": set the token alone, without the prefix (README: "Set up Discord").',
    ]);
  });
});
