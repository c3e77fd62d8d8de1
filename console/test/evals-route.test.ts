// The Evals page reads `npm run eval`'s run folders: listed with headline figures, the scorecard sanitized,
// the chart served as an image, nothing read outside the runs folder, and a login required.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { LoaderFunctionArgs } from '@remix-run/node';
import type { EvalConfig, IdeaScore } from '../../core/evals/runner.js';
import { buildScorecard, writeScorecard } from '../../core/evals/scorecard.js';
import * as chartRoute from '../app/routes/evals.$name.chart[.]svg.js';
import * as evalsRoute from '../app/routes/evals.js';
import { createHarness, respond, type Harness } from './harness.js';

type Fn = (args: LoaderFunctionArgs) => Promise<unknown>;

let h: Harness;
let viewer: { cookie: string };
let root: string;
const RUN = '2026-12-04T10-00-00Z';

const score: IdeaScore = {
  id: 'dog-sitters',
  kind: 'consumer app',
  idea: 'Dog sitters',
  pmfScore: 60,
  citation: {
    checked: 4,
    supported: 3,
    partly: 0,
    notSupported: 1,
    precision: 0.75,
    supportedPerReport: 3,
    unsupported: [{ sentence: 'Owners <img src=x onerror=alert(1)> love it.', url: 'https://a.example/' }],
  },
  figures: { figures: 2, inPage: 2, share: 1, notInPage: [] },
  coverage: { items: 4, keyword: 2, judge: 2, share: 0.5, missing: [] },
  rubric: { comprehensiveness: 5, insight: 4, usefulness: 6, readability: 7, mean: 5.5 },
  cost: {
    promptTokens: 20_000,
    completionTokens: 3_000,
    tokens: 23_000,
    tavilyCredits: 6,
    cacheHits: 0,
    wallMs: 3000,
    money: 0,
  },
  judgeTokens: 1000,
};

beforeAll(async () => {
  h = await createHarness('console_evals');
  viewer = await h.user('viewer');
  root = await mkdtemp(path.join(tmpdir(), 'pmf-evals-'));
  process.env.EVALS_DIR = root;
  const config: EvalConfig = {
    set: 'evals/ideas.jsonl',
    depth: 'standard',
    limit: null,
    concurrency: 2,
    model: 'gpt-4o-mini',
    judgeModel: 'gpt-4o',
    sandbox: false,
    prices: { in: 0, out: 0, credit: 0 },
    startedAt: '2026-12-04T10:00:00.000Z',
    version: 'test',
  };
  await mkdir(path.join(root, RUN), { recursive: true });
  await writeScorecard(path.join(root, RUN), buildScorecard(config, { scores: [score], failed: [] }, new Date()));
  // A run still in progress has no scorecard and is not listed.
  await mkdir(path.join(root, '2026-12-04T11-00-00Z'));
});

afterAll(async () => {
  delete process.env.EVALS_DIR;
  await rm(root, { recursive: true, force: true });
  await h.close();
});

const call = (fn: Fn, request: Request, params: Record<string, string> = {}) =>
  respond(() => fn({ request, context: h.context, params }));

describe('Evals page', () => {
  it('sends a visitor without a session to the login page', async () => {
    const res = await call(evalsRoute.loader as Fn, h.get('/evals'));
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toContain('/login');
  });

  it('lists finished runs with their headline figures and shows the latest scorecard, sanitized', async () => {
    const res = await call(evalsRoute.loader as Fn, h.get('/evals', viewer.cookie));
    const body = (await res.json()) as {
      runs: { name: string; totals: { citationPrecision: number; tokensPerReport: number } }[];
      selected: string;
      html: string;
    };
    expect(body.runs.map((r) => r.name)).toEqual([RUN]);
    expect(body.runs[0]!.totals).toMatchObject({ citationPrecision: 0.75, tokensPerReport: 23_000 });
    expect(body.selected).toBe(RUN);
    expect(body.html).toContain('<table>');
    expect(body.html).toContain('75.0%');
    expect(body.html).not.toMatch(/onerror|<img/);
  });

  it('serves the chart as an SVG image, and nothing for a name outside the runs folder', async () => {
    const res = await call(chartRoute.loader as Fn, h.get(`/evals/${RUN}/chart.svg`, viewer.cookie), { name: RUN });
    expect(res.headers.get('content-type')).toContain('image/svg+xml');
    expect(await res.text()).toContain('dog-sitters');
    const bad = await call(chartRoute.loader as Fn, h.get('/evals/x/chart.svg', viewer.cookie), { name: '../../etc' });
    expect(bad.status).toBe(404);
  });
});
