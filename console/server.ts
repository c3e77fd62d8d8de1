// The console's HTTP server: express + @remix-run/express serving the built Remix app (console/build), or
// Vite's dev middleware when NODE_ENV=development. console/main.ts is the process; tests call startConsole().
import { createRequestHandler } from '@remix-run/express';
import type { ServerBuild } from '@remix-run/node';
import express from 'express';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Env } from '../core/config/index.js';
import { createLogger } from '../core/observability/logger.js';
import type { Storage } from '../core/storage/index.js';
import { FOREIGN_ORIGIN_HEADER } from './app/lib/origin.server.js';
import type { ConsoleServices, JobsPort } from './app/lib/ports.server.js';
import { countRequests, routeLabeler, serveMetrics } from './metrics.js';
import { createConsoleRuntime } from './composition.js';

const consoleDir = fileURLToPath(new URL('.', import.meta.url));
const BUILD_DIR = `${consoleDir}build`;
const SERVER_BUILD = `${BUILD_DIR}/server/index.js`;

export type StartConsoleOptions = {
  env: Env;
  port?: number;
  host?: string;
  /** Reuse open storage (tests); otherwise the console opens and closes its own. */
  storage?: Storage;
  /** A job layer to use instead of creating one (tests that run a worker in-process). */
  jobs?: JobsPort;
  /** Redis prefix of the job layer's progress channels, when a test runs it with its own. */
  progressPrefix?: string;
  /** Vite dev middleware instead of the build (default: NODE_ENV === 'development'). */
  dev?: boolean;
};

export type ConsoleServer = {
  url: string;
  services: ConsoleServices;
  indexReady: Promise<void>;
  close(): Promise<void>;
};

/**
 * Remix answers a document POST whose Origin host is not the Host with a bare 500 (and logs a stack) before
 * any route runs. Such an Origin moves to FOREIGN_ORIGIN_HEADER, so the route's own origin check refuses it
 * with the console's 403 page and an audit row. A copy of that header sent by a client is dropped first.
 */
function moveForeignOrigin(req: express.Request, _res: express.Response, next: express.NextFunction): void {
  delete req.headers[FOREIGN_ORIGIN_HEADER];
  const origin = req.headers.origin;
  if (origin && !['GET', 'HEAD', 'OPTIONS'].includes(req.method)) {
    const host = (req.headers['x-forwarded-host'] as string | undefined)?.split(',')[0]?.trim() || req.headers.host;
    let originHost: string | undefined;
    try {
      originHost = new URL(origin).host;
    } catch {
      originHost = undefined;
    }
    if (!originHost || originHost !== host) {
      req.headers[FOREIGN_ORIGIN_HEADER] = origin;
      delete req.headers.origin;
    }
  }
  next();
}

/**
 * Scripts only from the console itself and the inline ones Remix renders with this response's nonce; no
 * plugins, frames, foreign forms or base-URL tricks. Inline `style` attributes (bar widths, chart colours)
 * are allowed, style sheets are not.
 */
function contentSecurityPolicy(nonce: string): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}'`,
    "style-src 'self'",
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export function consoleBuildExists(): boolean {
  return existsSync(SERVER_BUILD);
}

export async function startConsole(opts: StartConsoleOptions): Promise<ConsoleServer> {
  const logger = createLogger('console', opts.env.LOG_LEVEL);
  const runtime = await createConsoleRuntime(opts.env, logger, {
    jobs: opts.jobs,
    storage: opts.storage,
    progressPrefix: opts.progressPrefix,
  });
  const app = express();
  app.disable('x-powered-by');
  // Behind a reverse proxy on this machine (or in compose), trust its X-Forwarded-* for the client address.
  app.set('trust proxy', 'loopback');
  const dev = opts.dev ?? opts.env.NODE_ENV === 'development';
  app.use((_req, res, next) => {
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'same-origin');
    res.locals.cspNonce = randomBytes(16).toString('base64');
    // Vite's dev middleware injects scripts of its own; the policy applies to the built console.
    if (!dev) res.setHeader('Content-Security-Policy', contentSecurityPolicy(res.locals.cspNonce as string));
    next();
  });
  // Each request is counted under its Remix route, known once the build is loaded below (decision 080).
  let resolveLabels!: (labeler: (path: string) => string) => void;
  const labels = new Promise<(path: string) => string>((resolve) => (resolveLabels = resolve));
  app.use(countRequests(() => labels));
  app.get('/metrics', serveMetrics(opts.env.METRICS_TOKEN));
  app.get('/health', async (_req, res) => {
    const health = await runtime.storage.health();
    res.status(health.ok ? 200 : 503).json(health);
  });

  let closeVite: (() => Promise<void>) | undefined;
  let build: ServerBuild | (() => Promise<ServerBuild>);
  if (dev) {
    const vite = await import('vite');
    const server = await vite.createServer({
      configFile: `${consoleDir}vite.config.ts`,
      server: { middlewareMode: true },
    });
    closeVite = () => server.close();
    app.use(server.middlewares);
    build = () => server.ssrLoadModule('virtual:remix/server-build') as Promise<ServerBuild>;
  } else {
    if (!consoleBuildExists()) throw new Error('console/build is missing: run `npm run console:build` first');
    app.use('/assets', express.static(`${BUILD_DIR}/client/assets`, { immutable: true, maxAge: '1y' }));
    app.use(express.static(`${BUILD_DIR}/client`, { maxAge: '1h' }));
    build = (await import(pathToFileURL(SERVER_BUILD).href)) as ServerBuild;
  }
  (typeof build === 'function' ? build() : Promise.resolve(build)).then(
    (b) => resolveLabels(routeLabeler(b.routes)),
    () => resolveLabels(() => 'unmatched'),
  );
  app.use(moveForeignOrigin);
  app.all(
    '*',
    createRequestHandler({
      build,
      mode: dev ? 'development' : 'production',
      getLoadContext: (req, res) => ({
        services: runtime.services,
        clientIp: req.ip ?? 'unknown',
        cspNonce: res.locals.cspNonce as string,
      }),
    }),
  );

  const server = app.listen(opts.port ?? 0, opts.host ?? '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${opts.host && opts.host !== '0.0.0.0' ? opts.host : '127.0.0.1'}:${port}`;
  logger.info({ url }, 'console listening');
  return {
    url,
    services: runtime.services,
    indexReady: runtime.indexReady,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await closeVite?.();
      await runtime.close();
    },
  };
}
