// Who may read /metrics (decision 080): with METRICS_TOKEN set, whoever sends it as a bearer token, from
// anywhere; without it, the console answers only this machine (loopback) while the bot's and worker's
// health ports, which are never published, stay open.
import { timingSafeEqual, createHash } from 'node:crypto';

export type MetricsAccess = { ok: true } | { ok: false; status: 401 | 403; message: string };

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Compares digests so the comparison takes the same time whatever the token's length or first wrong byte. */
export function bearerMatches(authorization: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
  return match !== null && timingSafeEqual(digest(match[1]!.trim()), digest(token));
}

export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4 === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

const NEEDS_TOKEN =
  'Metrics need the bearer token: send "Authorization: Bearer <METRICS_TOKEN>". Nothing was read or changed; ' +
  'put the token in your Prometheus scrape config (authorization: credentials).';
const LOOPBACK_ONLY =
  'Metrics are served only to this machine while METRICS_TOKEN is unset. Nothing was read or changed; ' +
  'scrape from this host, or set METRICS_TOKEN and send it as a bearer token.';

export function metricsAccess(opts: {
  token: string | undefined;
  authorization: string | undefined;
  clientIp: string | undefined;
  /** True where the port may face the public (the console); false for the bot's and worker's health ports. */
  loopbackWithoutToken: boolean;
}): MetricsAccess {
  if (opts.token) {
    return bearerMatches(opts.authorization, opts.token)
      ? { ok: true }
      : { ok: false, status: 401, message: NEEDS_TOKEN };
  }
  if (opts.loopbackWithoutToken && !isLoopback(opts.clientIp))
    return { ok: false, status: 403, message: LOOPBACK_ONLY };
  return { ok: true };
}
