#!/usr/bin/env node
// Runs a one-off command (create the first admin, migrate, register Discord commands) against the servers
// `npm start` runs: the URLs it would set are filled in where .env and the environment leave them unset.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { config as loadDotenv } from 'dotenv';
import { LOCAL } from './local-servers.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
loadDotenv({ path: path.join(root, '.env'), quiet: true });
const env = {
  ...process.env,
  DATABASE_URL: process.env.DATABASE_URL || LOCAL.postgres.url,
  MONGO_URL: process.env.MONGO_URL || LOCAL.mongo.url,
  REDIS_URL: process.env.REDIS_URL || LOCAL.redis.url,
};
const [command, ...args] = process.argv.slice(2);
if (!command) {
  process.stderr.write('usage: node scripts/with-local-servers.mjs <command> [args…]\n');
  process.exit(2);
}
const r = spawnSync(command, args, { cwd: root, stdio: 'inherit', env });
process.exit(r.status ?? 1);
