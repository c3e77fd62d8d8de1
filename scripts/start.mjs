#!/usr/bin/env node
// `npm start` (PM2, background) and `npm run dev` (foreground, one terminal): everything from a fresh clone
// to running bot, worker and console. Plain Node so it can run before `npm install`.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureSupportedNode } from './supported-node.mjs';

// On an end-of-life Node this re-runs itself on Node 24 from the npm registry, or stops with the command.
ensureSupportedNode();

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const foreground = process.argv.includes('--foreground');
const say = (line) => process.stdout.write(`[start] ${line}\n`);
const fail = (line) => {
  process.stderr.write(`[start] ${line}\n`);
  process.exit(1);
};

function step(cmd, args, env = process.env) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env });
  if (r.status !== 0) fail(`\`${cmd} ${args.join(' ')}\` failed (exit ${r.status}).`);
}

const lock = path.join(root, 'package-lock.json');
const installed = path.join(root, 'node_modules', '.package-lock.json');
if (!fs.existsSync(installed) || fs.statSync(lock).mtimeMs > fs.statSync(installed).mtimeMs) {
  say('installing npm packages…');
  step('npm', ['install', '--no-audit', '--no-fund']);
}

const { config: loadDotenv } = await import('dotenv');
loadDotenv({ path: path.join(root, '.env'), quiet: true });

step(process.execPath, ['scripts/local-servers.mjs', 'up']);
const { LOCAL } = await import('./local-servers.mjs');
const env = {
  ...process.env,
  DATABASE_URL: process.env.DATABASE_URL || LOCAL.postgres.url,
  MONGO_URL: process.env.MONGO_URL || LOCAL.mongo.url,
  REDIS_URL: process.env.REDIS_URL || LOCAL.redis.url,
  NODE_ENV: process.env.NODE_ENV || (foreground ? 'development' : 'production'),
};

const hasLlm = env.OPENAI_API_KEY || (env.AZURE_OPENAI_API_KEY && env.AZURE_OPENAI_ENDPOINT);
if (!env.PMF_SANDBOX && !(hasLlm && env.TAVILY_API_KEY)) {
  env.PMF_SANDBOX = '1';
  say('');
  say('!!! SANDBOX MODE: no OpenAI/Tavily keys are set, so research runs on the built-in synthetic providers.');
  say('!!! Reports will say so at the top. Set OPENAI_API_KEY and TAVILY_API_KEY in .env for real research.');
  say('');
}
if (!env.SESSION_SECRET) {
  const secretFile = path.join(root, '.data', 'session-secret');
  if (!fs.existsSync(secretFile)) {
    const { randomBytes } = await import('node:crypto');
    fs.writeFileSync(secretFile, randomBytes(32).toString('hex'), { mode: 0o600 });
  }
  env.SESSION_SECRET = fs.readFileSync(secretFile, 'utf8').trim();
}

step(process.execPath, ['--import', 'tsx', 'scripts/migrate.ts'], env);

if (!fs.existsSync(path.join(root, 'console', 'build', 'server'))) {
  say('building the console…');
  step('npm', ['run', 'console:build'], env);
}

const slackReady = env.SLACK_SIGNING_SECRET || env.SLACK_APP_TOKEN;
if (!slackReady)
  say(
    'Slack: skipped — set SLACK_BOT_TOKEN and SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP). README: "Slack app".',
  );
if (!env.DISCORD_TOKEN) say('Discord: skipped — set DISCORD_TOKEN and DISCORD_APPLICATION_ID. README: "Discord bot".');

// The platforms' credentials, checked the way the bot checks them at start-up: a wrong token is said here, one
// line each, not only in the bot's log. The bot then stops that platform (exit 78 with none left, no restart
// loop); the worker and console start either way.
const credentials = spawnSync(process.execPath, ['--import', 'tsx', 'bot/main.ts', '--check'], {
  cwd: root,
  env,
  encoding: 'utf8',
});
for (const line of (credentials.stderr ?? '').split('\n').filter(Boolean)) say(line);

const consoleUrl = env.CONSOLE_ORIGIN || `http://localhost:${env.CONSOLE_PORT || 3100}`;
const farewell = () => {
  say(`console: ${consoleUrl}`);
  say('first admin: npm run console:create-admin -- --email you@example.com');
};

if (foreground) {
  const processes = [
    ['bot', 'bot/main.ts'],
    ['worker', 'bot/worker.ts'],
    ['console', 'console/main.ts'],
  ];
  // Each process its own /health and /metrics port, as under PM2 (ecosystem.config.js, decision 081).
  const { HEALTH_PORT_OFFSETS } = await import('../ecosystem.config.js');
  const healthBase = Number(env.HEALTH_PORT || 0);
  const children = processes.map(([name, script]) => {
    const offset = HEALTH_PORT_OFFSETS[name];
    const healthPort = healthBase > 0 && offset !== undefined ? String(healthBase + offset) : '0';
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: root,
      env: { ...env, HEALTH_PORT: healthPort },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const prefix = (chunk) =>
      chunk
        .toString()
        .split('\n')
        .filter(Boolean)
        .map((l) => `${name.padEnd(7)}| ${l}\n`)
        .join('');
    child.stdout.on('data', (c) => process.stdout.write(prefix(c)));
    child.stderr.on('data', (c) => process.stderr.write(prefix(c)));
    child.on('exit', (code, signal) => say(`${name} exited (${signal ?? code})`));
    return child;
  });
  farewell();
  const stop = (signal) => children.forEach((c) => c.kill(signal));
  process.on('SIGINT', () => stop('SIGTERM'));
  process.on('SIGTERM', () => stop('SIGTERM'));
} else {
  fs.mkdirSync(path.join(root, '.data', 'logs'), { recursive: true });
  const pm2 = path.join(root, 'node_modules', '.bin', 'pm2');
  const modules = spawnSync(pm2, ['ls', '-m'], { cwd: root, encoding: 'utf8', env });
  if (!modules.stdout?.includes('pm2-logrotate')) {
    say('installing pm2-logrotate (log files rotate at 10 MB, 14 kept)…');
    step(pm2, ['install', 'pm2-logrotate'], env);
    step(pm2, ['set', 'pm2-logrotate:max_size', '10M'], env);
    step(pm2, ['set', 'pm2-logrotate:retain', '14'], env);
  }
  step(pm2, ['startOrReload', 'ecosystem.config.js', '--update-env'], env);
  say('running under PM2: `npx pm2 status`, `npx pm2 logs`, `npx pm2 stop all`.');
  farewell();
}
