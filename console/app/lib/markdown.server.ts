// Reports are written from web pages and LLM output: untrusted. Markdown is rendered with marked and the
// HTML then passes an allowlist, so <script>, event handlers (onerror=…) and javascript:/data: links
// come out inert. Rendering happens on the server; the browser receives only the sanitized HTML.
import { marked } from 'marked';
import sanitizeHtml from 'sanitize-html';
import { cleanText } from '../../../core/text/clean.js';

const ALLOWED_TAGS = [
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'p',
  'br',
  'hr',
  'blockquote',
  'pre',
  'code',
  'em',
  'strong',
  'del',
  's',
  'ul',
  'ol',
  'li',
  'a',
  'table',
  'thead',
  'tbody',
  'tr',
  'th',
  'td',
  'sup',
  'sub',
];

export function renderReportMarkdown(markdown: string): string {
  const html = marked.parse(cleanText(markdown), { async: false, gfm: true });
  return sanitizeHtml(html, {
    allowedTags: ALLOWED_TAGS,
    allowedAttributes: { a: ['href', 'title', 'rel', 'target'], th: ['align'], td: ['align'], code: ['class'] },
    allowedSchemes: ['http', 'https', 'mailto'],
    allowedSchemesAppliedToAttributes: ['href'],
    allowProtocolRelative: false,
    disallowedTagsMode: 'discard',
    transformTags: {
      a: sanitizeHtml.simpleTransform('a', { rel: 'noopener noreferrer nofollow', target: '_blank' }),
    },
  });
}
