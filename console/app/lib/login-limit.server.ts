// Login throttling that slows guessing without handing an attacker a way to lock the owner out (decision 077).
// Three counters over a 15-minute window of failed attempts in PostgreSQL (console_login_attempts):
// - per address + account: after two free mistakes each further failure doubles the wait before the next
//   try from that address for that account (1 s, 2 s, 4 s … 5 min). A success from the pair clears it.
// - per account, from every address: past ACCOUNT_CAP failures, only addresses with no failure for this
//   account since their last success may still try. The owner's own browser is such an address, so a
//   correct password from it is admitted however many guesses come from elsewhere; each guessing address
//   is down to one guess per window.
// - per address, over all accounts: past ADDRESS_CAP failures the address is refused (password spraying).
import type { Knex } from 'knex';

const LOGIN_WINDOW_MS = 15 * 60 * 1000;
export const FREE_FAILURES = 2;
const BASE_DELAY_MS = 1000;
const MAX_DELAY_MS = 5 * 60 * 1000;
export const ACCOUNT_CAP = 10;
const ADDRESS_CAP = 30;

export type LoginStats = {
  /** Failures for this account from this address since the pair's last success (within the window). */
  pairFailures: number;
  pairLastFailureAt: Date | null;
  pairFirstFailureAt: Date | null;
  /** Failures for this account from any address in the window. */
  accountFailures: number;
  /** Failures from this address for any account in the window. */
  addressFailures: number;
  addressFirstFailureAt: Date | null;
};

export type ThrottleDecision =
  { allowed: true } | { allowed: false; reason: 'pair_delay' | 'account_cap' | 'address_cap'; retryAfterMs: number };

/** The wait the pair has earned after `failures` failures: 0, 0, 1 s, 2 s, 4 s … capped at 5 min. */
export function pairDelayMs(failures: number): number {
  if (failures <= FREE_FAILURES) return 0;
  return Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (failures - FREE_FAILURES - 1));
}

/** Pure: may this attempt be checked at all? */
export function throttleDecision(s: LoginStats, now: Date): ThrottleDecision {
  const t = now.getTime();
  if (s.addressFailures >= ADDRESS_CAP) {
    const until = (s.addressFirstFailureAt?.getTime() ?? t) + LOGIN_WINDOW_MS;
    return { allowed: false, reason: 'address_cap', retryAfterMs: Math.max(1000, until - t) };
  }
  if (s.accountFailures >= ACCOUNT_CAP && s.pairFailures > 0) {
    const until = (s.pairFirstFailureAt?.getTime() ?? t) + LOGIN_WINDOW_MS;
    return { allowed: false, reason: 'account_cap', retryAfterMs: Math.max(1000, until - t) };
  }
  const wait = pairDelayMs(s.pairFailures);
  if (wait > 0 && s.pairLastFailureAt) {
    const left = s.pairLastFailureAt.getTime() + wait - t;
    if (left > 0) return { allowed: false, reason: 'pair_delay', retryAfterMs: left };
  }
  return { allowed: true };
}

export async function loginStats(db: Knex, email: string, ip: string, now: Date): Promise<LoginStats> {
  const since = new Date(now.getTime() - LOGIN_WINDOW_MS);
  const { rows } = (await db.raw(
    `WITH last_ok AS (
       SELECT coalesce(max(at), :since) AS at FROM console_login_attempts
        WHERE email = :email AND ip = :ip AND success AND at > :since
     )
     SELECT count(*) FILTER (WHERE a.email = :email AND a.ip = :ip AND a.at > last_ok.at) AS pair,
            max(a.at) FILTER (WHERE a.email = :email AND a.ip = :ip AND a.at > last_ok.at) AS pair_last,
            min(a.at) FILTER (WHERE a.email = :email AND a.ip = :ip AND a.at > last_ok.at) AS pair_first,
            count(*) FILTER (WHERE a.email = :email) AS account,
            count(*) FILTER (WHERE a.ip = :ip) AS address,
            min(a.at) FILTER (WHERE a.ip = :ip) AS address_first
       FROM console_login_attempts a, last_ok
      WHERE NOT a.success AND a.at > :since AND a.at <= :now AND (a.email = :email OR a.ip = :ip)`,
    { email, ip, since, now },
  )) as {
    rows: {
      pair: string;
      pair_last: Date | null;
      pair_first: Date | null;
      account: string;
      address: string;
      address_first: Date | null;
    }[];
  };
  const r = rows[0]!;
  return {
    pairFailures: Number(r.pair),
    pairLastFailureAt: r.pair_last,
    pairFirstFailureAt: r.pair_first,
    accountFailures: Number(r.account),
    addressFailures: Number(r.address),
    addressFirstFailureAt: r.address_first,
  };
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
