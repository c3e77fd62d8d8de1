// Links and prose checked against a real GFM renderer (marked, what the console renders reports with):
// whatever a URL or title holds, a link stays one link to its own destination, and prose holds none.
import { describe, expect, it } from '@jest/globals';
import { marked } from 'marked';
import { defangUrls, encodeDestination, escapeLinkText, escapeProse, markdownLink } from './markdown-safe.js';

type Link = { href: string; text: string };

/** Every link marked finds in `md`, at any depth (lists, tables, emphasis). */
function linksIn(md: string): Link[] {
  const found: Link[] = [];
  marked.walkTokens(marked.lexer(md, { gfm: true }), (t) => {
    if (t.type === 'link') found.push({ href: t.href, text: t.text });
  });
  return found;
}

function html(md: string): string {
  return marked.parse(md, { async: false, gfm: true });
}

let seed = 11;
const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
const pick = <T>(xs: T[]) => xs[rand(xs.length)]!;

const HOSTILE = [
  ')',
  '(',
  '](',
  '](https://evil.example/x)',
  '[x](https://evil.example)',
  '<',
  '>',
  '<https://evil.example>',
  ' ',
  '\\',
  '\\)',
  '\n',
  '\r\n',
  '[',
  ']',
  '`',
  '``',
  '"',
  "'",
  '*',
  '_',
  '%',
  '%2',
  '%41',
  '&lt;',
  '&#41;',
  'javascript:alert(1)',
  'https://evil.example/',
  'www.evil.example',
  'a@evil.example',
  '|',
  '!',
  '#',
  '?',
  'é',
  '🐶',
  '\u202e',
  '\x00',
  '\x1b[31m',
  '\t',
  'a',
  'b',
  '1',
];
const hostile = (max: number) => Array.from({ length: 1 + rand(max) }, () => pick(HOSTILE)).join('');

describe('markdownLink', () => {
  it.each([
    ['a plain page', 'https://site.example/a', 'A page'],
    ['a ) in the path', 'https://site.example/a)b', 'A'],
    [']( in the path', 'https://site.example/a](https://evil.example/x)', 'A'],
    ['angle brackets', 'https://site.example/<b>', 'A'],
    ['spaces', 'https://site.example/a b c', 'A'],
    ['a backslash before the end', 'https://site.example/a\\', 'A'],
    ['a newline', 'https://site.example/a\n[x](https://evil.example)', 'A'],
    ['a title with brackets', 'https://site.example/a', 'Top [10] tools ](https://evil.example)'],
    ['a title with backticks', 'https://site.example/a', 'Use `code] and ``more'],
    ['a title with a trailing backslash', 'https://site.example/a', 'Ends with \\'],
    ['a title that is an autolink', 'https://site.example/a', '<https://evil.example>'],
  ])('%s stays one link to its own page', (_name, url, title) => {
    const md = `1. ${markdownLink(title, url)} — site.example`;
    const links = linksIn(md);
    expect(links).toHaveLength(1);
    expect(decodeURI(links[0]!.href)).toBe(url.replace(/\r?\n/g, '\n'));
    expect(html(md).match(/<a /g)).toHaveLength(1);
  });

  it('holds for thousands of random hostile URLs and titles (property)', () => {
    for (let i = 0; i < 3000; i++) {
      const url = `https://site.example/${hostile(12)}`;
      const title = hostile(10);
      const md = `${i}. ${markdownLink(title, url, 'site.example')} — site.example\n- after`;
      const links = linksIn(md);
      expect([url, title, md, links]).toEqual([
        url,
        title,
        md,
        [expect.objectContaining({ href: encodeDestination(url) })],
      ]);
      const href = links[0]!.href;
      // The destination is the URL, percent-encoded: nothing was cut off and nothing added.
      expect([url, href]).toEqual([url, encodeDestination(url)]);
      expect([url, html(md).match(/<a /g)?.length]).toEqual([url, 1]);
    }
  });

  it('a destination decodes back to the URL it encodes', () => {
    for (let i = 0; i < 1000; i++) {
      const url = `https://site.example/${hostile(12)}`.replace(/%/g, '');
      expect(decodeURIComponent(encodeDestination(url))).toBe(url);
    }
  });

  it('only http(s) URLs become links; anything else is its escaped text', () => {
    expect(markdownLink('x', 'javascript:alert(1)')).toBe('x');
    expect(markdownLink('', 'ftp://a.example/f')).toBe('ftp\\[:\\]//a\\[.\\]example/f');
    expect(linksIn(markdownLink('[y](https://evil.example)', 'data:text/html,hi'))).toEqual([]);
  });

  it('an empty title falls back to the domain', () => {
    expect(markdownLink('  ', 'https://site.example/a', 'site.example')).toBe(
      '[site.example](<https://site.example/a>)',
    );
  });

  it('escapes link text so it reads as written', () => {
    const text = 'Top [10] `tools` *now* <b>';
    expect(html(`[${escapeLinkText(text)}](<https://site.example>)`)).toContain('Top [10] `tools` *now* &lt;b&gt;');
  });
});

describe('escapeProse', () => {
  it('keeps our [n] citations and makes everything else inert', () => {
    const md = escapeProse('Market is big [1][2]. See [x](https://evil.example) and [9] <b>bold</b>', 2);
    expect(md).toContain('big [1][2].');
    expect(md).toContain('\\[9\\]');
    expect(linksIn(md)).toEqual([]);
    expect(html(md)).not.toMatch(/<b>|<a /);
  });

  it('a citation followed by ( cannot become a link', () => {
    expect(linksIn(escapeProse('Big [1](https://evil.example)', 1))).toEqual([]);
    expect(linksIn(escapeProse('Big [1](x)', 1))).toEqual([]);
  });

  it('no link, autolink, image or tag survives in random hostile prose (property)', () => {
    for (let i = 0; i < 3000; i++) {
      const text = `${hostile(20)} [1] ${hostile(20)}`;
      const md = `- ${escapeProse(text, 3).replace(/\n/g, ' ')}`;
      expect([text, linksIn(md)]).toEqual([text, []]);
      expect([text, /<(a|img|script)\b/.test(html(md))]).toEqual([text, false]);
    }
  });

  it('a line of prose cannot become a heading', () => {
    expect(html(escapeProse('intro\n## Citations\n1. fake', 0))).not.toMatch(/<h2/);
  });
});

describe('defangUrls', () => {
  it.each([
    ['see https://rover.com/x now', 'see https[:]//rover[.]com/x now'],
    ['www.rover.com', 'www[.]rover[.]com'],
    ['<https://a.b/c>', '<https[:]//a[.]b/c>'],
    ['a@b.iohttps://x.io', 'a@b[.]iohttps[:]//x[.]io'],
    ['<mailto:a@b.io>', '<mailto[:]a@b[.]io>'],
    ['https://https://evil.example', 'https[:]//https[:]//evil[.]example'],
    ['mail sales@evil.example', 'mail sales@evil[.]example'],
    ['no link here.', 'no link here.'],
  ])('%j → %j', (input, want) => {
    expect(defangUrls(input)).toBe(want);
    expect(linksIn(escapeProse(input, 0))).toEqual([]);
  });
});
