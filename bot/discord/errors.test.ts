// Discord's refusals in plain words: every code the delivery meets names its fix.
import { describe, expect, it } from '@jest/globals';
import { DiscordAPIError } from 'discord.js';
import { discordErrorCode, discordProblemText, type DiscordPermission } from './errors.js';

describe('discordProblemText', () => {
  it.each([
    [50001, /View Channel/],
    [10003, /deleted: run the command again in another channel/],
    [50083, /archived.*unarchive it/],
    [160005, /locked: a moderator needs to unlock it/],
    [40005, /upload limit/],
    [50035, /our bug, please tell the PMF Scout operators/],
    [50007, /allow direct messages/],
  ])('%i names its fix', (code, fix) => {
    expect(discordProblemText(code)).toMatch(fix);
  });

  it.each<DiscordPermission>([
    'Send Messages',
    'Send Messages in Threads',
    'Attach Files',
    'Embed Links',
    'Create Public Threads',
    'Read Message History',
  ])('50013 names the missing permission (%s) and who grants it', (permission) => {
    const text = discordProblemText(50013, permission)!;
    expect(text).toContain(`**${permission}**`);
    expect(text).toContain('server admin');
  });

  it('50013 without a known permission lists all the bot needs; unknown codes are left to the caller', () => {
    expect(discordProblemText(50013)).toContain('Attach Files');
    expect(discordProblemText(99999)).toBeUndefined();
  });
});

describe('discordErrorCode', () => {
  it('finds the code through wrappers', () => {
    const api = new DiscordAPIError({ code: 50083, message: 'Thread is archived' }, 50083, 400, 'POST', '/x', {
      body: undefined,
      files: undefined,
    });
    expect(discordErrorCode(new Error('outer', { cause: api }))).toBe(50083);
    expect(discordErrorCode(new Error('plain'))).toBeUndefined();
  });
});
