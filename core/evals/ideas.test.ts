// The shipped idea set parses and covers the kinds the issue asks for; a bad line is named by its number.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { IdeaSetError, parseIdeaSet } from './ideas.js';

describe('evals/ideas.jsonl', () => {
  const ideas = parseIdeaSet(readFileSync(new URL('../../evals/ideas.jsonl', import.meta.url), 'utf8'));

  it('has 20 ideas across the required kinds, each with at least three items to cover', () => {
    expect(ideas).toHaveLength(20);
    const kinds = new Set(ideas.map((i) => i.kind));
    for (const k of [
      'consumer app',
      'B2B SaaS',
      'marketplace',
      'hardware',
      'health',
      'fintech',
      'developer tool',
      'local service',
      'vague',
      'non-English',
    ])
      expect(kinds).toContain(k);
    for (const i of ideas) expect(i.mustCover.length).toBeGreaterThanOrEqual(3);
  });
});

describe('parseIdeaSet', () => {
  const line = (id: string) =>
    JSON.stringify({ id, kind: 'kind', idea: 'An idea long enough', mustCover: [{ item: 'abc', keywords: ['x'] }] });

  it('skips blank lines and comments', () => {
    expect(parseIdeaSet(`# mine\n\n${line('a')}\n`).map((i) => i.id)).toEqual(['a']);
  });

  it('names the line of a bad or duplicate entry', () => {
    expect(() => parseIdeaSet(`${line('a')}\n{oops`)).toThrow(/ideas\.jsonl:2: not valid JSON/);
    expect(() => parseIdeaSet(`${line('a')}\n${line('a')}`)).toThrow(/:2: duplicate id "a"/);
    expect(() => parseIdeaSet(line('Bad Id'))).toThrow(IdeaSetError);
  });
});
