import { describe, expect, it } from '@jest/globals';
import { parseEnv } from '../core/config/index.js';
import { discordMissing, slackMissing } from './platforms.js';

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
