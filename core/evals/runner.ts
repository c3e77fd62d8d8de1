// The evaluation runner: each idea of the set through the real research engine, its report scored, every
// finished idea written to the run folder at once so an interrupted run resumes where it stopped
// (`--resume DIR`). Layout of a run folder:
//   config.json                  what was run (models, depth, prices, versions)
//   ideas/<id>.research.json     the engine's result and the pages it read (written when the research ends)
//   ideas/<id>.scores.json       the idea's scores (written when scoring ends)
//   scorecard.json / scorecard.md / chart.svg
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ResearchError, type ResearchEngine, type ResearchResult } from '../research/contract.js';
import type { Depth } from '../research/depth.js';
import { UsageMeter, type Providers, type StructuredLlm } from '../research/providers/index.js';
import type { EvalIdea } from './ideas.js';
import { judgeCitation, judgeCompare, judgeCoverage, judgeRubric, type JudgeDeps } from './judge.js';
import {
  citationPairs,
  citationScore,
  coverageScore,
  figureFidelity,
  keywordCoverage,
  money,
  passageFor,
  reportPlainText,
  rubricMean,
  winRate,
  type CapturedPage,
  type CitationScore,
  type CoverageScore,
  type Outcome,
  type Prices,
  type Rubric,
  type Verdict,
  type WinRate,
} from './scoring.js';

export type EvalConfig = {
  set: string;
  depth: Depth;
  limit: number | null;
  concurrency: number;
  model: string;
  judgeModel: string;
  sandbox: boolean;
  prices: Prices;
  startedAt: string;
  /** package.json version and git commit, so two runs of two versions can be told apart. */
  version: string;
};

export type ResearchRecord =
  | { ok: true; idea: EvalIdea; result: ResearchResult; pages: CapturedPage[]; wallMs: number }
  | { ok: false; idea: EvalIdea; error: string; wallMs: number };

export type IdeaScore = {
  id: string;
  kind: string;
  idea: string;
  pmfScore: number;
  citation: CitationScore & { supportedPerReport: number; unsupported: { sentence: string; url: string | null }[] };
  figures: { figures: number; inPage: number; share: number | null; notInPage: { figure: string; sentence: string }[] };
  coverage: CoverageScore & { missing: string[] };
  rubric: Rubric & { mean: number };
  cost: {
    promptTokens: number;
    completionTokens: number;
    tokens: number;
    tavilyCredits: number;
    /** Tavily answers served from the Redis cache: free, so a re-run of the same set costs fewer credits. */
    cacheHits: number;
    wallMs: number;
    money: number;
  };
  judgeTokens: number;
};

export type ProgressEvent = {
  done: number;
  total: number;
  id: string;
  phase: 'research' | 'scoring' | 'done' | 'failed';
};

/** Wraps the providers so that every page the engine extracts is kept for the scorer. */
function capturingProviders(base: Providers): { providers: Providers; pages: CapturedPage[] } {
  const pages: CapturedPage[] = [];
  return {
    pages,
    providers: {
      llm: base.llm,
      search: {
        search: (req, meter, signal) => base.search.search(req, meter, signal),
        extract: async (req, meter, signal) => {
          const result = await base.search.extract(req, meter, signal);
          for (const p of result.pages) pages.push({ url: p.url, title: p.title ?? p.url, text: p.rawContent });
          return result;
        },
      },
    },
  };
}

/** Runs `fn` over `items` with at most `k` at a time, in order of start. */
async function pool<T, R>(items: T[], k: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(k, items.length)) }, worker));
  return out;
}

/** Scores one finished research; the judge calls are the only I/O. */
export async function scoreResearch(
  rec: Extract<ResearchRecord, { ok: true }>,
  judge: { llm: StructuredLlm; signal?: AbortSignal },
  prices: Prices,
  judgeConcurrency = 4,
): Promise<IdeaScore> {
  const meter = new UsageMeter();
  const d: JudgeDeps = { llm: judge.llm, meter, ...(judge.signal ? { signal: judge.signal } : {}) };
  const { report, usage } = rec.result;
  const pairs = citationPairs(report, rec.pages);
  const verdicts: Verdict[] = await pool(pairs, judgeConcurrency, (p) =>
    judgeCitation(d, p.sentence, p.page ? passageFor(p.sentence, p.page.text) : ''),
  );
  const citation = citationScore(verdicts);
  const figures = figureFidelity(report, rec.pages);
  const text = reportPlainText(report);
  const keyword = keywordCoverage(text, rec.idea.mustCover);
  const judged = await judgeCoverage(d, rec.idea.idea, text, rec.idea.mustCover);
  const coverage = coverageScore(keyword, judged);
  const rubric = await judgeRubric(d, rec.idea.idea, text);
  const judgeUsage = meter.snapshot();
  const cost = {
    promptTokens: usage.promptTokens,
    completionTokens: usage.completionTokens,
    tavilyCredits: usage.tavilyCredits,
    wallMs: rec.wallMs,
  };
  return {
    id: rec.idea.id,
    kind: rec.idea.kind,
    idea: rec.idea.idea,
    pmfScore: report.score.total,
    citation: {
      ...citation,
      supportedPerReport: citation.supported,
      unsupported: pairs
        .filter((_, i) => verdicts[i] === 'not_supported')
        .slice(0, 5)
        .map((p) => ({ sentence: p.sentence, url: p.url ?? null })),
    },
    figures: {
      figures: figures.figures,
      inPage: figures.inPage,
      share: figures.share,
      notInPage: figures.checks
        .filter((c) => !c.inPage)
        .slice(0, 5)
        .map(({ figure, sentence }) => ({ figure, sentence })),
    },
    coverage: {
      ...coverage,
      missing: rec.idea.mustCover.filter((_, i) => !keyword[i] && !judged[i]).map((r) => r.item),
    },
    rubric: { ...rubric, mean: rubricMean(rubric) },
    cost: {
      ...cost,
      cacheHits: usage.cacheHits,
      tokens: cost.promptTokens + cost.completionTokens,
      money: money(cost, prices),
    },
    judgeTokens: judgeUsage.promptTokens + judgeUsage.completionTokens,
  };
}

export type RunDeps = {
  /** Providers for the research (the engine gets them wrapped so the pages it reads are captured). */
  providers: Providers;
  makeEngine: (providers: Providers) => ResearchEngine;
  judge: StructuredLlm;
  signal?: AbortSignal;
  onProgress?: (e: ProgressEvent) => void;
};

async function writeJson(file: string, value: unknown): Promise<void> {
  // Written whole then renamed, so an interrupted run never leaves half a file that resume would trust.
  const tmp = `${file}.${randomUUID().slice(0, 8)}.tmp`;
  await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`, 'utf8');
  await rename(tmp, file);
}

async function readJsonIf<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export const researchFile = (dir: string, id: string) => path.join(dir, 'ideas', `${id}.research.json`);
const scoresFile = (dir: string, id: string) => path.join(dir, 'ideas', `${id}.scores.json`);

export type RunOutcome = { scores: IdeaScore[]; failed: { id: string; error: string }[] };

/**
 * Researches and scores each idea not already finished in `dir`. A research that failed is tried again on
 * resume; one that finished is never re-run (it cost credits), only scored if its scores are missing.
 */
export async function runEval(dir: string, ideas: EvalIdea[], config: EvalConfig, deps: RunDeps): Promise<RunOutcome> {
  await mkdir(path.join(dir, 'ideas'), { recursive: true });
  await writeJson(path.join(dir, 'config.json'), config);
  let done = 0;
  const total = ideas.length;
  const results = await pool(ideas, config.concurrency, async (idea) => {
    const progress = (phase: ProgressEvent['phase']) => deps.onProgress?.({ done, total, id: idea.id, phase });
    let rec = await readJsonIf<ResearchRecord>(researchFile(dir, idea.id));
    if (!rec?.ok) {
      progress('research');
      const t0 = performance.now();
      const cap = capturingProviders(deps.providers);
      const engine = deps.makeEngine(cap.providers);
      // A fresh thread per attempt: the pages of a resumed thread would not pass through the capture again.
      const runId = `eval-${idea.id}-${randomUUID()}`;
      try {
        const result = await engine.run(
          { runId, idea: idea.idea, depth: config.depth },
          deps.signal ? { signal: deps.signal } : {},
        );
        rec = { ok: true, idea, result, pages: cap.pages, wallMs: Math.round(performance.now() - t0) };
      } catch (err) {
        if (deps.signal?.aborted) throw err;
        const error = err instanceof ResearchError ? `${err.userMessage} (${err.detail})` : String(err);
        rec = { ok: false, idea, error, wallMs: Math.round(performance.now() - t0) };
      } finally {
        await engine.forget?.(runId).catch(() => undefined);
      }
      await writeJson(researchFile(dir, idea.id), rec);
    }
    if (!rec.ok) {
      done += 1;
      progress('failed');
      return { id: idea.id, error: rec.error };
    }
    let score = await readJsonIf<IdeaScore>(scoresFile(dir, idea.id));
    if (!score) {
      progress('scoring');
      try {
        score = await scoreResearch(
          rec,
          { llm: deps.judge, ...(deps.signal ? { signal: deps.signal } : {}) },
          config.prices,
        );
      } catch (err) {
        if (deps.signal?.aborted) throw err;
        // The research is kept: `--resume` scores it again without researching it again.
        done += 1;
        progress('failed');
        const why = err instanceof ResearchError ? `${err.userMessage} (${err.detail})` : String(err);
        return { id: idea.id, error: `scoring failed, research kept: ${why}` };
      }
      await writeJson(scoresFile(dir, idea.id), score);
    }
    done += 1;
    progress('done');
    return score;
  });
  return {
    scores: results.filter((r): r is IdeaScore => 'citation' in r),
    failed: results.filter((r): r is { id: string; error: string } => 'error' in r),
  };
}

const configSchema = z.object({ set: z.string(), depth: z.string() }).passthrough();

/** The configuration a run folder was started with (for `--resume`). */
export async function readRunConfig(dir: string): Promise<EvalConfig | undefined> {
  const raw = await readJsonIf<unknown>(path.join(dir, 'config.json'));
  return configSchema.safeParse(raw).success ? (raw as EvalConfig) : undefined;
}

export type Comparison = { a: string; b: string; perIdea: { id: string; outcome: Outcome }[]; winRate: WinRate };

/** Pairwise comparison of the reports two runs wrote for the same ideas (A = `dirA`). */
export async function compareRuns(
  dirA: string,
  dirB: string,
  judge: { llm: StructuredLlm; signal?: AbortSignal },
  onProgress?: (done: number, total: number, id: string) => void,
): Promise<Comparison> {
  const meter = new UsageMeter();
  const d: JudgeDeps = { llm: judge.llm, meter, ...(judge.signal ? { signal: judge.signal } : {}) };
  const perIdea: { id: string; outcome: Outcome }[] = [];
  const ids = (await readdir(path.join(dirA, 'ideas')).catch(() => []))
    .filter((f) => f.endsWith('.research.json'))
    .map((f) => f.slice(0, -'.research.json'.length))
    .sort();
  for (const id of ids) {
    const a = await readJsonIf<ResearchRecord>(researchFile(dirA, id));
    const b = await readJsonIf<ResearchRecord>(researchFile(dirB, id));
    if (!a?.ok || !b?.ok) continue;
    onProgress?.(perIdea.length, ids.length, id);
    const outcome = await judgeCompare(
      d,
      a.idea.idea,
      reportPlainText(a.result.report),
      reportPlainText(b.result.report),
    );
    perIdea.push({ id, outcome });
  }
  return { a: dirA, b: dirB, perIdea, winRate: winRate(perIdea.map((p) => p.outcome)) };
}
