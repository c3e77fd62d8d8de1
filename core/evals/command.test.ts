// Usage errors are refused before anything starts or is spent.
import { describe, expect, it } from '@jest/globals';
import { sandboxEnv } from '../../test/helpers/research.js';
import { runEvalCommand } from './command.js';

async function run(args: string[]) {
  let err = '';
  const r = await runEvalCommand(args, sandboxEnv({ SANDBOX_PORT: '0' }), {
    stdout: () => undefined,
    stderr: (s) => void (err += s),
    tty: false,
    root: process.cwd(),
    version: 'test',
  });
  return { ...r, err };
}

describe('npm run eval usage', () => {
  it.each([
    [['--depth', 'huge'], /Unknown depth "huge"/],
    [['--limit', '0'], /--limit must be a whole number of at least 1/],
    [['--price-in=-1'], /--price-in must be a number of at least 0/],
    [['--compare', 'only-one'], /--compare takes two run folders/],
    [['--resume', '/nonexistent/run'], /not an evaluation run folder .*Nothing was run/],
    [['stray'], /Unexpected argument "stray"/],
    [['--set', 'no/such.jsonl'], /Cannot read the idea set: .*Nothing was run/],
  ])('%j exits 2 and says why', async (args, message) => {
    const r = await run(args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
  });
});
