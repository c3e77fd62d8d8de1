// The Evals page reads `npm run eval`'s run folders: listed with headline figures, the scorecard sanitized,
// the chart served as an image, nothing read outside the runs folder, and a login required.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { LoaderFunctionArgs } from '@remix-run/node';
import { buildScorecard, writeScorecard } from '../../core/evals/scorecard.js';
import { evalConfig, ideaScore } from '../../test/helpers/evals.js';
import * as chartRoute from '../app/routes/evals.$name.chart[.]svg.js';
import * as evalsRoute from '../app/routes/evals.js';
import { createHarness, respond, type Harness } from './harness.js';

type Fn = (args: LoaderFunctionArgs) => Promise<unknown>;

let h: Harness;
let viewer: { cookie: string };
let root: string;
const RUN = '2026-12-04T10-00-00Z';

/** A finished run's one idea; its unsupported sentence carries markup the page must not render. */
const score = ideaScore('dog-sitters', 4, 3, 2, 2);
score.citation.unsupported = [{ sentence: 'Owners <img src=x onerror=alert(1)> love it.', url: 'https://a.example/' }];

beforeAll(async () => {
  h = await createHarness('console_evals');
  viewer = await h.user('viewer');
  root = await mkdtemp(path.join(tmpdir(), 'pmf-evals-'));
  process.env.EVALS_DIR = root;
  await mkdir(path.join(root, RUN), { recursive: true });
  await writeScorecard(path.join(root, RUN), buildScorecard(evalConfig(), { scores: [score], failed: [] }, new Date()));
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
    expect(body.runs[0]!.totals).toMatchObject({ citationPrecision: 0.75, tokensPerReport: 45_000 });
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
