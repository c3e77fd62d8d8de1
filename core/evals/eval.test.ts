// `npm run eval -- --limit 3` end to end in sandbox mode (in-process: the same function the CLI calls), on
// the real engine, Redis and PostgreSQL; then a deliberately broken report must score lower than its original.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { cp, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createStructuredLlm } from '../research/providers/llm.js';
import { startSandbox, type Sandbox } from '../sandbox/index.js';
import { sandboxEnv } from '../../test/helpers/research.js';
import { runEvalCommand } from './command.js';
import { researchFile, scoreResearch, type ResearchRecord } from './runner.js';
import type { Comparison } from './runner.js';
import type { Scorecard } from './scorecard.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let out: string;
let runDir: string;
let stderr = '';

async function evalCli(args: string[]) {
  stderr = '';
  return runEvalCommand(args, sandboxEnv({ SANDBOX_PORT: '0' }), {
    stdout: () => undefined,
    stderr: (s) => void (stderr += s),
    tty: false,
    root: ROOT,
    version: 'test',
  });
}

beforeAll(async () => {
  out = await mkdtemp(path.join(tmpdir(), 'pmf-eval-'));
  const r = await evalCli(['--limit', '3', '--depth', 'essential', '--out', out]);
  expect(r.code).toBe(0);
  runDir = r.runDir!;
}, 120_000);
afterAll(async () => {
  await rm(out, { recursive: true, force: true });
});

describe('npm run eval -- --limit 3 (sandbox)', () => {
  it('writes a scorecard with every figure per idea, the totals and the configuration', async () => {
    const card = JSON.parse(await readFile(path.join(runDir, 'scorecard.json'), 'utf8')) as Scorecard;
    expect(card.config).toMatchObject({ depth: 'essential', limit: 3, sandbox: true, set: 'evals/ideas.jsonl' });
    expect(card.ideas.map((i) => i.id)).toEqual(['dog-sitters', 'invoice-reminders', 'used-gear-marketplace']);
    for (const i of card.ideas) {
      expect(i.citation.checked).toBeGreaterThan(0);
      expect(i.citation.precision).toBeGreaterThan(0);
      expect(i.citation.precision).toBeLessThanOrEqual(1);
      expect(i.coverage.items).toBe(4);
      expect(i.rubric.mean).toBeGreaterThanOrEqual(1);
      expect(i.cost.tokens).toBeGreaterThan(0);
      // Credits, or cache hits when an earlier run already asked the sandbox Tavily the same question.
      expect(i.cost.tavilyCredits + i.cost.cacheHits).toBeGreaterThan(0);
      expect(i.judgeTokens).toBeGreaterThan(0);
    }
    expect(card.totals).toMatchObject({ ideas: 3, failed: 0 });
    expect(card.totals.citationPrecision).toEqual(expect.any(Number));
    const md = await readFile(path.join(runDir, 'scorecard.md'), 'utf8');
    expect(md).toContain('Sandbox run');
    expect(md).toMatch(/\| Citation support precision \| \d+\.\d%/);
    expect(md).toContain('| dog-sitters | consumer app |');
    const svg = await readFile(path.join(runDir, 'chart.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    // Five figures for each of three ideas: a bar, or "n/a" for a figure the idea has none of.
    expect(svg.match(/class="bar"/g)).toHaveLength(15);
    // The progress bar, as plain lines when stderr is not a terminal.
    expect(stderr).toMatch(/▰+ 3\/3 · \d+ s · [a-z-]+: done\n/);
  });

  it('resumes a run without researching a finished idea again', async () => {
    const file = researchFile(runDir, 'dog-sitters');
    const before = (await stat(file)).mtimeMs;
    await rm(path.join(runDir, 'ideas', 'dog-sitters.scores.json'));
    const r = await evalCli(['--resume', runDir]);
    expect(r.code).toBe(0);
    expect(stderr).not.toContain(': research');
    expect(stderr).toContain('dog-sitters: scoring');
    expect((await stat(file)).mtimeMs).toBe(before);
  }, 60_000);
});

describe('a broken report scores lower', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(async () => {
    await sandbox.close();
  });

  it('loses citation support for a fabricated citation and figure fidelity for a figure not in its page', async () => {
    const rec = JSON.parse(await readFile(researchFile(runDir, 'dog-sitters'), 'utf8')) as ResearchRecord;
    if (!rec.ok) throw new Error(rec.error);
    const report = rec.result.report;
    const broken: typeof rec = {
      ...rec,
      result: {
        ...rec.result,
        report: {
          ...report,
          summary:
            `${report.summary} Quantum batteries will replace lithium cells in every delivery drone by 2031 [1]. ` +
            `Regulators in Brazil approved the scheme last week [99]. The dog sitting market is worth $987.6 billion [1].`,
        },
      },
    };
    const judge = {
      llm: createStructuredLlm({
        kind: 'openai',
        apiKey: 'sk-sandbox',
        baseURL: sandbox.openaiUrl,
        model: 'sandbox',
        timeoutMs: 10_000,
        maxRetries: 1,
      }),
    };
    const prices = { in: 0, out: 0, credit: 0 };
    const good = await scoreResearch(rec, judge, prices);
    const bad = await scoreResearch(broken, judge, prices);
    expect(bad.citation.checked).toBe(good.citation.checked + 3);
    expect(bad.citation.notSupported).toBeGreaterThanOrEqual(good.citation.notSupported + 2);
    expect(bad.citation.precision!).toBeLessThan(good.citation.precision!);
    expect(bad.figures.notInPage.map((f) => f.figure)).toContain('$987.6 billion');
    expect(bad.figures.share!).toBeLessThan(good.figures.share ?? 1);
  });
});

describe('npm run eval -- --compare A B', () => {
  it('prefers the run whose report is better, and ties identical reports', async () => {
    const thin = path.join(out, 'thin-run');
    await cp(runDir, thin, { recursive: true });
    const file = researchFile(thin, 'dog-sitters');
    const rec = JSON.parse(await readFile(file, 'utf8')) as ResearchRecord;
    if (!rec.ok) throw new Error(rec.error);
    const { sections, ...rest } = rec.result.report;
    const gutted = {
      ...rest,
      summary: 'Dogs.',
      keyFindings: [],
      score: { ...rest.score, subScores: [] },
      ...(sections
        ? {
            sections: {
              ...sections,
              market: undefined,
              competitors: undefined,
              customers: undefined,
              recommendations: [],
            },
          }
        : {}),
    };
    await writeFile(file, JSON.stringify({ ...rec, result: { ...rec.result, report: gutted } }));
    const r = await evalCli(['--compare', runDir, thin]);
    expect(r.code).toBe(0);
    const result = JSON.parse(
      await readFile(path.join(thin, `compare-vs-${path.basename(runDir)}.json`), 'utf8'),
    ) as Comparison;
    expect(result.perIdea).toEqual([
      { id: 'dog-sitters', outcome: 'A' },
      { id: 'invoice-reminders', outcome: 'tie' },
      { id: 'used-gear-marketplace', outcome: 'tie' },
    ]);
    expect(result.winRate.winRateA).toBeCloseTo(2 / 3, 10);
  });
});
