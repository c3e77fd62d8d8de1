// `npm run eval -- [options]`: research quality on a fixed idea set (core/evals/command.ts does the work).
// Exit codes: 0 done, 2 bad usage, 78 configuration, 1 the evaluation could not run.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../core/config/index.js';
import { runEvalCommand } from '../core/evals/command.js';
// The local servers' URLs (scripts/local-servers.mjs), so the CLI works right after `npm run services -- up`.
import { cliEnv } from './cli-env.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function version(): string {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    return `${pkg.version} (${commit})`;
  } catch {
    return pkg.version;
  }
}

let env;
try {
  env = cliEnv();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(78);
}

const controller = new AbortController();
process.once('SIGINT', () => controller.abort());
const { code } = await runEvalCommand(process.argv.slice(2), env, {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  tty: Boolean(process.stderr.isTTY),
  root,
  signal: controller.signal,
  version: version(),
});
process.exit(code);
