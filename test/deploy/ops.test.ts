// What ships under ops/: the Grafana dashboard, the Prometheus alert rules and scrape config, and the compose
// profile that runs them. Every metric they read must be one the code registers, the rules must pass promtool
// (Debian's `prometheus` package, installed by scripts/test-prereqs.mjs) and their unit tests must pass.
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { register } from 'prom-client';
import { parse } from 'yaml';
import { z } from 'zod';
import '../../console/app/lib/metrics.server.js';
import '../../console/metrics.js';
import { registry } from '../../core/observability/metrics.js';
import { metricNames } from '../helpers/promql.js';

const rulesSchema = z
  .object({
    groups: z.array(
      z
        .object({
          name: z.string().min(1),
          rules: z.array(
            z
              .object({
                alert: z.string().regex(/^Pmf[A-Za-z]+$/),
                expr: z.string().min(1),
                for: z.string().regex(/^\d+[smh]$/),
                labels: z.object({ severity: z.enum(['critical', 'warning', 'info']) }).strict(),
                annotations: z.object({ summary: z.string().min(10), description: z.string().min(20) }).strict(),
              })
              .strict(),
          ),
        })
        .strict(),
    ),
  })
  .strict();

type Panel = {
  id: number;
  type: string;
  title: string;
  datasource?: { uid: string };
  targets?: { expr: string; datasource?: { uid: string } }[];
};

const rules = rulesSchema.parse(parse(readFileSync('ops/prometheus/alerts.yml', 'utf8')));
const alerts = rules.groups.flatMap((g) => g.rules);
const dashboard = JSON.parse(readFileSync('ops/grafana/dashboards/pmf-scout.json', 'utf8')) as {
  uid: string;
  panels: Panel[];
};
const graphs = dashboard.panels.filter((p) => p.type !== 'row');
const dashboardExprs = graphs.flatMap((p) => (p.targets ?? []).map((t) => t.expr));

/** Every series name the processes export: histograms as their _bucket, _sum and _count series. */
async function exportedNames(): Promise<Set<string>> {
  const names = new Set<string>(['up']); // Prometheus records `up` for each target itself
  for (const m of [...(await registry.getMetricsAsJSON()), ...(await register.getMetricsAsJSON())]) {
    // getMetricsAsJSON reports the type as its Prometheus name; the typings declare it as an enum.
    const type = String(m.type);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${m.name}${suffix}`);
    else if (type === 'summary') for (const suffix of ['', '_sum', '_count']) names.add(`${m.name}${suffix}`);
    else names.add(m.name);
  }
  return names;
}

const promtool = spawnSync('sh', ['-c', 'command -v promtool']).status === 0;

function run(args: string[], cwd = '.') {
  const r = spawnSync('promtool', args, { cwd, encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('metric names in ops/', () => {
  it('reads metric names out of PromQL, leaving out functions, labels, ranges and Grafana variables', () => {
    expect(
      metricNames(
        'sum by (provider, kind) (rate(pmf_a_total{kind!="x"}[$__rate_interval])) / ignoring (kind) group_left sum by (provider) (rate(pmf_b_count[5m]))',
      ),
    ).toEqual(['pmf_a_total', 'pmf_b_count']);
    expect(metricNames('max(q) > 10 and deriv(max(q)[15m:1m]) > 0 or absent(up{job="w"}) offset 5m')).toEqual([
      'q',
      'up',
    ]);
    expect(metricNames('histogram_quantile(0.95, sum(rate(h_bucket[5m])) by (le)) > 1e3')).toEqual(['h_bucket']);
  });

  it('uses only names the code registers, in the dashboard and in every rule', async () => {
    const exported = await exportedNames();
    const used = [...dashboardExprs, ...alerts.map((a) => a.expr)].flatMap(metricNames);
    expect(used.length).toBeGreaterThan(20);
    expect([...new Set(used)].filter((name) => !exported.has(name))).toEqual([]);
  });
});

describe('ops/grafana/dashboards/pmf-scout.json', () => {
  it('has a panel for each thing an operator watches', () => {
    const used = new Set(dashboardExprs.flatMap(metricNames));
    for (const name of [
      'pmf_researches_total',
      'pmf_research_duration_seconds_bucket',
      'pmf_checkpoint_seconds_bucket',
      'pmf_provider_seconds_bucket',
      'pmf_provider_errors_total',
      'pmf_report_tavily_credits_sum',
      'pmf_report_llm_tokens_sum',
      'pmf_credits_total',
      'pmf_queue_depth',
      'pmf_job_pickup_seconds_bucket',
      'pmf_platform_api_errors_total',
      'pmf_ack_seconds_bucket',
      'pmf_ledger_balances_mismatched',
      'pmf_workspaces_balance_zero',
      'pmf_console_http_requests_total',
      'pmf_console_logins_total',
      'pmf_console_admin_actions_total',
    ])
      expect([name, used.has(name)]).toEqual([name, true]);
  });

  it('reads the provisioned datasource in every panel and gives each panel its own id', () => {
    const datasource = parse(readFileSync('ops/grafana/provisioning/datasources/prometheus.yml', 'utf8')) as {
      datasources: { uid: string; url: string }[];
    };
    const uid = datasource.datasources[0]!.uid;
    for (const p of graphs) {
      expect([p.title, p.datasource?.uid]).toEqual([p.title, uid]);
      for (const t of p.targets ?? []) expect(t.datasource?.uid).toBe(uid);
      expect(p.targets?.length).toBeGreaterThan(0);
    }
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('ops/prometheus', () => {
  it('alerts on what the issue lists, each with a severity and what to do', () => {
    expect(alerts.map((a) => a.alert)).toEqual(
      expect.arrayContaining([
        'PmfNoWorkerUp',
        'PmfNoWorkerPickingUpJobs',
        'PmfResearchFailureRateHigh',
        'PmfProviderPermanentErrors',
        'PmfProviderErrorRateHigh',
        'PmfQueueGrowing',
        'PmfLedgerInvariantBroken',
        'PmfWorkspaceOutOfCredits',
      ]),
    );
    expect(new Set(alerts.map((a) => a.alert)).size).toBe(alerts.length);
  });

  (promtool ? it : it.skip)('passes promtool check rules, its rule unit tests, and check config', () => {
    const checked = run(['check', 'rules', 'ops/prometheus/alerts.yml']);
    expect(checked.output).toContain(`SUCCESS: ${alerts.length} rules found`);
    expect(checked.status).toBe(0);
    const tested = run(['test', 'rules', 'alerts.test.yml'], 'ops/prometheus');
    expect(tested.output).toContain('SUCCESS');
    expect(tested.status).toBe(0);
    // --syntax-only: the token file exists only inside the Prometheus container.
    const config = run(['check', 'config', '--syntax-only', 'ops/prometheus/prometheus.yml']);
    expect(config.output).toContain('SUCCESS');
    expect(config.status).toBe(0);
  });

  it('has a unit test in alerts.test.yml that makes each alert fire', () => {
    const tests = parse(readFileSync('ops/prometheus/alerts.test.yml', 'utf8')) as {
      tests: { alert_rule_test: { alertname: string; exp_alerts?: unknown[] }[] }[];
    };
    const fired = new Set(
      tests.tests.flatMap((t) => t.alert_rule_test.filter((a) => a.exp_alerts?.length).map((a) => a.alertname)),
    );
    expect(alerts.map((a) => a.alert).filter((name) => !fired.has(name))).toEqual([]);
  });
});

describe('the observability compose profile', () => {
  type Service = {
    image?: string;
    profiles?: string[];
    environment?: Record<string, string>;
    volumes?: (string | { source: string })[];
    ports?: string[];
  };
  const compose = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as {
    services: Record<string, Service>;
  };
  const scrape = parse(readFileSync('ops/prometheus/prometheus.yml', 'utf8')) as {
    rule_files: string[];
    scrape_configs: { job_name: string; dns_sd_configs: { names: string[]; port: number }[] }[];
  };

  it('adds Prometheus and Grafana only under the profile, on loopback, with files that exist', () => {
    for (const name of ['prometheus', 'grafana']) {
      const svc = compose.services[name]!;
      expect(svc.profiles).toEqual(['observability']);
      for (const port of svc.ports ?? []) expect(port).toMatch(/^127\.0\.0\.1:/);
      for (const volume of svc.volumes ?? []) {
        const source = typeof volume === 'string' ? volume.split(':')[0]! : volume.source;
        if (source.startsWith('./')) expect([source, existsSync(source)]).toEqual([source, true]);
      }
    }
    for (const name of ['bot', 'worker', 'console', 'postgres', 'mongo', 'redis'])
      expect(compose.services[name]!.profiles).toBeUndefined();
  });

  it('scrapes every app service on the port it serves /metrics on, with the token they all read', () => {
    const ports: Record<string, number> = {
      bot: Number(compose.services.bot!.environment!.HEALTH_PORT),
      worker: Number(compose.services.worker!.environment!.HEALTH_PORT),
      console: Number(compose.services.console!.environment!.CONSOLE_PORT),
    };
    const scraped = Object.fromEntries(
      scrape.scrape_configs.flatMap((c) => c.dns_sd_configs.flatMap((d) => d.names.map((n) => [n, d.port]))),
    );
    expect(scraped).toEqual(ports);
    expect(scrape.scrape_configs.map((c) => c.job_name).sort()).toEqual(['pmf-bot', 'pmf-console', 'pmf-worker']);
    for (const name of ['bot', 'worker', 'console', 'prometheus'])
      expect(compose.services[name]!.environment!.METRICS_TOKEN).toBe('${METRICS_TOKEN:-}');
    expect(scrape.rule_files).toEqual(['alerts.yml']);
  });

  it('is accepted by docker compose config with the profile on', () => {
    const cli = spawnSync('docker', ['compose', 'version']).status === 0 ? ['docker', 'compose'] : ['docker-compose'];
    const r = spawnSync(
      cli[0]!,
      [...cli.slice(1), '-f', 'docker-compose.yml', '--profile', 'observability', 'config', '--services'],
      { env: { ...process.env, SESSION_SECRET: 'x'.repeat(64) }, encoding: 'utf8' },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n').filter(Boolean).sort()).toEqual(
      ['bot', 'console', 'grafana', 'migrate', 'mongo', 'postgres', 'prometheus', 'redis', 'worker'].sort(),
    );
  });
});
