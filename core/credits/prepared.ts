import type { Db } from '../storage/index.js';

// The ledger's hot statements run as named prepared statements: PostgreSQL parses and plans each once per
// connection instead of on every call, which is a large share of the server time of a one-row statement.
// knex has no API for named statements, so these borrow a connection from knex's pool and use pg directly.

export type Row = Record<string, unknown>;

export type Prepared = { name: string; text: string; params: readonly string[] };

/** Turns `:name` placeholders into `$n` (the same name always gets the same number). `::` casts are left alone. */
export function prepare(name: string, sql: string): Prepared {
  const params: string[] = [];
  const text = sql.replace(/(?<![:\w]):([a-z][a-zA-Z0-9]*)\b/g, (_m, param: string) => {
    const at = params.indexOf(param);
    if (at >= 0) return `$${at + 1}`;
    params.push(param);
    return `$${params.length}`;
  });
  return { name, text, params };
}

type PgConnection = { query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: Row[] }> };

function isPgConnection(value: unknown): value is PgConnection {
  return typeof value === 'object' && value !== null && typeof (value as { query?: unknown }).query === 'function';
}

export async function runPrepared(db: Db, stmt: Prepared, bindings: Record<string, unknown>): Promise<Row[]> {
  const values = stmt.params.map((p) => {
    if (!(p in bindings)) throw new Error(`statement ${stmt.name} needs a value for :${p}`);
    const v = bindings[p];
    return v === undefined ? null : v;
  });
  const connection: unknown = await db.client.acquireConnection();
  try {
    if (!isPgConnection(connection)) throw new Error('the ledger needs a pg connection');
    const result = await connection.query({ name: stmt.name, text: stmt.text, values });
    return result.rows;
  } finally {
    await db.client.releaseConnection(connection);
  }
}
