// Web text is data. Everything that came from a web page or from the LLM passes through here before it
// reaches a prompt, a report, Slack or Discord: no raw HTML, no script links, no mass mentions, and (first of
// all) no control characters, escape sequences or bidi overrides (cleanText, decision 039).
import { cleanText } from '../text/clean.js';

const ZWSP = '\u200b';

/** Breaks Slack and Discord mentions so they render as plain text and notify nobody. */
export function neutralizeMentions(text: string): string {
  return (
    text
      // Slack specials and user/channel/group mentions: <!channel>, <!here|here>, <!subteam^S1>, <@U123>, <#C1>
      .replace(
        /<!(channel|here|everyone|subteam\^[^>|]*)(?:\|[^>]*)?>/gi,
        (_m, name: string) => `@${ZWSP}${name.replace(/^subteam\^/i, 'team-')}`,
      )
      .replace(/<([@#])[!&]?([A-Z0-9]+)(?:\|[^>]*)?>/gi, (_m, sigil: string, id: string) => `${sigil}${ZWSP}${id}`)
      // Discord/Slack plain-text mass mentions.
      .replace(/@(everyone|here|channel)\b/gi, `@${ZWSP}$1`)
  );
}

const SCRIPT_SCHEME = /\b(?:javascript|vbscript|livescript)\s*:[^\s)\]>"']*/gi;
const DATA_URI = /\bdata:[a-z]+\/[a-z0-9.+-]+[;,][^\s)\]>"']*/gi;

/** Removes HTML elements (script/style with their content), comments and tags; decodes nothing. */
function stripHtml(text: string): string {
  return text
    .replace(/<(script|style|iframe|object|embed|noscript|template)\b[^>]*>[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<\/?(?:a|b|i|u|em|strong|span|code|small|sup|sub|mark|abbr)(?:\s[^<>]*)?>/gi, '')
    .replace(/<\/?[a-z][a-z0-9-]*(?:\s[^<>]*)?\/?>/gi, ' ')
    .replace(/<\/?(script|style|iframe)\b/gi, ' ');
}

/** Markdown links and images keep only their text when they point anywhere but http(s). */
function stripUnsafeLinks(text: string): string {
  return text
    .replace(/!?\[([^\]\n]*)\]\(\s*(?!https?:\/\/)[^)]*\)/gi, '$1')
    .replace(SCRIPT_SCHEME, '[link removed]')
    .replace(DATA_URI, '[link removed]');
}

/** The one function every output string goes through. Mentions are neutralized first so `<!here>` is not taken for a tag. */
export function sanitizeText(text: string): string {
  return stripUnsafeLinks(stripHtml(neutralizeMentions(cleanText(text))))
    .replace(/(\S)[ \t]{2,}/g, '$1 ')
    .replace(/\n{3,}/g, '\n\n');
}

/** Deep-sanitizes every string in a JSON-like value (a report), leaving its shape alone. */
export function sanitizeDeep<T>(value: T): T {
  if (typeof value === 'string') return sanitizeText(value) as T;
  if (Array.isArray(value)) return value.map((v) => sanitizeDeep(v)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, sanitizeDeep(v)])) as T;
  }
  return value;
}

/** For text going into a prompt: also neutralizes anything that could close or forge our `<source>` fences. */
export function fenceSafe(text: string): string {
  return sanitizeText(text)
    .replace(/<\/?\s*source\b[^>]*>?/gi, '[tag removed]')
    .replace(/[<>]/g, (c) => (c === '<' ? '‹' : '›'));
}
