// `npm run eval` as a function of its arguments and environment, so the end-to-end test runs exactly what
// the CLI runs, in-process. scripts/eval.ts only fills in the local servers' URLs and exits with the code.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Env } from '../config/env.js';
import { ResearchError } from '../research/contract.js';
import { DEFAULT_DEPTH, DEPTHS, isDepth, type Depth } from '../research/depth.js';
import { createResearchEngine, startSandboxForEnv } from '../research/index.js';
import { createProviders, llmOptionsFromEnv } from '../research/providers/index.js';
import { createStructuredLlm } from '../research/providers/llm.js';
import { createPostgres, createRedis, migrateLatest } from '../storage/index.js';
import { IdeaSetError, parseIdeaSet } from './ideas.js';
import { compareRuns, readRunConfig, runEval, type EvalConfig, type ProgressEvent } from './runner.js';
import { runFolderName } from './runs.js';
import { buildScorecard, writeScorecard } from './scorecard.js';

const EVAL_USAGE = `usage: npm run eval -- [--set evals/ideas.jsonl] [--depth essential|standard|deep] [--limit N]
                        [--concurrency K] [--judge-model M] [--out evals/runs] [--resume RUN_DIR]
                        [--price-in USD_PER_M_TOKENS] [--price-out USD_PER_M_TOKENS] [--price-credit USD]
       npm run eval -- --compare RUN_A RUN_B [--judge-model M]`;

export type CommandIo = {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /** Redraw the progress bar in place (a terminal) or print a line per step (a log). */
  tty: boolean;
  /** The project root: default paths are resolved against it. */
  root: string;
  signal?: AbortSignal;
  /** package version and commit, for the scorecard. */
  version: string;
  now?: () => Date;
};

export type CommandResult = { code: number; runDir?: string };

class UsageError extends Error {}

function bar(done: number, total: number, width = 24): string {
  const filled = total ? Math.round((done / total) * width) : width;
  return `${'▰'.repeat(filled)}${'▱'.repeat(width - filled)}`;
}

function positive(name: string, raw: string | undefined, fallback: number, integer: boolean): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || (integer && (!Number.isInteger(n) || n < 1)))
    throw new UsageError(
      `--${name} must be ${integer ? 'a whole number of at least 1' : 'a number of at least 0'}, not "${raw}".`,
    );
  return n;
}

export async function runEvalCommand(argv: string[], env: Env, io: CommandIo): Promise<CommandResult> {
  let values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        set: { type: 'string' },
        depth: { type: 'string' },
        limit: { type: 'string' },
        concurrency: { type: 'string' },
        'judge-model': { type: 'string' },
        out: { type: 'string' },
        resume: { type: 'string' },
        compare: { type: 'string', multiple: true },
        'price-in': { type: 'string' },
        'price-out': { type: 'string' },
        'price-credit': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    io.stderr(`${(err as Error).message}\n${EVAL_USAGE}\n`);
    return { code: 2 };
  }
  if (values.help) {
    io.stdout(`${EVAL_USAGE}\n`);
    return { code: 0 };
  }
  const now = io.now ?? (() => new Date());
  const outRoot = path.resolve(io.root, values.out ?? 'evals/runs');

  let config: EvalConfig;
  let runDir: string;
  try {
    const resumed = values.resume ? await readRunConfig(path.resolve(io.root, values.resume)) : undefined;
    if (values.resume && !resumed)
      throw new UsageError(
        `${values.resume} is not an evaluation run folder (no readable config.json). Nothing was run.`,
      );
    const depth = values.depth ?? resumed?.depth ?? DEFAULT_DEPTH;
    if (!isDepth(depth)) throw new UsageError(`Unknown depth "${depth}": choose one of ${DEPTHS.join(', ')}.`);
    const limit = values.limit !== undefined ? positive('limit', values.limit, 0, true) : (resumed?.limit ?? null);
    config = {
      set: values.set ?? resumed?.set ?? 'evals/ideas.jsonl',
      depth: depth as Depth,
      limit,
      concurrency: positive('concurrency', values.concurrency, resumed?.concurrency ?? 2, true),
      model: env.AZURE_OPENAI_API_KEY ? (env.AZURE_OPENAI_DEPLOYMENT ?? env.OPENAI_MODEL) : env.OPENAI_MODEL,
      judgeModel: values['judge-model'] ?? resumed?.judgeModel ?? env.OPENAI_MODEL,
      sandbox: env.PMF_SANDBOX,
      prices: {
        in: positive('price-in', values['price-in'], resumed?.prices.in ?? 0, false),
        out: positive('price-out', values['price-out'], resumed?.prices.out ?? 0, false),
        credit: positive('price-credit', values['price-credit'], resumed?.prices.credit ?? 0, false),
      },
      startedAt: resumed?.startedAt ?? now().toISOString(),
      version: io.version,
    };
    // `--compare A B` reads B as a positional; `--compare A --compare B` gives both as values.
    if (values.compare) values.compare = [...values.compare, ...positionals];
    else if (positionals.length > 0) throw new UsageError(`Unexpected argument "${positionals[0]}".`);
    if (values.compare && values.compare.length !== 2)
      throw new UsageError('--compare takes two run folders: --compare RUN_A --compare RUN_B (or --compare A B).');
    runDir = values.resume ? path.resolve(io.root, values.resume) : path.join(outRoot, runFolderName(now()));
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`${err.message}\n${EVAL_USAGE}\n`);
      return { code: 2 };
    }
    throw err;
  }

  const sandbox = await startSandboxForEnv(env);
  const urls = sandbox?.urls;
  const judgeModel = values['judge-model'];
  const judgeLlm = () =>
    createStructuredLlm(
      llmOptionsFromEnv(
        judgeModel ? { ...env, OPENAI_MODEL: judgeModel, AZURE_OPENAI_DEPLOYMENT: judgeModel } : env,
        urls?.openaiUrl,
      ),
    );
  try {
    if (values.compare) {
      const [a, b] = values.compare.map((d) => path.resolve(io.root, d)) as [string, string];
      const result = await compareRuns(
        a,
        b,
        { llm: judgeLlm(), ...(io.signal ? { signal: io.signal } : {}) },
        (done, total, id) =>
          io.stderr(
            `${io.tty ? '\r' : ''}${bar(done, total)} ${done}/${total} · comparing ${id}${io.tty ? '\x1b[K' : '\n'}`,
          ),
      );
      if (io.tty) io.stderr('\n');
      const file = path.join(b, `compare-vs-${path.basename(a)}.json`);
      await writeFile(file, `${JSON.stringify(result, null, 2)}\n`, 'utf8');
      const w = result.winRate;
      io.stdout(
        w.winRateA === null
          ? `No idea was finished in both runs; nothing to compare. (${file})\n`
          : `A (${path.basename(a)}) wins ${w.a}, B (${path.basename(b)}) wins ${w.b}, ties ${w.ties} of ${w.compared}: ` +
              `A's win rate ${(w.winRateA * 100).toFixed(1)}%, B's ${((1 - w.winRateA) * 100).toFixed(1)}%. (${file})\n`,
      );
      return { code: 0 };
    }

    const setPath = path.resolve(io.root, config.set);
    let ideas;
    try {
      ideas = parseIdeaSet(await readFile(setPath, 'utf8'), config.set);
    } catch (err) {
      if (err instanceof IdeaSetError || (err as NodeJS.ErrnoException).code === 'ENOENT') {
        io.stderr(`Cannot read the idea set: ${(err as Error).message} Nothing was run.\n`);
        return { code: 2 };
      }
      throw err;
    }
    if (config.limit !== null) ideas = ideas.slice(0, config.limit);

    const redis = createRedis(env.REDIS_URL, 'eval');
    const pg = createPostgres(env.DATABASE_URL, { max: Math.max(4, config.concurrency * 2) });
    try {
      try {
        await migrateLatest(pg);
      } catch (err) {
        io.stderr(
          `Cannot prepare PostgreSQL at ${env.DATABASE_URL}: ${(err as Error).message}\nNothing was run or spent. Start the local servers with: npm run services -- up\n`,
        );
        return { code: 1 };
      }
      const providers = createProviders(env, redis, urls);
      const t0 = Date.now();
      const draw = (e: ProgressEvent) => {
        const line = `${bar(e.done, e.total)} ${e.done}/${e.total} · ${Math.round((Date.now() - t0) / 1000)} s · ${e.id}: ${e.phase}`;
        io.stderr(io.tty ? `\r${line}\x1b[K` : `${line}\n`);
      };
      io.stderr(
        `Evaluating ${ideas.length} ideas at depth ${config.depth} into ${runDir}${config.sandbox ? ' (SANDBOX)' : ''}\n`,
      );
      const outcome = await runEval(runDir, ideas, config, {
        providers,
        makeEngine: (p) => createResearchEngine({ env, redis, pg, providers: p }),
        judge: judgeLlm(),
        ...(io.signal ? { signal: io.signal } : {}),
        onProgress: draw,
      });
      if (io.tty) io.stderr('\n');
      const card = buildScorecard(config, outcome, now());
      await writeScorecard(runDir, card);
      const t = card.totals;
      const p = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(1)}%`);
      io.stdout(
        `${t.ideas} scored, ${t.failed} failed · citation support ${p(t.citationPrecision)} · figure fidelity ${p(t.figureFidelity)} · ` +
          `coverage ${p(t.coverage)} · rubric ${t.rubric.mean?.toFixed(1) ?? 'n/a'}/10 · ${Math.round(t.tokensPerReport ?? 0).toLocaleString('en-US')} tokens/report\n` +
          `${path.join(runDir, 'scorecard.md')}\n`,
      );
      return { code: t.ideas === 0 && t.failed > 0 ? 1 : 0, runDir };
    } finally {
      await Promise.allSettled([pg.destroy(), redis.quit()]);
    }
  } catch (err) {
    if (err instanceof ResearchError) {
      io.stderr(
        `Evaluation stopped: ${err.userMessage}\n(${err.detail})\nFinished ideas are kept; continue with --resume.\n`,
      );
      return { code: 1 };
    }
    throw err;
  } finally {
    await sandbox?.sandbox.close();
  }
}
