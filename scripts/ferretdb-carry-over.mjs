// Carries the data of the SQLite-backed FerretDB store (before decision 045: `.data/ferretdb`, one SQLite
// file per database) over to the PostgreSQL-backed FerretDB, once. The old files are served by the same
// FerretDB binary on its SQLite handler on a spare port, every collection is copied with the mongodb
// driver (indexes first, then documents), and the directory is renamed, never deleted, to mark it done.
// Plain Node; the driver is imported only here, so `npm run services` still runs before `npm install`.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** Databases only tests and benchmarks write (a fresh one per run); they are left in the renamed directory. */
export const THROWAWAY_DATABASES = /^(t_|bench_|pmf_test$)/;

const BATCH = 500;

export class CarryOverUnavailable extends Error {}

/** The databases the old store holds, from its file names (`<db>.sqlite`). */
export function sqliteDatabases(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.sqlite'))
    .map((f) => f.slice(0, -'.sqlite'.length));
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPort(port, child, seconds = 30) {
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`the SQLite FerretDB exited (${child.exitCode}) before it listened`);
    const open = await new Promise((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1' });
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`the SQLite FerretDB did not open port ${port} within ${seconds}s`);
}

/** Index options MongoDB's createIndex accepts back from listIndexes. */
function indexOptions(index) {
  const options = { name: index.name };
  for (const key of ['unique', 'sparse', 'expireAfterSeconds', 'partialFilterExpression']) {
    if (index[key] !== undefined) options[key] = index[key];
  }
  return options;
}

/** Inserts, skipping documents already there (an interrupted carry-over is simply run again). */
async function insertNew(collection, docs) {
  try {
    await collection.insertMany(docs, { ordered: false });
  } catch (err) {
    const errors = err.writeErrors ? [].concat(err.writeErrors) : [];
    if (errors.length === 0 || errors.some((e) => e.code !== 11000)) throw err;
  }
}

async function copyDatabase(source, target, name) {
  const from = source.db(name);
  const to = target.db(name);
  const collections = await from.listCollections({}, { nameOnly: true }).toArray();
  let documents = 0;
  for (const { name: collName } of collections) {
    const src = from.collection(collName);
    const dst = to.collection(collName);
    // One index per command: FerretDB 1.24 drops the connection when one command repeats existing indexes.
    const existing = new Set(
      (
        await dst
          .listIndexes()
          .toArray()
          .catch(() => [])
      ).map((i) => i.name),
    );
    for (const index of await src.listIndexes().toArray()) {
      if (index.name === '_id_' || existing.has(index.name)) continue;
      await dst.createIndex(index.key, indexOptions(index));
    }
    let batch = [];
    for await (const doc of src.find({}).sort({ _id: 1 })) {
      batch.push(doc);
      if (batch.length === BATCH) {
        await insertNew(dst, batch);
        batch = [];
      }
    }
    if (batch.length) await insertNew(dst, batch);
    const [expected, copied] = await Promise.all([src.countDocuments({}), dst.countDocuments({})]);
    if (copied < expected) throw new Error(`${name}.${collName}: ${copied} of ${expected} documents arrived`);
    documents += expected;
  }
  return { database: name, collections: collections.length, documents };
}

/**
 * Copies every database of the SQLite store in `sqliteDir` (except the throwaway test ones) into the
 * server at `targetUrl`, then renames `sqliteDir` to `migratedDir`. Returns what was copied and skipped;
 * does nothing when `sqliteDir` holds no database. Throws CarryOverUnavailable before `npm install`.
 */
export async function carryOverSqliteStore({
  sqliteDir,
  migratedDir,
  targetUrl,
  ferretBin,
  skip = THROWAWAY_DATABASES,
}) {
  const names = sqliteDatabases(sqliteDir);
  if (names.length === 0) return { copied: [], skipped: [], movedTo: undefined };
  let MongoClient;
  try {
    ({ MongoClient } = await import('mongodb'));
  } catch {
    throw new CarryOverUnavailable('the mongodb package is not installed yet');
  }
  const port = await freePort();
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pmf-ferretdb-sqlite-'));
  const child = spawn(
    ferretBin,
    [
      '--handler=sqlite',
      `--sqlite-url=file:${sqliteDir}/`,
      `--listen-addr=127.0.0.1:${port}`,
      `--state-dir=${stateDir}`,
      '--debug-addr=-',
      '--telemetry=disable',
      '--log-level=error',
    ],
    { stdio: 'ignore' },
  );
  const source = new MongoClient(`mongodb://127.0.0.1:${port}/`, { serverSelectionTimeoutMS: 10_000 });
  const target = new MongoClient(targetUrl, { serverSelectionTimeoutMS: 10_000 });
  try {
    await waitForPort(port, child);
    await Promise.all([source.connect(), target.connect()]);
    const copied = [];
    const skipped = names.filter((n) => skip.test(n));
    for (const name of names.filter((n) => !skip.test(n))) copied.push(await copyDatabase(source, target, name));
    await source.close();
    await new Promise((resolve) => {
      child.once('exit', resolve);
      child.kill('SIGTERM');
    });
    const movedTo = fs.existsSync(migratedDir) ? `${migratedDir}-${Date.now()}` : migratedDir;
    fs.renameSync(sqliteDir, movedTo);
    return { copied, skipped, movedTo };
  } finally {
    await Promise.all([source.close(), target.close()]);
    if (child.exitCode === null) child.kill('SIGTERM');
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}
