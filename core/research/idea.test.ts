import { describe, expect, it } from '@jest/globals';
import { checkIdea } from './idea.js';

describe('checkIdea', () => {
  it.each([
    ['', 'empty'],
    ['   \n\t ', 'empty'],
    ['x'.repeat(2001), 'too_long'],
    ['🐶'.repeat(2001), 'too_long'],
  ])('refuses %j as %s with a friendly message', (raw, problem) => {
    const r = checkIdea(raw);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.problem).toBe(problem);
      expect(r.message.length).toBeGreaterThan(20);
    }
  });

  it('folds white space and counts characters, not UTF-16 units', () => {
    expect(checkIdea('  dog \n sitters  ')).toEqual({ ok: true, idea: 'dog sitters' });
    expect(checkIdea('🐶'.repeat(2000)).ok).toBe(true);
  });

  it('removes control characters, escape sequences and bidi overrides before checking', () => {
    expect(checkIdea('dog\x1b[31m sitters\u202e\x00 app')).toEqual({ ok: true, idea: 'dog sitters app' });
    expect(checkIdea('\x1b[2J\u202e\x07').ok).toBe(false);
  });
});
