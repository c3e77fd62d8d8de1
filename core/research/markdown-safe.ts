// Markdown that no input can take over (decision 038). Every link the report writes is built here, with its
// destination in angle brackets and percent-encoded so that no character of a URL can end it, and its text
// escaped so that no character of a title can open, close or add a link. Prose is escaped so that nothing
// in it can form a link either: its only brackets left are our own `[n]` citation numbers.
import { cleanText } from '../text/clean.js';

const encoder = new TextEncoder();
const percent = (c: string) =>
  [...encoder.encode(c)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');

/**
 * A link destination that stays one: every character outside the URL characters that cannot end or escape a
 * Markdown destination (letters, digits, `-._~:/?#@!$&'*+,;=` and `%` starting an escape) is percent-encoded,
 * among them `(`, `)`, `[`, `]`, `<`, `>`, `\`, backtick, quotes, spaces, controls and non-ASCII.
 */
export function encodeDestination(url: string): string {
  return url.replace(/%(?![0-9A-Fa-f]{2})|[^A-Za-z0-9\-._~:/?#@!$&'*+,;=%]/gu, percent);
}

/**
 * Link text on one line, with what could end the text early, open another link or tag, or swallow the
 * closing bracket into a code span backslash-escaped: `\`, backtick, `*`, `_`, `[`, `]`, `<`, `>`.
 */
export function escapeLinkText(text: string): string {
  return defangUrls(cleanText(text))
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[\\`*_[\]<>]/g, '\\$&');
}

/** `[text](<url>)` for an http(s) URL; anything else is not a link, only its escaped text. */
export function markdownLink(text: string, url: string, fallback = url): string {
  const label = escapeLinkText(text) || escapeLinkText(fallback);
  if (!/^https?:\/\/[^\s/?#]/i.test(url)) return label;
  return `[${label}](<${encodeDestination(url)}>)`;
}

// Everything GFM renderers (and Slack, and Discord) turn into a link, one kind per pass so that one match
// cannot hide another (`a@b.iohttps://x.io`): autolinks `<scheme:…>`, scheme URLs, `www.` hosts, e-mail
// addresses. Renderers look for these anywhere in a word, so neither do the patterns need a word boundary.
const LINKABLE = [
  /<[A-Za-z][A-Za-z0-9+.-]{1,31}:[^<>\s]*>/g,
  /[A-Za-z][A-Za-z0-9+.-]{0,31}:\/\/[^\s<>"'`]*/g,
  /www\.[^\s<>"'`]*/gi,
  // An address needs a dotted domain after its `@`; bracketing those dots is enough, whatever precedes it.
  /@[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+/g,
];

/**
 * Text a reader can still read but no renderer can link: `https://rover.com/x` → `https[:]//rover[.]com/x`,
 * `www.rover.com` → `www[.]rover[.]com`, `a@b.io` → `a@b[.]io`. Every `.` and `:` of what is found is
 * bracketed. For text that is not the model's cited prose (the idea, reasons, titles), and as a last guard.
 */
export function defangUrls(text: string): string {
  return LINKABLE.reduce((out, pattern) => out.replace(pattern, (found) => found.replace(/[.:]/g, '[$&]')), text);
}

/**
 * Prose for the Markdown file: URLs defanged, then backslash, brackets and angle brackets escaped, except the
 * `[n]` citation numbers 1…`citations` (a `(` right after one is escaped so it can never become a link), and a
 * `#` that would start a heading. The text reads the same; nothing in it is a link or a tag.
 */
export function escapeProse(text: string, citations: number): string {
  return defangUrls(cleanText(text))
    .replace(/\[(\d{1,4})\](\(?)|[\\[\]<>]/g, (found, n: string | undefined, paren: string | undefined) => {
      if (n !== undefined && Number(n) >= 1 && Number(n) <= citations) return `[${n}]${paren ? '\\(' : ''}`;
      return found.replace(/[\\[\]<>(]/g, '\\$&');
    })
    .replace(/^([ \t]*)#/gm, '$1\\#');
}
