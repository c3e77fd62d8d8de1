// `npm run research` as an operator runs it: the CLI spawned as its own process, the real @tavily/core
// client against a sandbox Tavily told (over its HTTP control endpoint) to answer 401 as Tavily does.
// A refusal only an admin can fix exits 78 (EX_CONFIG) and names the setting (decision 027).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { startSandbox, type Sandbox } from '../core/sandbox/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(async () => {
  await sandbox.close();
});

function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/research-cli.ts', ...args], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}

describe('npm run research with a Tavily key Tavily rejects', () => {
  it('exits 78 and names TAVILY_API_KEY, without showing the key', async () => {
    const control = await fetch(`${sandbox.tavilyUrl}/_sandbox/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ target: 'search', fault: { kind: 'tavily_error', status: 401 }, times: 3 }),
    });
    expect(control.status).toBe(200);
    const key = `tvly-revoked-${randomUUID()}`;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      TAVILY_API_KEY: key,
      TAVILY_API_URL: sandbox.tavilyUrl,
      OPENAI_API_KEY: 'sk-cli-test',
      OPENAI_BASE_URL: sandbox.openaiUrl,
      // A cached search would never reach the sandbox.
      RESEARCH_CACHE_TTL_SECONDS: '0',
    };
    delete env.PMF_SANDBOX;
    const before = sandbox.calls.search;
    const run = await runCli(
      ['An app that matches dog owners with vetted sitters in their neighbourhood', '--depth', 'standard'],
      env,
    );
    expect(run.code).toBe(78);
    expect(run.err).toContain('Research refused');
    expect(run.err).toContain('Fix: set TAVILY_API_KEY to a valid key');
    expect(run.err).not.toContain(key);
    expect(run.err).not.toMatch(/^\s+at /m);
    expect(run.out).toBe('');
    // At most one search per agent, each refused once and not retried.
    expect(sandbox.calls.search - before).toBeGreaterThanOrEqual(1);
    expect(sandbox.calls.search - before).toBeLessThanOrEqual(3);
    expect(sandbox.calls.extract).toBe(0);
  }, 90_000);
});
