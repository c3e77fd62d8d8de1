import { describe, expect, it } from '@jest/globals';
import { newTaskId, normalizeTaskId, TASK_ID_ALPHABET } from './ids.js';
import { foldText, keywordsOf, parseKeywordQuery, prefixPattern } from './keywords.js';

describe('task ids', () => {
  it('are R- and four symbols from an alphabet without look-alikes', () => {
    for (let i = 0; i < 200; i++) expect(newTaskId()).toMatch(/^R-[23456789ABCDEFGHJKMNPQRSTVWXYZ]{4}$/);
    expect(TASK_ID_ALPHABET).not.toMatch(/[01OIL]/);
  });
  it('normalise what a person typed', () => {
    expect(normalizeTaskId(' r-7kq2 ')).toBe('R-7KQ2');
    expect(normalizeTaskId('7KQ2')).toBe('R-7KQ2');
    expect(normalizeTaskId('R-7KO2')).toBeUndefined();
    expect(normalizeTaskId('R-7K')).toBeUndefined();
  });
});

describe('keywords', () => {
  it('fold case, accents and punctuation', () => {
    expect(foldText('Café-Apps! für Hunde')).toBe('cafe apps fur hunde');
  });
  it('drop stop words and duplicates', () => {
    expect(keywordsOf('An app for the dog owners', 'Dog sitters')).toEqual(['dog', 'owners', 'sitters']);
  });
  it('treat a last word still being typed as a prefix', () => {
    expect(parseKeywordQuery('dog sit')).toEqual({ exact: ['dog'], prefix: 'sit' });
    expect(parseKeywordQuery('dog sitters ')).toEqual({ exact: ['dog', 'sitters'] });
    expect(parseKeywordQuery('the')).toEqual({ exact: [], prefix: 'the' });
    expect(parseKeywordQuery('  ')).toEqual({ exact: [] });
  });
  it('escape regex characters in a prefix', () => {
    expect(prefixPattern('a.b')).toBe('^a\\.b');
  });
});
