// Agenda 6.2.6's job processor sleeps on timers that keep the process alive after agenda.stop(): the
// liveness check of every job it ran (half the lock lifetime, up to 30 s here) and the timer of a job due
// soon (fixed upstream by agenda PR #1791, not released). A process whose work is done cannot end until they
// fire, so tests needed jest's forceExit. Run after every `npm install` (postinstall): it makes exactly those
// two timers unref'd, checks the version it was written for, and is a no-op once applied (decision 115).
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PATCHED_VERSION = '6.2.6';
const EDITS = [
  [
    'const delay = (ms) => new Promise(resolve => setTimeout(resolve, ms));',
    'const delay = (ms) => new Promise(resolve => setTimeout(resolve, ms).unref());',
  ],
  [': runIn); // check if runIn', ': runIn).unref(); // check if runIn'],
];

const dir = fileURLToPath(new URL('../node_modules/agenda/', import.meta.url));
// Not installed yet (a partial install): nothing to patch.
if (!existsSync(join(dir, 'package.json'))) process.exit(0);
const { version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
if (version !== PATCHED_VERSION) {
  console.warn(
    `[patch-agenda] agenda is ${version}, the patch is for ${PATCHED_VERSION}: not applied; review scripts/patch-agenda.mjs`,
  );
  process.exit(0);
}
const file = join(dir, 'dist', 'JobProcessor.js');
let source = readFileSync(file, 'utf8');
for (const [from, to] of EDITS) {
  if (source.includes(to)) continue;
  if (!source.includes(from)) {
    console.error(`[patch-agenda] ${file} does not contain the code the patch expects:\n${from}`);
    process.exit(1);
  }
  source = source.replace(from, to);
}
// A new file, renamed over the old one: node_modules may be hard-linked to another checkout's.
writeFileSync(`${file}.patched`, source);
renameSync(`${file}.patched`, file);
