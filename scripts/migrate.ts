import { loadConfigOrExit } from '../core/config/index.js';
import { createPostgres, migrateLatest } from '../core/storage/index.js';

const env = loadConfigOrExit(process.env, ['DATABASE_URL']);
const db = createPostgres(env.DATABASE_URL);
try {
  const applied = await migrateLatest(db);
  process.stdout.write(applied.length ? `migrated: ${applied.join(', ')}\n` : 'database is up to date\n');
} finally {
  await db.destroy();
}
