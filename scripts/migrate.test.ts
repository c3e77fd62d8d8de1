import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

// The migrator is the first thing an operator runs; without a database it must say so in one message,
// not dump a stack trace.
describe('npx tsx scripts/migrate.ts', () => {
  it('with DATABASE_URL unset exits non-zero with the one clear configuration message', () => {
    const env = { ...process.env };
    delete env.DATABASE_URL;
    const run = spawnSync('npx', ['tsx', 'scripts/migrate.ts'], { cwd: root, env, encoding: 'utf8', timeout: 60_000 });
    expect(run.status).not.toBe(0);
    expect(run.status).not.toBeNull();
    expect(run.stderr).toContain('PMF Scout cannot start: 1 configuration problem.');
    expect(run.stderr).toContain('DATABASE_URL is missing');
    expect(run.stderr).toContain('npm run services -- up');
    expect(run.stderr).not.toMatch(/^\s+at /m);
    expect(run.stderr).not.toMatch(/Error:/);
    expect(run.stdout).not.toContain('migrated');
  });

  it('with a malformed DATABASE_URL names the problem the same way', () => {
    const run = spawnSync('npx', ['tsx', 'scripts/migrate.ts'], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: 'mysql://nope' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('DATABASE_URL is invalid: must be a postgres:// URL');
    expect(run.stderr).not.toMatch(/^\s+at /m);
  });
});
