import { describe, expect, it } from '@jest/globals';
import { startOpsServer } from './ops-server.js';
import { metrics, registry } from './metrics.js';

describe('ops server', () => {
  it('answers /health with 200 or 503 by dependency state, and /metrics in Prometheus text', async () => {
    let up = true;
    const ops = await startOpsServer({
      port: 0,
      host: '127.0.0.1',
      health: async () => ({ ok: up, dependencies: [{ name: 'redis', up, latencyMs: 1 }] }),
    });
    try {
      const ok = await fetch(`${ops.url}/health`);
      expect(ok.status).toBe(200);
      expect(await ok.json()).toMatchObject({ ok: true, dependencies: [{ name: 'redis', up: true }] });
      up = false;
      expect((await fetch(`${ops.url}/health`)).status).toBe(503);

      metrics.researches.inc({ status: 'succeeded', depth: 'standard' });
      const text = await (await fetch(`${ops.url}/metrics`)).text();
      expect(text).toMatch(/pmf_researches_total\{status="succeeded",depth="standard"\} \d+/);
      expect(text).toContain('process_resident_memory_bytes');
      expect((await fetch(`${ops.url}/nope`)).status).toBe(404);
    } finally {
      await ops.close();
    }
  });
});

describe('ops server with METRICS_TOKEN', () => {
  it('serves /metrics only to requests bearing the token, and /health to everyone', async () => {
    const token = 'ops-metrics-token-0123456789';
    const ops = await startOpsServer({
      port: 0,
      host: '127.0.0.1',
      health: async () => ({ ok: true, dependencies: [] }),
      metricsToken: token,
    });
    try {
      expect((await fetch(`${ops.url}/health`)).status).toBe(200);
      const refused = await fetch(`${ops.url}/metrics`);
      expect(refused.status).toBe(401);
      expect(await refused.text()).toMatch(/Authorization: Bearer <METRICS_TOKEN>/);
      const ok = await fetch(`${ops.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain('pmf_researches_total');
    } finally {
      await ops.close();
    }
  });
});

describe('ops server with metrics from another thread', () => {
  it('adds the other thread’s pmf_* series to its own and keeps its process metrics', async () => {
    const depth = `t${Date.now()}`;
    metrics.researches.inc({ status: 'failed', depth }, 2);
    const other = (await registry.getMetricsAsJSON()).filter((m) => m.name === 'pmf_researches_total');
    const ops = await startOpsServer({
      port: 0,
      host: '127.0.0.1',
      health: async () => ({ ok: true, dependencies: [] }),
      moreMetrics: async () => [other],
    });
    try {
      const text = await (await fetch(`${ops.url}/metrics`)).text();
      expect(text).toContain(`pmf_researches_total{status="failed",depth="${depth}"} 4`);
      expect(text).toMatch(/process_start_time_seconds \d+/);
      expect(text).toMatch(/process_resident_memory_bytes \d+/);
    } finally {
      await ops.close();
    }
  });
});
