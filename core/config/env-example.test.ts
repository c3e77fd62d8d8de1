import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { envSchema } from './env.js';

describe('.env.example', () => {
  it('documents exactly the variables the config schema reads', () => {
    const text = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
    const documented = [...text.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]).sort();
    expect(documented).toEqual(Object.keys(envSchema.shape).sort());
  });
});
