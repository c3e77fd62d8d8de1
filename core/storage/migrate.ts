import type { Knex } from 'knex';
import { migrations } from '../../migrations/index.js';

// Migrations are TypeScript modules listed in one index rather than files knex discovers at run time,
// so that the same list works under tsx, jest and a bundled build.
const source: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name) => {
    const migration = migrations[name];
    if (!migration) throw new Error(`unknown migration ${name}`);
    return migration;
  },
};

export async function migrateLatest(db: Knex): Promise<string[]> {
  const [, applied] = (await db.migrate.latest({ migrationSource: source })) as [number, string[]];
  return applied;
}
