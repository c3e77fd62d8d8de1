/**
 * The port a process serves /health and /metrics on: its HEALTH_PORT (0 = off) plus PM2's NODE_APP_INSTANCE,
 * so the workers of one `instances: N` app each get their own port (decision 081). Outside PM2 the instance
 * is unset and the port is HEALTH_PORT itself, as in compose where each container has its own network.
 */
export function healthPort(base: number, instance: string | undefined): number {
  if (base === 0) return 0;
  const n = instance === undefined || instance === '' ? 0 : Number(instance);
  if (!Number.isInteger(n) || n < 0) throw new Error(`NODE_APP_INSTANCE must be a whole number, got "${instance}"`);
  const port = base + n;
  if (port > 65535) throw new Error(`HEALTH_PORT ${base} + instance ${n} is past the last port (65535)`);
  return port;
}
