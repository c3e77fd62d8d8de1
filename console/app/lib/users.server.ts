// Console users: argon2id password hashes, roles admin|viewer, disabling instead of deleting so the
// audit log keeps naming who did what.
import { hash, verify } from '@node-rs/argon2';
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { z } from 'zod';

export const ROLES = ['admin', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export type ConsoleUser = { id: string; email: string; role: Role; disabledAt: Date | null; createdAt: Date };

type UserRow = {
  id: string;
  email: string;
  password_hash: string;
  role: Role;
  disabled_at: Date | null;
  created_at: Date;
};

export const emailSchema = z.string().trim().toLowerCase().email().max(254);
export const passwordSchema = z.string().min(12, 'at least 12 characters').max(256);

function toUser(r: UserRow): ConsoleUser {
  return { id: r.id, email: r.email, role: r.role, disabledAt: r.disabled_at, createdAt: r.created_at };
}

/** 24 random bytes in base64url: ~190 bits, typeable, no ambiguous punctuation. */
export function generatePassword(): string {
  return randomBytes(24).toString('base64url');
}

export async function createUser(
  db: Knex,
  input: { email: string; password: string; role: Role; createdBy?: string },
): Promise<ConsoleUser> {
  const email = emailSchema.parse(input.email);
  const password = passwordSchema.parse(input.password);
  const [row] = await db<UserRow>('console_users')
    .insert({
      email,
      password_hash: await hash(password),
      role: input.role,
      created_by: input.createdBy ?? null,
    } as never)
    .returning('*');
  return toUser(row as UserRow);
}

export async function findUserByEmail(db: Knex, email: string): Promise<ConsoleUser | undefined> {
  const row = await db<UserRow>('console_users').where({ email: email.trim().toLowerCase() }).first();
  return row ? toUser(row) : undefined;
}

export async function getUser(db: Knex, id: string): Promise<ConsoleUser | undefined> {
  const row = await db<UserRow>('console_users').where({ id }).first();
  return row ? toUser(row) : undefined;
}

export async function listUsers(db: Knex): Promise<ConsoleUser[]> {
  const rows = await db<UserRow>('console_users').orderBy('created_at', 'asc');
  return rows.map(toUser);
}

export async function setUserDisabled(db: Knex, id: string, disabled: boolean): Promise<void> {
  await db('console_users')
    .where({ id })
    .update({ disabled_at: disabled ? db.fn.now() : null });
  // A disabled user is logged out everywhere at once.
  if (disabled)
    await db('console_sessions').where({ user_id: id }).whereNull('revoked_at').update({ revoked_at: db.fn.now() });
}

// Verified against when the email is unknown, so a wrong email costs the same time as a wrong password.
let dummyHash: Promise<string> | undefined;

/** The user when email and password match an enabled account; undefined otherwise, without saying which part failed. */
export async function verifyCredentials(db: Knex, email: string, password: string): Promise<ConsoleUser | undefined> {
  const row = await db<UserRow>('console_users').where({ email: email.trim().toLowerCase() }).first();
  if (!row) {
    dummyHash ??= hash(generatePassword());
    await verify(await dummyHash, password).catch(() => false);
    return undefined;
  }
  const ok = await verify(row.password_hash, password).catch(() => false);
  if (!ok || row.disabled_at) return undefined;
  return toUser(row);
}
