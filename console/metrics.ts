// The console's /metrics (decision 080): HTTP requests and latency by Remix route, beside the counters the app
// records itself (sign-ins, audited changes: app/lib/metrics.server.ts) and everything core/ records in this
// process (credits moved by console grants, provider calls of the playground's job layer).
import { matchRoutes } from '@remix-run/react';
import type { ServerBuild } from '@remix-run/node';
import type { RequestHandler } from 'express';
import { Counter, Histogram, Registry, register as appRegistry } from 'prom-client';
import { metricsAccess } from '../core/observability/metrics-access.js';
import { registry } from '../core/observability/metrics.js';

export const httpMetrics = {
  requests: new Counter({
    name: 'pmf_console_http_requests_total',
    help: 'Console HTTP requests by route (Remix route id), method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [registry],
  }),
  seconds: new Histogram({
    name: 'pmf_console_http_request_seconds',
    help: 'Console HTTP request latency by route (Remix route id) and method',
    labelNames: ['route', 'method'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  }),
};

type RouteNode = { id: string; path?: string; index?: boolean; caseSensitive?: boolean; children?: RouteNode[] };
type Routes = Parameters<typeof matchRoutes>[0];

function routeTree(manifest: ServerBuild['routes'], parentId: string | undefined): RouteNode[] {
  return Object.values(manifest)
    .filter((r) => r?.parentId === parentId)
    .map((r) => ({
      id: r!.id,
      path: r!.path,
      index: r!.index,
      caseSensitive: r!.caseSensitive,
      children: routeTree(manifest, r!.id),
    }));
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * The label for a request path: the id of the Remix route that serves it (`routes/reports.$id`), so one label
 * covers every report and the series stay few; `/health` and `/metrics` by name; anything else `unmatched`.
 */
export function routeLabeler(manifest: ServerBuild['routes']): (path: string) => string {
  const tree = routeTree(manifest, undefined) as Routes;
  return (path) => {
    if (path === '/health' || path === '/metrics') return path;
    if (path.startsWith('/assets/')) return 'assets';
    const leaf = matchRoutes(tree, path)?.at(-1)?.route as RouteNode | undefined;
    return leaf && leaf.id !== 'root' ? leaf.id : 'unmatched';
  };
}

/** Counts each finished request by route; `labeler` resolves once the Remix build is loaded. */
export function countRequests(labeler: () => Promise<(path: string) => string>): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const method = METHODS.has(req.method) ? req.method : 'OTHER';
      void labeler().then((label) => {
        const route = label(req.path);
        httpMetrics.seconds.observe({ route, method }, Number(process.hrtime.bigint() - started) / 1e9);
        httpMetrics.requests.inc({ route, method, status: String(res.statusCode) });
      });
    });
    next();
  };
}

/** GET /metrics: this process's core registry and the app's counters, for METRICS_TOKEN or loopback. */
export function serveMetrics(token: string | undefined): RequestHandler {
  return (req, res, next) => {
    const access = metricsAccess({
      token,
      authorization: req.get('authorization'),
      clientIp: req.ip,
      loopbackWithoutToken: true,
    });
    if (!access.ok) {
      if (access.status === 401) res.set('WWW-Authenticate', 'Bearer');
      res.status(access.status).type('text/plain').send(`${access.message}\n`);
      return;
    }
    const merged = Registry.merge([registry, appRegistry]);
    merged.metrics().then((text) => res.type(merged.contentType).send(text), next);
  };
}
