import { describe, expect, it } from '@jest/globals';
import { chooseUrls } from './select-sources.js';

describe('chooseUrls', () => {
  it.each([
    {
      name: 'best score first, one per domain before a second',
      hits: [
        { url: 'https://a.com/1', score: 0.9 },
        { url: 'https://a.com/2', score: 0.8 },
        { url: 'https://b.com/1', score: 0.7 },
        { url: 'https://c.com/1', score: 0.1 },
      ],
      n: 3,
      want: ['https://a.com/1', 'https://b.com/1', 'https://c.com/1'],
    },
    {
      name: 'fills from repeated domains when diversity runs out',
      hits: [
        { url: 'https://a.com/1', score: 0.9 },
        { url: 'https://a.com/2', score: 0.8 },
      ],
      n: 5,
      want: ['https://a.com/1', 'https://a.com/2'],
    },
    {
      name: 'no duplicate pages by normalized URL, no non-http links',
      hits: [
        { url: 'https://www.a.com/x/?utm_source=t', score: 0.9 },
        { url: 'http://a.com/x', score: 0.8 },
        { url: 'javascript:alert(1)', score: 1 },
        { url: 'https://b.com/y', score: 0.5 },
      ],
      n: 5,
      want: ['https://www.a.com/x/?utm_source=t', 'https://b.com/y'],
    },
  ])('$name', ({ hits, n, want }) => {
    expect(chooseUrls(hits, n).map((h) => h.url)).toEqual(want);
  });
});
