// npm run console:create-admin -- --email you@example.com [--password …] [--role viewer]
// Prints a generated password when none is given: there are no default credentials anywhere.
import { parseArgs } from 'node:util';
import { loadConfigOrExit } from '../../core/config/index.js';
import { createPostgres, migrateLatest } from '../../core/storage/index.js';
import { writeAudit } from '../app/lib/audit.server.js';
import {
  createUser,
  emailSchema,
  findUserByEmail,
  generatePassword,
  passwordSchema,
  ROLES,
  type Role,
} from '../app/lib/users.server.js';

const { values } = parseArgs({
  options: { email: { type: 'string' }, password: { type: 'string' }, role: { type: 'string', default: 'admin' } },
});
if (!values.email) {
  process.stderr.write(
    'usage: npm run console:create-admin -- --email you@example.com [--password …] [--role admin|viewer]\n',
  );
  process.exit(64);
}
const role = values.role as Role;
if (!ROLES.includes(role)) {
  process.stderr.write(`--role must be one of ${ROLES.join(', ')}\n`);
  process.exit(64);
}
if (!emailSchema.safeParse(values.email).success) {
  process.stderr.write(`--email: ${values.email} is not an email address\n`);
  process.exit(64);
}
if (values.password !== undefined && !passwordSchema.safeParse(values.password).success) {
  process.stderr.write('--password: at least 12 characters (or leave it out and one is generated)\n');
  process.exit(64);
}
const env = loadConfigOrExit(process.env, ['DATABASE_URL']);
const db = createPostgres(env.DATABASE_URL);
try {
  await migrateLatest(db);
  if (await findUserByEmail(db, values.email)) {
    process.stderr.write(`a console user ${values.email} already exists\n`);
    process.exitCode = 1;
  } else {
    const password = values.password ?? generatePassword();
    const user = await createUser(db, { email: values.email, password, role, createdBy: 'cli' });
    await writeAudit(db, {
      actor: { id: user.id, email: 'cli' },
      action: 'user.create',
      targetType: 'user',
      targetId: user.id,
      details: { email: user.email, role },
    });
    process.stdout.write(`created ${role} ${user.email}\n`);
    if (!values.password)
      process.stdout.write(`password: ${password}\n(shown once; store it in your password manager)\n`);
  }
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
} finally {
  await db.destroy();
}
