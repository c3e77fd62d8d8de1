// Private FerretDB and Redis servers for the tests that kill clients or restart servers: those must never
// touch the shared servers other engineers' tests use (decision 042). A private FerretDB stores its data
// in a PostgreSQL database of its own on the shared PostgreSQL server (DATABASE_URL), dropped on close.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export const FERRETDB_BIN = process.env.FERRETDB_BIN ?? join(homedir(), '.cache/pmf-scout/ferretdb-v1.24.2');

export type PrivateServer = {
  url: string;
  port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
};

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listening on ${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function privateServer(
  url: (port: number) => string,
  command: (port: number, dir: string) => [string, string[]],
  cleanUp: () => Promise<void> = async () => undefined,
): () => Promise<PrivateServer> {
  return async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'pmf-private-'));
    let child: ChildProcess | undefined;
    const start = async () => {
      const [bin, args] = command(port, dir);
      // Output goes to a file in the server's directory (PRIVATE_SERVER_KEEP=1 keeps it for a post-mortem).
      const out = openSync(join(dir, 'server.log'), 'a');
      child = spawn(bin, args, { stdio: ['ignore', out, out] });
      await waitForPort(port);
    };
    const stop = async () => {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        c.once('exit', () => resolve());
        c.kill('SIGTERM');
      });
    };
    await start();
    return {
      url: url(port),
      port,
      start,
      stop,
      async close() {
        await stop();
        if (process.env.PRIVATE_SERVER_KEEP) process.stderr.write(`private server files kept in ${dir}\n`);
        else {
          rmSync(dir, { recursive: true, force: true });
          await cleanUp();
        }
      },
    };
  };
}

const FERRETDB_FLAGS = ['--debug-addr=-', '--telemetry=disable', '--log-level=error'];

async function onAdminDatabase(sql: string): Promise<void> {
  const url = new URL(process.env.DATABASE_URL ?? 'postgres://pmf@127.0.0.1:54329/pmf_test');
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A FerretDB on the PostgreSQL handler (as `npm run services` runs it), in a fresh PostgreSQL database. */
export async function startPrivateFerretDb(): Promise<PrivateServer> {
  const database = `ferretdb_private_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  await onAdminDatabase(`CREATE DATABASE ${database}`);
  const pgUrl = new URL(process.env.DATABASE_URL ?? 'postgres://pmf@127.0.0.1:54329/pmf_test');
  pgUrl.pathname = `/${database}`;
  return privateServer(
    (port) => `mongodb://127.0.0.1:${port}/`,
    (port, dir) => [
      FERRETDB_BIN,
      [
        '--handler=postgresql',
        `--postgresql-url=${pgUrl.toString()}`,
        `--listen-addr=127.0.0.1:${port}`,
        `--state-dir=${dir}`,
        ...FERRETDB_FLAGS,
      ],
    ],
    () => onAdminDatabase(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`),
  )();
}

/** A FerretDB on the SQLite handler over `dataDir`, the store `npm run services` used before decision 045. */
export function startSqliteFerretDb(dataDir: string): Promise<PrivateServer> {
  mkdirSync(dataDir, { recursive: true });
  return privateServer(
    (port) => `mongodb://127.0.0.1:${port}/`,
    (port, dir) => [
      FERRETDB_BIN,
      [
        '--handler=sqlite',
        `--sqlite-url=file:${dataDir}/`,
        `--listen-addr=127.0.0.1:${port}`,
        `--state-dir=${dir}`,
        ...FERRETDB_FLAGS,
      ],
    ],
  )();
}

export const startPrivateRedis = privateServer(
  (port) => `redis://127.0.0.1:${port}`,
  (port, dir) => [
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes'],
  ],
);
