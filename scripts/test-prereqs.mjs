#!/usr/bin/env node
// Debian packages the test suite needs beyond the servers: Chromium for the console's browser tests and a
// compose CLI to validate docker-compose.yml. Installed when running as root, otherwise the command is printed.
import { spawnSync } from 'node:child_process';
import { aptInstall, SetupError, which } from './services.mjs';

const missing = [];
if (!which('chromium')) missing.push('chromium');
const composePlugin = () => spawnSync('docker', ['compose', 'version']).status === 0;
if (!which('docker-compose') && !composePlugin()) missing.push('docker-compose');
try {
  if (missing.length) aptInstall(missing, 'test tools');
} catch (err) {
  if (err instanceof SetupError) {
    process.stderr.write(`[test] ${err.message}\n`);
    process.exit(1);
  }
  throw err;
}
