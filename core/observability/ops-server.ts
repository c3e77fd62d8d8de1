import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { Health } from '../storage/health.js';
import { metricsAccess } from './metrics-access.js';
import { registry } from './metrics.js';

export type OpsServer = { url: string; close(): Promise<void> };

async function metricsText(
  more: (() => Promise<MetricObjectWithValues<MetricValue<string>>[][]>) | undefined,
): Promise<{ text: string; contentType: string }> {
  if (!more) return { text: await registry.metrics(), contentType: registry.contentType };
  // pmf_* counters and histograms recorded by both threads add up (each pmf_* gauge is set in one thread only).
  // Process metrics come from this thread alone, taken as they are ('first'); their cluster defaults would
  // drop some (process_start_time_seconds is 'omit').
  const own = (await registry.getMetricsAsJSON()).map((m) =>
    m.name.startsWith('pmf_') ? m : { ...m, aggregator: 'first' as const },
  );
  const merged = AggregatorRegistry.aggregate([own, ...(await more())]);
  return { text: await merged.metrics(), contentType: merged.contentType };
}

/** `/health` (200 when every dependency is up, else 503) and Prometheus `/metrics` for a process. */
export async function startOpsServer(opts: {
  port: number;
  host?: string;
  health: () => Promise<Health>;
  /** METRICS_TOKEN: when set, /metrics answers only requests bearing it (decision 080). */
  metricsToken?: string;
  /** Metrics recorded elsewhere in this process (the bot's work thread), summed with this thread's. */
  moreMetrics?: () => Promise<MetricObjectWithValues<MetricValue<string>>[][]>;
}): Promise<OpsServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405).end();
      return;
    }
    if (path === '/health') {
      opts.health().then(
        (health) => {
          res.writeHead(health.ok ? 200 : 503, { 'content-type': 'application/json' });
          res.end(JSON.stringify(health));
        },
        (err: unknown) => {
          res.writeHead(503, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ ok: false, error: (err as Error).message }));
        },
      );
      return;
    }
    if (path === '/metrics') {
      const access = metricsAccess({
        token: opts.metricsToken,
        authorization: req.headers.authorization,
        clientIp: req.socket.remoteAddress,
        loopbackWithoutToken: false,
      });
      if (!access.ok) {
        res.writeHead(access.status, {
          'content-type': 'text/plain; charset=utf-8',
          ...(access.status === 401 ? { 'www-authenticate': 'Bearer' } : {}),
        });
        res.end(`${access.message}\n`);
        return;
      }
      metricsText(opts.moreMetrics).then(
        ({ text, contentType }) => {
          res.writeHead(200, { 'content-type': contentType });
          res.end(text);
        },
        (err: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
          res.end(`metrics could not be gathered: ${(err as Error).message}\n`);
        },
      );
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(opts.port, opts.host ?? '0.0.0.0', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
