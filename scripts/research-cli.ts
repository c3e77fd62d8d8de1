// `npm run research -- "idea" [--depth essential|standard|deep] [--out report.md] [--json]`
// Runs one research from the terminal: a progress bar through the checkpoints, the report to a file,
// a one-line summary. Exit codes: 0 done, 2 bad usage, 78 configuration (a setting missing, or one a
// provider refused: bad key, unknown model, exhausted plan — decision 027), 1 research failed.
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ConfigError } from '../core/config/index.js';
import { ENGINE_CHECKPOINTS, type CheckpointId } from '../core/research/checkpoints.js';
import { ResearchError, needsAdmin } from '../core/research/contract.js';
import { DEFAULT_DEPTH, DEPTHS, isDepth } from '../core/research/depth.js';
import { adminFix, failureCause, failureSummary } from '../core/research/failures.js';
import { checkIdea } from '../core/research/idea.js';
import { createResearchEngine, startSandboxForEnv } from '../core/research/index.js';
import { createPostgres, createRedis, migrateLatest, redisNamespace } from '../core/storage/index.js';
// The local servers' URLs (scripts/local-servers.mjs), so the CLI works right after `npm run services -- up`.
import { cliEnv } from './cli-env.js';

const USAGE =
  'usage: npm run research -- "<product idea>" [--depth essential|standard|deep] [--out report.md] [--json]';

function fail(message: string, code: number): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

function bar(done: number, total: number, width = 24): string {
  const filled = Math.round((done / total) * width);
  return `${'▰'.repeat(filled)}${'▱'.repeat(width - filled)}`;
}

function clock(ms: number): string {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

async function main(): Promise<void> {
  const { values, positionals } = (() => {
    try {
      return parseArgs({
        allowPositionals: true,
        options: {
          depth: { type: 'string' },
          out: { type: 'string' },
          json: { type: 'boolean', default: false },
          help: { type: 'boolean', short: 'h' },
        },
      });
    } catch (err) {
      return fail(`${(err as Error).message}\n${USAGE}`, 2);
    }
  })();
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const idea = checkIdea(positionals.join(' '));
  if (!idea.ok) fail(`${idea.message}\n${USAGE}`, 2);
  const depth = values.depth ?? DEFAULT_DEPTH;
  if (!isDepth(depth)) fail(`Unknown depth "${depth}": choose one of ${DEPTHS.join(', ')}.`, 2);

  let env;
  try {
    env = cliEnv();
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message, 78);
    throw err;
  }

  const sandbox = await startSandboxForEnv(env);
  const redis = createRedis(env.REDIS_URL, 'research-cli', redisNamespace(env));
  const pg = createPostgres(env.DATABASE_URL, { max: 4 });
  // The checkpoint tables are needed before the first step; migrating is idempotent and quick.
  await migrateLatest(pg).catch((err: Error) =>
    fail(
      `Cannot prepare PostgreSQL at ${env.DATABASE_URL}: ${err.message}\nStart the local servers with: npm run services -- up`,
      1,
    ),
  );
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());

  const tty = process.stderr.isTTY && !values.json;
  const t0 = Date.now();
  const done = new Set<CheckpointId>();
  const draw = (last?: CheckpointId) => {
    if (!tty) return;
    process.stderr.write(
      `\r${bar(done.size, ENGINE_CHECKPOINTS.length)} ${done.size}/${ENGINE_CHECKPOINTS.length} · ${clock(Date.now() - t0)} · ${last ?? 'starting'}\x1b[K`,
    );
  };
  draw();
  const ticker = tty ? setInterval(() => draw([...done].at(-1)), 1000) : undefined;

  try {
    const engine = createResearchEngine({ env, redis, pg, ...(sandbox ? { providerUrls: sandbox.urls } : {}) });
    const result = await engine.run(
      { runId: `cli-${randomUUID()}`, idea: idea.idea, depth },
      {
        signal: controller.signal,
        onCheckpoint: (id) => {
          done.add(id);
          draw(id);
        },
      },
    );
    if (tty) process.stderr.write('\n');
    const out =
      values.out ??
      (values.json ? undefined : `pmf-report-${new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-')}.md`);
    if (out) await writeFile(out, result.markdown, 'utf8');
    const u = result.usage;
    const s = result.report.score;
    const summary =
      `PMF ${s.total}/100 (${s.band}, confidence ${s.confidence}) · ${u.sourcesUsed} sources · ${u.tavilyCredits} credits (${u.cacheHits} cached) · ` +
      `${(u.promptTokens + u.completionTokens).toLocaleString('en-US')} tokens · ${clock(u.durationMs)}${result.report.sandbox ? ' · SANDBOX (synthetic)' : ''}${out ? ` · ${out}` : ''}`;
    if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else process.stdout.write(`${summary}\n`);
  } catch (err) {
    if (tty) process.stderr.write('\n');
    if (err instanceof ResearchError && err.failure && needsAdmin(err.failure)) {
      // EX_CONFIG: the setup, not the idea or the moment, is wrong; retrying the same command cannot help.
      const fix = adminFix(err.failure);
      fail(`Research refused: ${failureSummary(err.failure)}.\n` + `${fix ? `Fix: ${fix}.\n` : ''}(${err.detail})`, 78);
    }
    if (err instanceof ResearchError) {
      const cause = err.failure ? `\nCause: ${failureCause(err.failure)}` : '';
      fail(`Research failed: ${err.userMessage}${cause}\n(${err.detail})`, 1);
    }
    throw err;
  } finally {
    clearInterval(ticker);
    await Promise.allSettled([pg.destroy(), redis.quit(), sandbox?.sandbox.close()]);
  }
}

await main();
