import { describe, expect, it } from '@jest/globals';
import { parseCommand } from '../commands/parse.js';
import { commandFromOptions } from './commands.js';

const IDEA = 'an app that matches dog owners with vetted sitters';

describe('commandFromOptions', () => {
  it.each([
    [
      { subcommand: 'research', idea: IDEA, depth: 'deep' },
      { kind: 'research', idea: IDEA, depth: 'deep' },
    ],
    [
      { subcommand: 'research', idea: `  ${IDEA} `, depth: null },
      { kind: 'research', idea: IDEA, depth: 'standard' },
    ],
    [
      { subcommand: 'research', idea: IDEA, depth: 'bottomless' },
      { kind: 'research', idea: IDEA, depth: 'standard' },
    ],
    [{ subcommand: 'balance' }, { kind: 'balance' }],
    [{ subcommand: 'list' }, { kind: 'list' }],
    [
      { subcommand: 'status', id: 'R-7KQ2' },
      { kind: 'status', taskId: 'R-7KQ2' },
    ],
    [
      { subcommand: 'cancel', id: 'r-7kq2' },
      { kind: 'cancel', taskId: 'r-7kq2' },
    ],
    [{ subcommand: 'help' }, { kind: 'help' }],
    [{ subcommand: null }, { kind: 'help' }],
    [{ subcommand: 'history' }, { kind: 'help' }],
  ])('%j -> %j', (options, command) => {
    expect(commandFromOptions(options)).toEqual({ ok: true, command });
  });

  it('gives the same command as the same request typed on Slack', () => {
    expect(commandFromOptions({ subcommand: 'research', idea: IDEA, depth: 'essential' })).toEqual(
      parseCommand(`essential ${IDEA}`),
    );
    expect(commandFromOptions({ subcommand: 'cancel', id: 'R-7KQ2' })).toEqual(parseCommand('cancel R-7KQ2'));
  });

  it('refuses an empty or over-long idea with the same words as Slack', () => {
    const empty = commandFromOptions({ subcommand: 'research', idea: '   ' });
    expect(empty).toMatchObject({ ok: false, problem: 'empty_idea' });
    expect(empty).toEqual(parseCommand(''));
    expect(commandFromOptions({ subcommand: 'research', idea: 'x'.repeat(5000) })).toMatchObject({
      ok: false,
      problem: 'idea_too_long',
    });
  });

  it('asks which research when a status or cancel comes without an id', () => {
    expect(commandFromOptions({ subcommand: 'status', id: null })).toMatchObject({ ok: false, problem: 'missing_id' });
  });
});
