import { MongoClient, type Db as MongoDb } from 'mongodb';

export type Mongo = { client: MongoClient; db: MongoDb };

/** The database name comes from the URL path (`mongodb://host/pmf`), `pmf` when the URL names none. */
export async function connectMongo(url: string, dbName?: string): Promise<Mongo> {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 5000, maxPoolSize: 50 });
  await client.connect();
  return { client, db: client.db(dbName ?? (new URL(url).pathname.slice(1) || 'pmf')) };
}
