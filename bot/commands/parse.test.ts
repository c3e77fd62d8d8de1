import { describe, expect, it } from '@jest/globals';
import { editDistance, parseCommand, type Command, type ParseProblem } from './parse.js';

const ok: [string, Command][] = [
  ['an app for dog sitters', { kind: 'research', idea: 'an app for dog sitters', depth: 'standard' }],
  ['  an   app\nfor dog  sitters ', { kind: 'research', idea: 'an app for dog sitters', depth: 'standard' }],
  ['essential an app for dog sitters', { kind: 'research', idea: 'an app for dog sitters', depth: 'essential' }],
  ['Standard an app', { kind: 'research', idea: 'an app', depth: 'standard' }],
  ['DEEP an app', { kind: 'research', idea: 'an app', depth: 'deep' }],
  ['depth=deep an app', { kind: 'research', idea: 'an app', depth: 'deep' }],
  ['--depth essential deep learning tutor', { kind: 'research', idea: 'deep learning tutor', depth: 'essential' }],
  ['standard deep learning tutor', { kind: 'research', idea: 'deep learning tutor', depth: 'standard' }],
  ['help', { kind: 'help' }],
  ['HELP', { kind: 'help' }],
  ['balance', { kind: 'balance' }],
  ['list', { kind: 'list' }],
  ['status R-7KQ2', { kind: 'status', taskId: 'R-7KQ2' }],
  ['cancel R-7KQ2', { kind: 'cancel', taskId: 'R-7KQ2' }],
  // Keywords followed by more words are ideas, not commands.
  [
    'list of local plumbers as a service',
    { kind: 'research', idea: 'list of local plumbers as a service', depth: 'standard' },
  ],
  ['help desk for dentists', { kind: 'research', idea: 'help desk for dentists', depth: 'standard' }],
  [
    'status page for small SaaS teams',
    { kind: 'research', idea: 'status page for small SaaS teams', depth: 'standard' },
  ],
  ['balance board for kids', { kind: 'research', idea: 'balance board for kids', depth: 'standard' }],
  ['Uber', { kind: 'research', idea: 'Uber', depth: 'standard' }],
  ['keep track of dog walks', { kind: 'research', idea: 'keep track of dog walks', depth: 'standard' }],
  ['<!channel> app', { kind: 'research', idea: '<!channel> app', depth: 'standard' }],
  ['x'.repeat(2000), { kind: 'research', idea: 'x'.repeat(2000), depth: 'standard' }],
];

const refused: [string, ParseProblem, RegExp][] = [
  ['', 'empty_idea', /for example/],
  ['   ', 'empty_idea', /for example/],
  ['deep', 'empty_idea', /for example/],
  ['essential   ', 'empty_idea', /for example/],
  ['x'.repeat(2001), 'idea_too_long', /2,001 characters; the limit is 2,000/],
  ['deep ' + 'é'.repeat(2001), 'idea_too_long', /2,001/],
  ['depth=quick an app', 'unknown_depth', /"quick" is not a research depth.*essential \(6 credits\)/],
  ['--depth ultra an app', 'unknown_depth', /"ultra"/],
  ['standart an app for dogs', 'unknown_depth', /Did you mean `standard`/],
  ['esential an app for dogs', 'unknown_depth', /Did you mean `essential`/],
  ['balanse', 'unknown_subcommand', /Did you mean `balance`/],
  ['hlep', 'unknown_subcommand', /Did you mean `help`/],
  ['stauts', 'unknown_subcommand', /Did you mean `status`/],
  ['lst', 'unknown_subcommand', /Did you mean `list`/],
  ['status', 'missing_id', /status R-7KQ2/],
  ['cancel', 'missing_id', /cancel R-7KQ2/],
  ['cancel R-7KQ2 please', 'missing_id', /takes one research id/],
  ['cancel <@U123>', 'missing_id', /takes one research id/],
];

describe('parseCommand', () => {
  it.each(ok)('parses %j', (text, command) => {
    expect(parseCommand(text)).toEqual({ ok: true, command });
  });

  it.each(refused)('refuses %j as %s', (text, problem, message) => {
    const result = parseCommand(text);
    expect(result).toMatchObject({ ok: false, problem });
    if (!result.ok) expect(result.message).toMatch(message);
  });

  it('measures edit distance', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('same', 'same')).toBe(0);
    expect(editDistance('hlep', 'help')).toBe(1);
  });
});
