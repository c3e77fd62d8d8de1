import { describe, expect, it } from '@jest/globals';
import { countQueryTerms, terms } from './terms.js';

/** The definition countQueryTerms implements: tokenize with `terms`, then count. */
function reference(text: string, query: string[]) {
  const all = terms(text);
  return { length: all.length, tf: query.map((q) => all.filter((t) => t === q).length) };
}

const QUERY = [...new Set(terms('dog sitters pricing companies price trust booking 2024 café naïve 数字'))];

const TEXTS = [
  '',
  '   ',
  'Dog sitters, dog-sitting and DOG SITTERS: the sitter sits; sitters sit.',
  'Pricing, prices, priced and PRICE; companies and company; trusting trusted trusts.',
  'The a an of to is it: stop words, a b c single letters, and app apps tools count as nothing.',
  'Bookings booked booking bookers — in 2024 and 2024s, 1,200 and 3.5x; U.S. e.g. x1 9',
  'Café CAFÉ cafés naïve NAÏVE; Ünïcödé wörds 日本語のテキスト 数字１２３ 数字',
  '𝐀𝐁𝐂 math letters 😀 emoji; dog😀sitters 𝐀dog sitters😀 😀',
  'ies flies skies company companies ers er es s ing sing thing',
  'tab\tseparated\nlines\r\nand\u00a0no-break\u2003spaces dog\u200bsitters',
];

describe('countQueryTerms', () => {
  it.each(TEXTS.map((t) => [t]))('counts as tokenizing with terms() does: %j', (text) => {
    expect(countQueryTerms([text], QUERY)).toEqual([reference(text, QUERY)]);
  });

  it('counts several texts at once, each on its own', () => {
    expect(countQueryTerms(TEXTS, QUERY)).toEqual(TEXTS.map((t) => reference(t, QUERY)));
  });

  it('finds a query term that only differs by case or suffix, and not one that merely starts alike', () => {
    const [counts] = countQueryTerms(['Sitters sitter SITTING sitterly sit'], terms('sitters'));
    expect(counts).toEqual({ length: 5, tf: [3] });
  });
});
