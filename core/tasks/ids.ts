import { randomInt } from 'node:crypto';

// Crockford-style base32 without the look-alikes 0/O, 1/I/L (and U): what a person reads off a Slack message
// and types into the console can be entered without ambiguity. 28 symbols ^ 4 ≈ 615k ids; uniqueness is
// enforced by the unique index on `id`, and the store draws a longer id after repeated collisions.
export const TASK_ID_ALPHABET = '23456789ABCDEFGHJKMNPQRSTVWXYZ';
const TASK_ID_PREFIX = 'R-';

/** A random task id such as `R-7KQ2`; `length` grows when the short space is crowded. */
export function newTaskId(length = 4): string {
  let body = '';
  for (let i = 0; i < length; i++) body += TASK_ID_ALPHABET[randomInt(TASK_ID_ALPHABET.length)];
  return TASK_ID_PREFIX + body;
}

/** Accepts what a person typed (`r-7kq2`, `7KQ2`, ` R 7KQ2 `) and returns the canonical id, or undefined. */
export function normalizeTaskId(typed: string): string | undefined {
  const body = typed
    .trim()
    .toUpperCase()
    .replace(/^R[-\s]*/, '')
    .replace(/[\s-]/g, '');
  if (body.length < 4 || body.length > 12) return undefined;
  for (const ch of body) if (!TASK_ID_ALPHABET.includes(ch)) return undefined;
  return TASK_ID_PREFIX + body;
}
