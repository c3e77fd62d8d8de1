#!/usr/bin/env node
// Debian packages the test suite needs beyond the servers: Chromium for the console's browser tests, a
// compose CLI to validate docker-compose.yml, and promtool (Debian's `prometheus` package) to check and
// unit-test the alert rules in ops/prometheus. Installed when running as root, otherwise the command is printed.
// The tests only run promtool; on a machine with systemd the package also enables a Prometheus service on
// :9090 (`systemctl disable --now prometheus` if it is not wanted).
import { spawnSync } from 'node:child_process';
import { aptInstall, SetupError, which } from './local-servers.mjs';

const missing = [];
if (!which('chromium')) missing.push('chromium');
const composePlugin = () => spawnSync('docker', ['compose', 'version']).status === 0;
if (!which('docker-compose') && !composePlugin()) missing.push('docker-compose');
if (!which('promtool')) missing.push('prometheus');
try {
  if (missing.length) aptInstall(missing, 'test tools');
} catch (err) {
  if (err instanceof SetupError) {
    process.stderr.write(`[test] ${err.message}\n`);
    process.exit(1);
  }
  throw err;
}
