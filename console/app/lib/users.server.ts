// Console users: argon2id password hashes, roles admin|viewer, disabling instead of deleting so the
// audit log keeps naming who did what.
import { hash, verify } from '@node-rs/argon2';
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { z } from 'zod';

export const ROLES = ['admin', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export type ConsoleUser = {
  id: string;
  email: string;
  role: Role;
  disabledAt: Date | null;
  createdAt: Date;
  /** Signed in with a one-time password: must choose their own before anything else. */
  mustChangePassword?: boolean;
};

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
  return {
    id: r.id,
    email: r.email,
    role: r.role,
    disabledAt: r.disabled_at,
    createdAt: r.created_at,
    mustChangePassword: r.password_hash.startsWith(ONE_TIME),
  };
}

/**
 * A password an admin issued (new account, reset) is stored as `otp:<expiry ms>:<argon2 hash>`: it works
 * once its holder signs in — who must then choose their own — and not at all after ONE_TIME_TTL_MS.
 * Marking the hash keeps this state where the password is, with no extra column (decision 079).
 */
export const ONE_TIME = 'otp:';
const ONE_TIME_TTL_MS = 24 * 60 * 60 * 1000;

async function oneTimeHash(password: string, now: Date): Promise<string> {
  return `${ONE_TIME}${now.getTime() + ONE_TIME_TTL_MS}:${await hash(password)}`;
}

/** The argon2 hash to verify against, or undefined when a one-time password has expired. */
function verifiableHash(stored: string, now: Date): string | undefined {
  if (!stored.startsWith(ONE_TIME)) return stored;
  const rest = stored.slice(ONE_TIME.length);
  const colon = rest.indexOf(':');
  return Number(rest.slice(0, colon)) > now.getTime() ? rest.slice(colon + 1) : undefined;
}

/** 24 random bytes in base64url: ~190 bits, typeable, no ambiguous punctuation. */
export function generatePassword(): string {
  return randomBytes(24).toString('base64url');
}

export async function createUser(
  db: Knex,
  input: { email: string; password: string; role: Role; createdBy?: string; oneTime?: Date },
): Promise<ConsoleUser> {
  const email = emailSchema.parse(input.email);
  const password = passwordSchema.parse(input.password);
  const [row] = await db<UserRow>('console_users')
    .insert({
      email,
      password_hash: input.oneTime ? await oneTimeHash(password, input.oneTime) : await hash(password),
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

export async function setUserRole(db: Knex, id: string, role: Role): Promise<void> {
  await db('console_users').where({ id }).update({ role });
}

/** Enabled admins other than `exceptId`: a change that would leave none is refused. */
export async function otherActiveAdmins(db: Knex, exceptId: string): Promise<number> {
  const [row] = await db('console_users')
    .where({ role: 'admin' })
    .whereNull('disabled_at')
    .whereNot({ id: exceptId })
    .count<{ count: string }[]>({ count: '*' });
  return Number(row?.count ?? 0);
}

/** Ends every live session of a user ("sign out everywhere"); returns how many were ended. */
export async function revokeAllSessions(db: Knex, userId: string, exceptSessionId?: string): Promise<number> {
  const q = db('console_sessions').where({ user_id: userId }).whereNull('revoked_at');
  if (exceptSessionId) q.whereNot({ id: exceptSessionId });
  return q.update({ revoked_at: db.fn.now() });
}

/** Admin-issued reset: a one-time password, and every session of the user ended. */
export async function issueOneTimePassword(db: Knex, userId: string, now: Date): Promise<string> {
  const password = generatePassword();
  await db('console_users')
    .where({ id: userId })
    .update({ password_hash: await oneTimeHash(password, now) });
  await revokeAllSessions(db, userId);
  return password;
}

/** The user's own new password (replaces a one-time one). */
export async function setOwnPassword(db: Knex, userId: string, password: string): Promise<void> {
  await db('console_users')
    .where({ id: userId })
    .update({ password_hash: await hash(passwordSchema.parse(password)) });
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
export async function verifyCredentials(
  db: Knex,
  email: string,
  password: string,
  now = new Date(),
): Promise<ConsoleUser | undefined> {
  const row = await db<UserRow>('console_users').where({ email: email.trim().toLowerCase() }).first();
  const stored = row ? verifiableHash(row.password_hash, now) : undefined;
  if (!row || !stored) {
    dummyHash ??= hash(generatePassword());
    await verify(await dummyHash, password).catch(() => false);
    return undefined;
  }
  const ok = await verify(stored, password).catch(() => false);
  if (!ok || row.disabled_at) return undefined;
  return toUser(row);
}
