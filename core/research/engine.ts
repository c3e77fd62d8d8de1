// The ResearchEngine: runs the graph for one task on a PostgreSQL-persisted LangGraph thread (thread_id =
// runId), so a second run() with the same runId continues where a crashed one stopped, and one that had
// finished returns its report again without spending anything.
import type { BaseCheckpointSaver, CheckpointTuple } from '@langchain/langgraph-checkpoint';
import type { Redis } from 'ioredis';
import type { Env } from '../config/env.js';
import type { Logger } from '../observability/logger.js';
import type { Db } from '../storage/postgres.js';
import type { CheckpointId } from './checkpoints.js';
import { normalizeUrl } from './citations.js';
import {
  ResearchError,
  type ResearchEngine,
  type ResearchHooks,
  type ResearchInput,
  type ResearchResult,
  type ResearchUsage,
} from './contract.js';
import { ResearchCheckpointSaver } from './langgraph-saver.js';
import { buildResearchGraph, type State } from './graph.js';
import { createProviders, type Providers } from './providers/index.js';
import { renderReportMarkdown } from './report-markdown.js';

export type ResearchEngineDeps = {
  env: Env;
  redis: Redis;
  /** Where the graph's checkpoints live (decision 035). */
  pg: Db;
  /** Ready-made providers (tests, benchmarks); otherwise built from env, at `providerUrls` when given (the sandbox's). */
  providers?: Providers;
  providerUrls?: { tavilyUrl?: string; openaiUrl?: string };
  /** Another LangGraph checkpointer (the benchmark's in-memory baseline); defaults to ResearchCheckpointSaver on `pg`. */
  checkpointer?: BaseCheckpointSaver;
  /** Whether reports say they are synthetic; defaults to PMF_SANDBOX. */
  sandbox?: boolean;
  logger?: Logger;
};

const CANCELLED = () => new ResearchError('The research was cancelled.', 'aborted by signal', false);

/** After an abort, how long run() waits for the graph to stop writing before it returns anyway. */
const ABORT_GRACE_MS = 800;

/**
 * Rejects promptly once the signal fires. It first gives the work up to ABORT_GRACE_MS to settle, so that
 * the graph's last checkpoint writes land before the caller (say, a retry with the same runId) reads them.
 */
function abortable<T>(work: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return work;
  work.catch(() => undefined);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      const grace = setTimeout(() => reject(CANCELLED()), ABORT_GRACE_MS);
      work.finally(() => (clearTimeout(grace), reject(CANCELLED()))).catch(() => undefined);
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => (signal.removeEventListener('abort', onAbort), resolve(v)),
      (e: unknown) => (signal.removeEventListener('abort', onAbort), reject(e)),
    );
  });
}

function toResearchError(err: unknown, signal?: AbortSignal): ResearchError {
  if (signal?.aborted) return CANCELLED();
  if (err instanceof ResearchError) return err;
  // A step that fails inside an agent's task fails the task and its node in one superstep, and LangGraph
  // throws both (and those of any sibling) together: the first of ours carries the cause.
  if (err instanceof AggregateError) {
    const ours = err.errors.find((e): e is ResearchError => e instanceof ResearchError);
    if (ours) return ours;
  }
  const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return new ResearchError('The research failed unexpectedly. Please try again.', detail, true);
}

/** The nodes a stored checkpoint has edges to (LangGraph names each edge's channel `branch:to:<node>`). */
function branchesOf(tuple: CheckpointTuple | undefined): string[] {
  const prefix = 'branch:to:';
  return Object.keys(tuple?.checkpoint.channel_versions ?? {}).flatMap((c) =>
    c.startsWith(prefix) ? [c.slice(prefix.length)] : [],
  );
}

function usageOf(state: State, durationMs: number): ResearchUsage {
  const u = state.usage;
  const urls = new Set(Object.values(state.pages).flatMap((pages) => (pages ?? []).map((p) => normalizeUrl(p.url))));
  return {
    tavilyCalls: u.tavilyCalls,
    tavilyCredits: u.tavilyCredits,
    cacheHits: u.cacheHits,
    promptTokens: u.promptTokens,
    completionTokens: u.completionTokens,
    tokensEstimated: Boolean(u.tokensEstimated),
    durationMs: Math.round(durationMs),
    sourcesUsed: urls.size,
    citationsRemoved: state.result?.citationsRemoved ?? 0,
    figuresFlagged: state.result?.figuresFlagged ?? 0,
    perNode: Object.fromEntries(Object.entries(u.perNode).map(([k, v]) => [k, { ...v, ms: Math.round(v.ms) }])),
  };
}

export function createResearchEngine(deps: ResearchEngineDeps): ResearchEngine {
  const sandbox = deps.sandbox ?? deps.env.PMF_SANDBOX;
  let providers = deps.providers;
  const checkpointer = deps.checkpointer ?? new ResearchCheckpointSaver(deps.pg);

  return {
    forget: (runId) => checkpointer.deleteThread(runId),
    async run(input: ResearchInput, hooks: ResearchHooks = {}): Promise<ResearchResult> {
      const t0 = performance.now();
      const { signal } = hooks;
      if (signal?.aborted) throw CANCELLED();
      providers ??= createProviders(deps.env, deps.redis, deps.providerUrls);
      const emitted = new Set<CheckpointId>();
      const emit = async (id: CheckpointId) => {
        if (emitted.has(id)) return;
        emitted.add(id);
        try {
          await hooks.onCheckpoint?.(id, new Date());
        } catch (err) {
          deps.logger?.warn({ err, checkpoint: id, runId: input.runId }, 'onCheckpoint hook failed');
        }
      };
      try {
        const graph = buildResearchGraph({ ...providers, checkpointer, sandbox, onCheckpoint: emit });
        // durability "sync": a step's checkpoint is stored before the next step starts, so a process that dies
        // mid-run never loses a finished search or extract (the async default can leave several steps unsaved).
        const config = {
          configurable: { thread_id: input.runId },
          signal,
          recursionLimit: 40,
          durability: 'sync' as const,
        };
        let snapshot = await abortable(graph.getState(config), signal);
        // A run stopped by a restart under the earlier layout (one node per agent step, before decision 117)
        // waits for nodes this graph does not have: it starts again, and its Tavily answers come from the cache.
        if (snapshot.values.idea !== undefined) {
          const waitsFor = branchesOf(await abortable(checkpointer.getTuple(config), signal));
          if (waitsFor.some((name) => !(name in graph.nodes))) {
            await checkpointer.deleteThread(input.runId);
            snapshot = await abortable(graph.getState(config), signal);
          }
        }
        const saved = snapshot.values as Partial<State>;
        // A resumed run first reports what the earlier attempt had already passed.
        for (const id of saved.done ?? []) await emit(id);
        // Any stored checkpoint means "continue": even with no next task listed (the last step finished but
        // its writes were not folded into a checkpoint yet), invoking with null applies them and completes.
        const resume = saved.idea !== undefined;
        const final: State = saved.result
          ? (saved as State)
          : ((await abortable(
              graph.invoke(resume ? null : { idea: input.idea, depth: input.depth }, config),
              signal,
            )) as State);
        if (!final.result)
          throw new ResearchError(
            'The research ended without a report. Please try again.',
            'graph finished without result',
            true,
          );
        const usage = usageOf(final, performance.now() - t0);
        const report = final.result.report;
        return { report, markdown: renderReportMarkdown(report, usage), usage };
      } catch (err) {
        throw toResearchError(err, signal);
      }
    },
  };
}
