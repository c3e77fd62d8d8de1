import { cleanText } from '../text/clean.js';
import { MAX_IDEA_LENGTH } from './depth.js';

export type IdeaCheck = { ok: true; idea: string } | { ok: false; problem: 'empty' | 'too_long'; message: string };

const EXAMPLE = 'an app that matches dog owners with vetted sitters in their neighbourhood';

/**
 * Removes control and bidi characters (decision 039), trims and folds white space; refuses an empty idea or
 * one over 2,000 characters, saying what to do.
 */
export function checkIdea(raw: string): IdeaCheck {
  const idea = cleanText(raw).replace(/\s+/g, ' ').trim();
  if (!idea) {
    return { ok: false, problem: 'empty', message: `Tell me the product idea to research, for example: "${EXAMPLE}".` };
  }
  const length = [...idea].length;
  if (length > MAX_IDEA_LENGTH) {
    return {
      ok: false,
      problem: 'too_long',
      message: `That idea is ${length.toLocaleString('en-US')} characters; the limit is ${MAX_IDEA_LENGTH.toLocaleString('en-US')}. Describe the product, the customer and the problem in a few sentences.`,
    };
  }
  return { ok: true, idea };
}
