/* eslint-disable no-control-regex -- the tests look for control characters */
import { describe, expect, it } from '@jest/globals';
import { cleanDeep, cleanText } from './clean.js';

// Everything cleanText must remove, as code points (the bidi marks and tag characters included).
const FORBIDDEN =
  /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\u{e0000}-\u{e007f}]/u;

describe('cleanText', () => {
  it.each([
    ['NUL and BEL', 'a\x00b\x07c', 'abc'],
    ['backspace overstrike', 'paid\x08\x08\x08\x08free', 'paidfree'],
    ['DEL', 'x\x7fy', 'xy'],
    ['CSI colour', '\x1b[31mred\x1b[0m text', 'red text'],
    ['CSI cursor and erase', 'a\x1b[2J\x1b[1;1Hb\x1b[?25l', 'ab'],
    ['OSC 8 hyperlink (BEL)', '\x1b]8;;https://evil.example\x07click\x1b]8;;\x07', 'click'],
    ['OSC title (ST)', '\x1b]0;owned\x1b\\ok', 'ok'],
    ['unterminated OSC stops at the line end', 'a\x1b]0;title\nnext', 'a\nnext'],
    ['DCS', 'x\x1bPq#0;2;0;0;0\x1b\\y', 'xy'],
    ['two-byte escape', 'a\x1bcb\x1b7c', 'abc'],
    ['cut CSI at the end', 'text\x1b[3', 'text'],
    ['lone ESC', 'a\x1b', 'a'],
    ['8-bit CSI', 'a\x9b31mb', 'ab'],
    ['8-bit OSC', 'a\x9d0;x\x9cb', 'ab'],
    ['C1 NEL', 'a\x85b', 'ab'],
    ['RLO spoof', 'invoice_\u202egnp.exe', 'invoice_gnp.exe'],
    ['every embedding/override', '\u202aa\u202bb\u202cc\u202dd\u202ee', 'abcde'],
    ['isolates', '\u2066a\u2067b\u2068c\u2069', 'abc'],
    ['bidi marks', 'a\u200eb\u200fc\u061cd', 'abcd'],
    ['tag characters', 'hi\u{e0049}\u{e0067}\u{e006e}', 'hi'],
    ['CRLF and lone CR', 'a\r\nb\rc', 'a\nb\nc'],
    ['line and paragraph separators', 'a\u2028b\u2029c', 'a\nb\nc'],
  ])('%s', (_name, input, want) => {
    expect(cleanText(input)).toBe(want);
  });

  it('keeps tab, newline, emoji, RTL letters and the zero-width characters our own escaping uses', () => {
    const ok = 'a\tb\nשלום مرحبا 🐶 café @\u200beveryone @\u2060here';
    expect(cleanText(ok)).toBe(ok);
  });

  it('leaves nothing forbidden in any mix of hostile characters (property)', () => {
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const alphabet = [
      ...Array.from({ length: 0x20 }, (_, i) => String.fromCharCode(i)),
      ...Array.from({ length: 0x21 }, (_, i) => String.fromCharCode(0x7f + i)),
      '\u202a',
      '\u202e',
      '\u2066',
      '\u2069',
      '\u200e',
      '\u200f',
      '\u061c',
      '\u2028',
      '\u{e0041}',
      '[',
      ']',
      '\\',
      ';',
      '0',
      '9',
      'm',
      'P',
      '_',
      '^',
      'a',
      ' ',
      'é',
      '🐶',
    ];
    for (let i = 0; i < 2000; i++) {
      const s = Array.from({ length: 1 + rand(40) }, () => alphabet[rand(alphabet.length)]).join('');
      const out = cleanText(s);
      expect([s, FORBIDDEN.test(out)]).toEqual([s, false]);
      expect(cleanText(out)).toBe(out);
    }
  });

  it('cleans every string of a nested value and keeps its shape', () => {
    const out = cleanDeep({ a: ['x\x1b[1my', { b: '\u202eevil' }], n: 3, z: null });
    expect(out).toEqual({ a: ['xy', { b: 'evil' }], n: 3, z: null });
  });

  it('returns dates and other instances untouched', () => {
    const at = new Date('2026-01-02T03:04:05Z');
    const out = cleanDeep({ at, idea: 'a\u202eb' });
    expect(out.at).toBe(at);
    expect(out.idea).toBe('ab');
  });
});
