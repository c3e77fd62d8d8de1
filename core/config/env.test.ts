import { describe, expect, it } from '@jest/globals';
import { ConfigError, parseEnv, providerMode } from './index.js';

const base = {
  DATABASE_URL: 'postgres://u@h:5432/db',
  MONGO_URL: 'mongodb://h:27017/db',
  REDIS_URL: 'redis://h:6379',
};

describe('parseEnv', () => {
  it('accepts the minimum and fills defaults', () => {
    const env = parseEnv(base);
    expect(env.OPENAI_MODEL).toBe('gpt-4o-mini');
    expect(env.WORKER_CONCURRENCY).toBe(5);
    expect(env.DEFAULT_MONTHLY_ALLOWANCE).toBe(1000);
    expect(env.PMF_SANDBOX).toBe(false);
  });

  it('lists every problem in one message with how to fix it', () => {
    let caught: unknown;
    try {
      parseEnv({ MONGO_URL: 'http://nope', WORKER_CONCURRENCY: 'many' });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const err = caught as ConfigError;
    expect(err.problems).toHaveLength(4);
    expect(err.message).toContain('DATABASE_URL is missing');
    expect(err.message).toContain('npm run services -- up');
    expect(err.message).toContain('MONGO_URL is invalid');
    expect(err.message).toContain('REDIS_URL is missing');
    expect(err.message).toContain('WORKER_CONCURRENCY is invalid');
    expect(err.message).not.toMatch(/\n\s+at /);
  });

  it('treats empty strings as unset', () => {
    expect(() => parseEnv({ ...base, DATABASE_URL: '' })).toThrow(/DATABASE_URL is missing/);
  });

  it('validates only the keys a tool asks for', () => {
    expect(parseEnv({ DATABASE_URL: base.DATABASE_URL }, ['DATABASE_URL'])).toEqual({
      DATABASE_URL: base.DATABASE_URL,
    });
  });
});

describe('providerMode', () => {
  it('is sandbox when PMF_SANDBOX=1, live with both keys, and otherwise names what is missing', () => {
    expect(providerMode(parseEnv({ ...base, PMF_SANDBOX: '1' }))).toBe('sandbox');
    expect(providerMode(parseEnv({ ...base, OPENAI_API_KEY: 'k', TAVILY_API_KEY: 't' }))).toBe('live');
    expect(() => providerMode(parseEnv({ ...base, OPENAI_API_KEY: 'k' }))).toThrow(
      /TAVILY_API_KEY is missing .*PMF_SANDBOX=1/,
    );
  });
});
