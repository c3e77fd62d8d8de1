import knex, { type Knex } from 'knex';
import pg from 'pg';

// bigint (int8) columns hold credit amounts and counts that stay far below 2^53: read them as numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (v: string) => Number(v));

export type Db = Knex;

export function createPostgres(url: string, pool: { min?: number; max?: number } = {}): Db {
  return knex({
    client: 'pg',
    connection: { connectionString: url, application_name: 'pmf-scout' },
    pool: { min: pool.min ?? 0, max: pool.max ?? 20 },
    acquireConnectionTimeout: 10_000,
    // knex logs connection errors to the console by default; callers report them through health instead.
    log: { warn: () => undefined, error: () => undefined, deprecate: () => undefined, debug: () => undefined },
  });
}
