import { applyLocalServiceDefaults } from './local-services.js';
import { createPostgres, migrateLatest } from '../core/storage/index.js';

applyLocalServiceDefaults();
const db = createPostgres(process.env.DATABASE_URL!);
try {
  await migrateLatest(db);
} finally {
  await db.destroy();
}
