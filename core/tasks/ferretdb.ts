import {
  MongoServerError,
  type Collection,
  type Document,
  type IndexDescription,
  type OptionalUnlessRequiredId,
} from 'mongodb';

// What the task store needs to behave alike on FerretDB 1.24 and MongoDB. FerretDB applies an update as
// read, modify, write of the whole document without a lock, so whatever must happen once is an insert
// against a unique `_id`, which is atomic on both (decision 040); and it drops the connection when one
// createIndexes command repeats several existing indexes, which MongoDB treats as a no-op.

export type NamedIndex = IndexDescription & { name: string };

/** The server refused an insert or update for a unique index (E11000), on MongoDB and FerretDB alike. */
function isDuplicateKey(err: unknown): err is MongoServerError {
  return err instanceof MongoServerError && err.code === 11000;
}

/** Inserts `doc` unless its `_id` (or another unique key) is taken: true when this call inserted it. */
export async function insertOnce<T extends { _id: string }>(
  collection: Collection<T>,
  doc: OptionalUnlessRequiredId<T>,
): Promise<boolean> {
  try {
    await collection.insertOne(doc);
    return true;
  } catch (err) {
    if (isDuplicateKey(err)) return false;
    throw err;
  }
}

/** Creates the indexes that are missing, one per command. */
export async function createMissingIndexes<T extends Document>(
  collection: Collection<T>,
  indexes: NamedIndex[],
): Promise<void> {
  const existing = new Set(
    (
      await collection
        .listIndexes()
        .toArray()
        .catch(() => [])
    ).map((i: { name?: string }) => i.name),
  );
  for (const index of indexes.filter((i) => !existing.has(i.name))) await collection.createIndexes([index]);
}
