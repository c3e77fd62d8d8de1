#!/usr/bin/env node
// Starts, stops and reports the three real servers the project needs on a development or CI machine:
// PostgreSQL (Debian's packages), Redis (Debian's redis-server) and FerretDB 1.24.2 (a MongoDB-wire
// server storing its data in a database of its own on that PostgreSQL, built once with Go and cached).
// Plain Node with no dependencies, so it runs before `npm install` and from `npm test` alike (only the
// one-time carry-over of an old SQLite-backed store needs the installed mongodb driver). When MONGO_URL,
// DATABASE_URL or REDIS_URL is set, that server belongs to someone else and is neither started nor stopped here.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CarryOverUnavailable, carryOverSqliteStore, sqliteDatabases } from './ferretdb-carry-over.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dataDir = process.env.PMF_DATA_DIR ?? path.join(root, '.data');
const logDir = path.join(dataDir, 'logs');
const isRoot = process.getuid?.() === 0;

export const LOCAL = {
  postgres: { port: 54329, url: 'postgres://pmf@127.0.0.1:54329/pmf' },
  redis: { port: 63799, url: 'redis://127.0.0.1:63799' },
  mongo: { port: 27019, url: 'mongodb://127.0.0.1:27019/pmf' },
};

/** FerretDB keeps its data in this PostgreSQL database (each MongoDB database is a schema in it). */
export const FERRETDB_PG_DATABASE = 'ferretdb';

const FERRETDB_VERSION = 'v1.24.2';
const cacheDir = path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'pmf-scout');
export const ferretBin = path.join(cacheDir, `ferretdb-${FERRETDB_VERSION}`);

/** The PostgreSQL FerretDB stores its data in: the local server's `ferretdb` database, or DATABASE_URL's server. */
export function ferretPostgresUrl(env = process.env) {
  const url = new URL(env.DATABASE_URL || LOCAL.postgres.url);
  url.pathname = `/${FERRETDB_PG_DATABASE}`;
  return url.toString();
}

function say(line) {
  process.stdout.write(`[services] ${line}\n`);
}

export class SetupError extends Error {}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.error) throw new SetupError(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  return r;
}

function portOpen(port) {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
    s.setTimeout(500, () => (s.destroy(), resolve(false)));
  });
}

async function waitForPort(port, name, seconds, logFile) {
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    if (await portOpen(port)) return;
    await new Promise((r) => setTimeout(r, 150));
  }
  const tail =
    logFile && fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n') : '';
  throw new SetupError(
    `${name} did not open port ${port} within ${seconds}s.${tail ? `\nLast log lines:\n${tail}` : ''}`,
  );
}

export function which(bin) {
  return run('sh', ['-c', `command -v ${bin}`]).status === 0;
}

let aptUpdated = false;
export function aptInstall(packages, why) {
  if (!isRoot) {
    throw new SetupError(
      `${why} is missing. Install it with:\n  sudo apt-get update && sudo apt-get install -y ${packages.join(' ')}`,
    );
  }
  say(`installing ${packages.join(' ')} (${why}) with apt-get…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!aptUpdated) {
    run('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    aptUpdated = true;
  }
  const r = run('apt-get', ['install', '-y', '-qq', ...packages], { stdio: 'inherit', env });
  if (r.status !== 0) throw new SetupError(`apt-get install ${packages.join(' ')} failed (exit ${r.status}).`);
}

function pgBinDir() {
  const base = '/usr/lib/postgresql';
  if (fs.existsSync(base)) {
    const versions = fs.readdirSync(base).filter((v) => fs.existsSync(path.join(base, v, 'bin', 'initdb')));
    versions.sort((a, b) => Number(b) - Number(a));
    if (versions.length) return path.join(base, versions[0], 'bin');
  }
  return null;
}

// PostgreSQL refuses to run as root, so as root it runs as the `postgres` user the Debian package creates.
function asPostgresUser(cmd, args, opts = {}) {
  return isRoot ? run('runuser', ['-u', 'postgres', '--', cmd, ...args], opts) : run(cmd, args, opts);
}

const services = {
  postgres: {
    envVar: 'DATABASE_URL',
    port: LOCAL.postgres.port,
    async up() {
      let bin = pgBinDir();
      if (!bin) {
        aptInstall(['postgresql'], 'PostgreSQL');
        bin = pgBinDir();
      }
      const dir = path.join(dataDir, 'pg');
      const log = path.join(logDir, 'postgres.log');
      if (!fs.existsSync(path.join(dir, 'PG_VERSION'))) {
        fs.mkdirSync(dir, { recursive: true });
        if (isRoot) run('chown', ['-R', 'postgres:postgres', dir]);
        const r = asPostgresUser(path.join(bin, 'initdb'), [
          '-D',
          dir,
          '-U',
          'pmf',
          '--auth=trust',
          '-E',
          'UTF8',
          '--locale=C.UTF-8',
        ]);
        if (r.status !== 0) throw new SetupError(`initdb failed:\n${r.stderr}`);
      }
      if (isRoot) run('chown', ['postgres:postgres', logDir]);
      const opts = `-p ${this.port} -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
      const r = asPostgresUser(path.join(bin, 'pg_ctl'), ['-D', dir, '-l', log, '-o', opts, '-w', '-t', '60', 'start']);
      if (r.status !== 0) throw new SetupError(`PostgreSQL did not start:\n${r.stdout}${r.stderr}`);
      await waitForPort(this.port, 'PostgreSQL', 30, log);
      for (const db of ['pmf', 'pmf_test']) {
        const exists = asPostgresUser(path.join(bin, 'psql'), [
          '-h',
          '127.0.0.1',
          '-p',
          String(this.port),
          '-U',
          'pmf',
          '-d',
          'postgres',
          '-tAc',
          `SELECT 1 FROM pg_database WHERE datname='${db}'`,
        ]);
        if (exists.stdout.trim() !== '1') {
          asPostgresUser(path.join(bin, 'createdb'), ['-h', '127.0.0.1', '-p', String(this.port), '-U', 'pmf', db]);
        }
      }
    },
    down() {
      const bin = pgBinDir();
      const dir = path.join(dataDir, 'pg');
      if (bin && fs.existsSync(path.join(dir, 'postmaster.pid'))) {
        asPostgresUser(path.join(bin, 'pg_ctl'), ['-D', dir, '-m', 'fast', '-w', 'stop']);
      }
    },
  },
  redis: {
    envVar: 'REDIS_URL',
    port: LOCAL.redis.port,
    async up() {
      if (!which('redis-server')) aptInstall(['redis-server'], 'Redis');
      const dir = path.join(dataDir, 'redis');
      fs.mkdirSync(dir, { recursive: true });
      const log = path.join(logDir, 'redis.log');
      const r = run('redis-server', [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--daemonize',
        'yes',
        '--dir',
        dir,
        '--pidfile',
        path.join(dir, 'redis.pid'),
        '--logfile',
        log,
        '--save',
        '',
        '--appendonly',
        'no',
      ]);
      if (r.status !== 0) throw new SetupError(`redis-server did not start:\n${r.stderr}`);
      await waitForPort(this.port, 'Redis', 15, log);
    },
    down() {
      const pidFile = path.join(dataDir, 'redis', 'redis.pid');
      killPidFile(pidFile);
    },
  },
  mongo: {
    envVar: 'MONGO_URL',
    port: LOCAL.mongo.port,
    async up() {
      ensureFerretDb();
      const { stateDir } = ferretDirs();
      fs.mkdirSync(stateDir, { recursive: true });
      ensureFerretPostgresDatabase();
      removeThrowawayDatabases();
      const log = path.join(logDir, 'ferretdb.log');
      const out = fs.openSync(log, 'a');
      const keeper = spawn(process.execPath, [fileURLToPath(import.meta.url), 'keep-ferretdb'], {
        detached: true,
        stdio: ['ignore', out, out],
        env: { ...process.env, PMF_DATA_DIR: dataDir },
      });
      fs.writeFileSync(path.join(stateDir, 'keeper.pid'), String(keeper.pid));
      keeper.unref();
      await waitForPort(this.port, 'FerretDB', 30, log);
    },
    down() {
      killPidFile(path.join(ferretDirs().stateDir, 'keeper.pid'));
    },
  },
};

function ferretDirs() {
  return {
    stateDir: path.join(dataDir, 'ferretdb-state'),
    // Before decision 045 FerretDB stored its data in SQLite files here; carryOverSqliteStore moves them.
    sqliteDir: path.join(dataDir, 'ferretdb'),
    sqliteMigratedDir: path.join(dataDir, 'ferretdb-sqlite-migrated'),
  };
}

function psqlAt(url, sql) {
  const bin = pgBinDir();
  return run(bin ? path.join(bin, 'psql') : 'psql', [url, '-v', 'ON_ERROR_STOP=1', '-tAc', sql]);
}

function ensureFerretPostgresDatabase() {
  const admin = new URL(ferretPostgresUrl());
  admin.pathname = '/postgres';
  const exists = psqlAt(admin.toString(), `SELECT 1 FROM pg_database WHERE datname='${FERRETDB_PG_DATABASE}'`);
  if (exists.status !== 0) throw new SetupError(`PostgreSQL for FerretDB is not reachable:\n${exists.stderr}`);
  if (exists.stdout.trim() === '1') return;
  const r = psqlAt(admin.toString(), `CREATE DATABASE ${FERRETDB_PG_DATABASE}`);
  if (r.status !== 0) throw new SetupError(`could not create the ${FERRETDB_PG_DATABASE} database:\n${r.stderr}`);
}

/** A FerretDB of this project still serving the SQLite store on our port (started before decision 045). */
function sqliteFerretDbRunning() {
  if (!fs.existsSync('/proc')) return false;
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let cmdline;
    try {
      cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (
      cmdline.includes('--handler=sqlite') &&
      cmdline.includes(`--listen-addr=127.0.0.1:${LOCAL.mongo.port}`) &&
      path.basename(cmdline[0] ?? '').startsWith('ferretdb')
    )
      return true;
  }
  return false;
}

const CARRY_OVER_COMMAND = 'npm run services -- carry-over';

/**
 * Moves the data of the SQLite-backed store this project used before decision 045 into the running
 * PostgreSQL-backed FerretDB, once. Without the mongodb driver (before `npm install`) it names the command
 * that finishes the job instead; the old files are never deleted, only renamed once copied.
 */
async function carryOver({ required = false } = {}) {
  const { sqliteDir, sqliteMigratedDir } = ferretDirs();
  const names = sqliteDatabases(sqliteDir);
  if (process.env.MONGO_URL || names.length === 0) {
    if (required)
      say(`nothing to carry over (${process.env.MONGO_URL ? 'MONGO_URL is set' : `no SQLite store in ${sqliteDir}`})`);
    return;
  }
  if (sqliteFerretDbRunning()) {
    say(
      `FerretDB on port ${LOCAL.mongo.port} still serves the old SQLite store (${sqliteDir}). Restart it on PostgreSQL with \`npm run services -- down && npm run services -- up\`: the data is carried over then.`,
    );
    return;
  }
  say(`carrying the old SQLite-backed store over to PostgreSQL (${names.length} databases)…`);
  try {
    const result = await carryOverSqliteStore({
      sqliteDir,
      migratedDir: sqliteMigratedDir,
      targetUrl: `mongodb://127.0.0.1:${LOCAL.mongo.port}/`,
      ferretBin,
    });
    for (const c of result.copied)
      say(`  ${c.database}: ${c.documents} documents in ${c.collections} collections copied`);
    if (result.skipped.length) say(`  not copied (test databases): ${result.skipped.join(', ')}`);
    say(`  the old files are kept in ${result.movedTo}; delete them once you have checked your data`);
  } catch (err) {
    if (err instanceof CarryOverUnavailable && !required) {
      say(
        `the old SQLite-backed store in ${sqliteDir} is not carried over yet: run \`npm install\`, then \`${CARRY_OVER_COMMAND}\``,
      );
      return;
    }
    throw new SetupError(
      `carrying the old SQLite-backed store over failed: ${err.message}\nNothing was deleted; fix the cause and run \`${CARRY_OVER_COMMAND}\`.`,
    );
  }
}

// Tests and benchmarks give each run a database of its own (t_…, bench_…) and never drop it, so that a
// run never waits on another's drop. FerretDB keeps each database as a schema of the `ferretdb` PostgreSQL
// database; those schemas are dropped here, while FerretDB is down.
function removeThrowawayDatabases() {
  if (process.env.DATABASE_URL) return;
  const r = psqlAt(
    ferretPostgresUrl(),
    `DO $$ DECLARE s text; BEGIN
       FOR s IN SELECT nspname FROM pg_namespace WHERE nspname ~ '^(t|bench)_' LOOP
         EXECUTE format('DROP SCHEMA %I CASCADE', s);
       END LOOP; END $$`,
  );
  if (r.status !== 0) say(`could not remove the test databases: ${r.stderr.trim()}`);
}

// Runs FerretDB and starts it again if it dies, so that one crash does not take every later test with it.
// SIGTERM stops both.
async function keepFerretDb() {
  const { stateDir } = ferretDirs();
  const args = [
    // The PostgreSQL handler: concurrent writers instead of SQLite's one (decision 045).
    '--handler=postgresql',
    `--postgresql-url=${ferretPostgresUrl()}`,
    `--listen-addr=127.0.0.1:${LOCAL.mongo.port}`,
    `--state-dir=${stateDir}`,
    '--debug-addr=-',
    '--telemetry=disable',
    '--log-level=warn',
  ];
  let child;
  let stopping = false;
  const restarts = [];
  process.on('SIGTERM', () => {
    stopping = true;
    child?.kill('SIGTERM');
  });
  while (!stopping) {
    child = spawn(ferretBin, args, { stdio: 'inherit' });
    const [code, signal] = await new Promise((resolve) => child.once('exit', (c, sig) => resolve([c, sig])));
    if (stopping) break;
    const now = Date.now();
    restarts.push(now);
    while (restarts.length && restarts[0] < now - 60_000) restarts.shift();
    if (restarts.length > 10) {
      say(`FerretDB exited ${restarts.length} times in a minute (last: ${signal ?? code}); giving up`);
      process.exit(1);
    }
    say(`FerretDB exited (${signal ?? code}); starting it again`);
    await new Promise((r) => setTimeout(r, 500));
  }
  process.exit(0);
}

function killPidFile(pidFile) {
  if (!fs.existsSync(pidFile)) return;
  const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    // already gone
  }
  fs.rmSync(pidFile, { force: true });
}

// `go install …@v1.24.2` fails here: the module proxy refuses the version-list lookup it makes for
// deprecation notices, and a binary built from the module cache panics because the generated
// build/version/version.txt is not part of the published module. So: download the module, copy it,
// write version.txt, and build the copy.
function ensureFerretDb() {
  if (fs.existsSync(ferretBin)) return;
  if (!which('go')) {
    throw new SetupError(
      'FerretDB needs Go to build once (no MongoDB package exists here). Install Go 1.22+ (`apt-get install golang`), or set MONGO_URL to a MongoDB you run.',
    );
  }
  say(`building FerretDB ${FERRETDB_VERSION} once (about a minute; cached in ${cacheDir})…`);
  const env = { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '' };
  const dl = run('go', ['mod', 'download', '-json', `github.com/FerretDB/FerretDB@${FERRETDB_VERSION}`], {
    env,
    cwd: os.tmpdir(),
  });
  if (dl.status !== 0) throw new SetupError(`go mod download of FerretDB failed:\n${dl.stdout}${dl.stderr}`);
  const src = JSON.parse(dl.stdout).Dir;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ferretdb-build-'));
  fs.cpSync(src, work, { recursive: true });
  run('chmod', ['-R', 'u+w', work]);
  fs.writeFileSync(path.join(work, 'build', 'version', 'version.txt'), `${FERRETDB_VERSION}\n`);
  fs.mkdirSync(cacheDir, { recursive: true });
  const r = run('go', ['build', '-o', ferretBin, './cmd/ferretdb'], {
    cwd: work,
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  fs.rmSync(work, { recursive: true, force: true });
  if (r.status !== 0) throw new SetupError('go build of FerretDB failed (see above).');
}

async function up() {
  fs.mkdirSync(logDir, { recursive: true });
  for (const [name, svc] of Object.entries(services)) {
    if (process.env[svc.envVar]) {
      say(`${name}: ${svc.envVar} is set, using that server`);
      continue;
    }
    if (await portOpen(svc.port)) {
      say(`${name}: already running on 127.0.0.1:${svc.port}`);
      continue;
    }
    const t0 = Date.now();
    await svc.up();
    say(`${name}: started on 127.0.0.1:${svc.port} (${Date.now() - t0} ms)`);
  }
  await carryOver();
}

async function down() {
  for (const [name, svc] of Object.entries(services)) {
    if (process.env[svc.envVar]) continue;
    svc.down();
    say(`${name}: stopped`);
  }
}

async function status() {
  let allUp = true;
  for (const [name, svc] of Object.entries(services)) {
    const external = process.env[svc.envVar];
    const open = external ? null : await portOpen(svc.port);
    if (open === false) allUp = false;
    say(`${name}: ${external ? `external (${svc.envVar})` : open ? `up on 127.0.0.1:${svc.port}` : 'down'}`);
  }
  return allUp;
}

function printEnv() {
  for (const svc of ['postgres', 'redis', 'mongo']) {
    const envVar = services[svc].envVar;
    process.stdout.write(`${envVar}=${process.env[envVar] ?? LOCAL[svc].url}\n`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const cmd = process.argv[2] ?? 'status';
  const actions = {
    up,
    down,
    status: async () => process.exit((await status()) ? 0 : 1),
    env: printEnv,
    'carry-over': () => carryOver({ required: true }),
    'keep-ferretdb': keepFerretDb,
  };
  const action = actions[cmd];
  if (!action) {
    process.stderr.write('usage: npm run services -- up|down|status|env|carry-over\n');
    process.exit(2);
  }
  try {
    await action();
  } catch (err) {
    if (err instanceof SetupError) {
      process.stderr.write(`[services] ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}
