import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

type Service = {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  container_name?: string;
  ports?: string[];
  stop_grace_period?: string;
};

const compose = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};

function composeCli(): string[] | null {
  if (spawnSync('docker', ['compose', 'version']).status === 0) return ['docker', 'compose'];
  if (spawnSync('docker-compose', ['version']).status === 0) return ['docker-compose'];
  return null;
}

describe('docker-compose.yml', () => {
  it('has the three stores at the pinned major versions, each with a health check and a named volume', () => {
    expect(compose.services.mongo?.image).toBe('mongo:7');
    expect(compose.services.postgres?.image).toBe('postgres:16');
    expect(compose.services.redis?.image).toBe('redis:7');
    for (const name of ['mongo', 'postgres', 'redis'])
      expect(compose.services[name]?.healthcheck?.test.length).toBeGreaterThan(0);
    expect(Object.keys(compose.volumes).sort()).toEqual([
      'mongo-data',
      'postgres-data',
      'prometheus-data',
      'redis-data',
    ]);
  });

  it('runs bot, worker and console from the one image, with what each needs to connect', () => {
    for (const name of ['bot', 'worker', 'console']) {
      const svc = compose.services[name]!;
      expect(svc.build).toBe('.');
      expect(svc.healthcheck).toBeDefined();
      for (const key of ['DATABASE_URL', 'MONGO_URL', 'REDIS_URL']) expect(svc.environment?.[key]).toBeTruthy();
    }
    expect(compose.services.bot?.command).toContain('bot/main.ts');
    expect(compose.services.worker?.command).toContain('bot/worker.ts');
    expect(compose.services.console?.command).toContain('console/main.ts');
    expect(Object.keys(compose.services.bot!.environment!)).toEqual(
      expect.arrayContaining(['SLACK_BOT_TOKEN', 'SLACK_APP_TOKEN', 'SLACK_SIGNING_SECRET', 'DISCORD_TOKEN']),
    );
    expect(Object.keys(compose.services.console!.environment!)).toEqual(
      expect.arrayContaining(['SESSION_SECRET', 'CONSOLE_PORT']),
    );
  });

  it('lets the worker scale (no fixed name or host port) and gives it longer to stop than its drain', () => {
    const worker = compose.services.worker!;
    expect(worker.container_name).toBeUndefined();
    expect(worker.ports).toBeUndefined();
    const drainMs = Number(worker.environment?.WORKER_DRAIN_TIMEOUT_MS?.match(/(\d+)\}?$/)?.[1]);
    expect(Number(worker.stop_grace_period?.replace(/s$/, '')) * 1000).toBeGreaterThan(drainMs);
  });

  it('is accepted by docker compose config (no engine needed)', () => {
    const cli = composeCli();
    expect(cli).not.toBeNull();
    const r = spawnSync(cli![0]!, [...cli!.slice(1), '-f', 'docker-compose.yml', 'config', '-q'], {
      env: { ...process.env, SESSION_SECRET: 'x'.repeat(64) },
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});

describe('ecosystem.config.js', () => {
  it('defines bot, worker and console, and waits for the worker drain before killing it', async () => {
    const url = new URL('../../ecosystem.config.js', import.meta.url).href;
    const { apps } = (await import(url)) as { apps: { name: string; script: string; kill_timeout: number }[] };
    expect(apps.map((a) => a.name)).toEqual(['bot', 'worker', 'console']);
    const worker = apps.find((a) => a.name === 'worker')!;
    expect(worker.kill_timeout).toBeGreaterThan(Number(process.env.WORKER_DRAIN_TIMEOUT_MS ?? 60_000));
  });

  it('does not restart a process that exits 78 (wrong credentials, no platform left): no crash loop', async () => {
    const url = new URL('../../ecosystem.config.js', import.meta.url).href;
    const { apps } = (await import(url)) as { apps: { name: string; stop_exit_codes?: number[] }[] };
    for (const app of apps) expect(app.stop_exit_codes).toContain(78);
  });

  it('runs every process with the heap flags the Dockerfile and the benchmarks use (decision 113)', async () => {
    const url = new URL('../../ecosystem.config.js', import.meta.url).href;
    const { apps, NODE_HEAP_FLAGS } = (await import(url)) as { apps: { node_args: string }[]; NODE_HEAP_FLAGS: string };
    expect(NODE_HEAP_FLAGS).toMatch(/^--max-semi-space-size=\d+$/);
    for (const app of apps) expect(app.node_args).toContain(NODE_HEAP_FLAGS);
    expect(readFileSync('Dockerfile', 'utf8')).toContain(`ENV NODE_OPTIONS=${NODE_HEAP_FLAGS}`);
    const { scripts } = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> };
    const benches = Object.entries(scripts).filter(([name]) => name.startsWith('bench:'));
    expect(benches.length).toBeGreaterThan(0);
    for (const [, command] of benches) expect(command).toContain(`NODE_OPTIONS=${NODE_HEAP_FLAGS} `);
  });

  it('points every app at an entry file that starts unconditionally (under PM2 argv[1] is PM2, not the script)', async () => {
    const url = new URL('../../ecosystem.config.js', import.meta.url).href;
    const { apps } = (await import(url)) as { apps: { script: string }[] };
    for (const { script } of apps) expect(readFileSync(script, 'utf8')).not.toMatch(/process\.argv\[1\]/);
  });
});
