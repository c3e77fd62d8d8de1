import { execFileSync } from 'node:child_process';

// Migrate once per run, before any worker starts (parallel migrators would fight over knex's lock).
// jest loads global setup through CommonJS hooks that cannot follow our ESM imports, so tsx runs it.
export default function globalSetup() {
  execFileSync(process.execPath, ['--import', 'tsx', 'test/migrate-test-db.ts'], { stdio: 'inherit' });
}
