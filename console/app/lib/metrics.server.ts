// Counters recorded inside the Remix app (sign-ins, audited changes). The app is bundled (console/build) while
// the express server that serves /metrics is not, so the two meet in prom-client's default registry: prom-client
// stays an external package of the bundle, loaded once per process (decision 080).
import { Counter, register } from 'prom-client';

/** One instance per process even when a module is evaluated twice (Vite's dev server reloads modules). */
function counter<T extends string>(name: string, help: string, labelNames: readonly T[]): Counter<T> {
  return (register.getSingleMetric(name) as Counter<T> | undefined) ?? new Counter({ name, help, labelNames });
}

export const appMetrics = {
  logins: counter('pmf_console_logins_total', 'Console sign-ins by outcome: succeeded, failed or throttled', [
    'outcome',
  ] as const),
  adminActions: counter(
    'pmf_console_admin_actions_total',
    'Console changes written to the audit log (replays of one idempotency key count once), by action',
    ['action'] as const,
  ),
};
