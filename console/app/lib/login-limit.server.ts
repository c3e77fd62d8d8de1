// Login rate limit in PostgreSQL: failures per email and per client address in a sliding window.
// A successful login does not reset the window (that would let an attacker interleave a known account).
import type { Knex } from 'knex';

export const LOGIN_WINDOW_MS = 15 * 60 * 1000;
export const MAX_FAILURES_PER_EMAIL = 5;
export const MAX_FAILURES_PER_IP = 30;

export async function loginBlocked(db: Knex, email: string, ip: string, now: Date): Promise<boolean> {
  const since = new Date(now.getTime() - LOGIN_WINDOW_MS);
  const [byEmail, byIp] = await Promise.all([
    db('console_login_attempts')
      .where({ email, success: false })
      .where('at', '>', since)
      .count<{ count: number }[]>({ count: '*' }),
    db('console_login_attempts')
      .where({ ip, success: false })
      .where('at', '>', since)
      .count<{ count: number }[]>({ count: '*' }),
  ]);
  return Number(byEmail[0]?.count ?? 0) >= MAX_FAILURES_PER_EMAIL || Number(byIp[0]?.count ?? 0) >= MAX_FAILURES_PER_IP;
}

export async function recordLoginAttempt(
  db: Knex,
  email: string,
  ip: string,
  success: boolean,
  now: Date,
): Promise<void> {
  await db('console_login_attempts').insert({ email, ip, success, at: now });
}
