import { afterAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { FERRETDB_BIN, startSqliteFerretDb } from '../test/helpers/private-servers.js';
import { carryOverSqliteStore, sqliteDatabases } from './ferretdb-carry-over.mjs';

// The store of a user from before decision 045 (FerretDB on SQLite files) must reach the PostgreSQL-backed
// FerretDB whole: documents with their types, indexes, every collection, and the old files kept.

const root = mkdtempSync(join(tmpdir(), 'pmf-carry-over-'));
const clients: MongoClient[] = [];

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  rmSync(root, { recursive: true, force: true });
});

async function client(url: string): Promise<MongoClient> {
  const c = new MongoClient(url, { serverSelectionTimeoutMS: 10_000 });
  clients.push(c);
  return c.connect();
}

describe('carryOverSqliteStore', () => {
  it('copies every document and index into the new server, skips test databases and keeps the old files', async () => {
    const sqliteDir = join(root, 'ferretdb');
    const migratedDir = join(root, 'ferretdb-sqlite-migrated');
    const run = randomUUID().slice(0, 8);
    const kept = `t_carry_${run}`;
    const skippedDb = `skipme_${run}`;
    const createdAt = new Date('2026-11-30T12:34:56.789Z');
    const tasks = Array.from({ length: 1234 }, (_, i) => ({
      _id: `task${String(i).padStart(5, '0')}`,
      requestKey: `rk-${i}`,
      createdAt,
      checkpoints: [{ id: 'received', at: createdAt }],
      score: i / 10,
    }));

    const old = await startSqliteFerretDb(sqliteDir);
    try {
      const source = await client(old.url);
      await source.db(kept).collection<{ _id: string }>('tasks').insertMany(tasks);
      await source
        .db(kept)
        .collection('tasks')
        .createIndex({ requestKey: 1 }, { name: 'requestKey_unique', unique: true });
      await source
        .db(kept)
        .collection('agendaJobs')
        .insertOne({ _id: `job-${run}` as never, name: 'research' });
      await source.db(skippedDb).collection('x').insertOne({ only: 'test data' });
      await source.close();
    } finally {
      await old.stop();
    }
    expect(sqliteDatabases(sqliteDir).sort()).toEqual([kept, skippedDb].sort());

    const target = await client(process.env.MONGO_URL!);
    // A carry-over interrupted after its first documents is simply run again.
    await target.db(kept).collection<{ _id: string }>('tasks').insertMany(tasks.slice(0, 10));

    const result = await carryOverSqliteStore({
      sqliteDir,
      migratedDir,
      targetUrl: process.env.MONGO_URL!,
      ferretBin: FERRETDB_BIN,
      skip: /^skipme_/,
    });

    expect(result.copied).toEqual([{ database: kept, collections: 2, documents: 1235 }]);
    expect(result.skipped).toEqual([skippedDb]);
    expect(result.movedTo).toBe(migratedDir);
    expect(existsSync(sqliteDir)).toBe(false);
    expect(readdirSync(migratedDir)).toEqual(expect.arrayContaining([`${kept}.sqlite`, `${skippedDb}.sqlite`]));

    const copied = target.db(kept).collection<{ _id: string }>('tasks');
    expect(await copied.countDocuments({})).toBe(1234);
    expect(await copied.findOne({ _id: 'task00003' })).toEqual(tasks[3]);
    const indexes = await copied.listIndexes().toArray();
    expect(indexes.find((i) => i.name === 'requestKey_unique')).toMatchObject({ unique: true, key: { requestKey: 1 } });
    expect(await target.db(kept).collection('agendaJobs').countDocuments({})).toBe(1);

    // Done once: the renamed directory is not carried over again.
    expect(
      await carryOverSqliteStore({
        sqliteDir,
        migratedDir,
        targetUrl: process.env.MONGO_URL!,
        ferretBin: FERRETDB_BIN,
      }),
    ).toEqual({
      copied: [],
      skipped: [],
      movedTo: undefined,
    });
  }, 120_000);
});
