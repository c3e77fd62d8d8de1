// Shared by the jobs tests, the crash-test worker process and the benchmark: a research engine double with
// the real engine's checkpoint shape and abort behaviour, a delivery that records every call, and env values.
import type { CheckpointId } from '../../core/research/checkpoints.js';
import {
  ResearchError,
  type ResearchEngine,
  type ResearchInput,
  type ResearchHooks,
  type ResearchResult,
} from '../../core/research/contract.js';
import type { Collection } from 'mongodb';
import type { Delivery } from '../../core/tasks/delivery.js';
import type { Task } from '../../core/tasks/types.js';
import type { JobsEnv } from '../../core/jobs/types.js';

export const TEST_JOBS_ENV: JobsEnv = {
  WORKER_CONCURRENCY: 5,
  JOB_LOCK_LIFETIME_MS: 3000,
  JOB_MAX_ATTEMPTS: 3,
  WORKER_DRAIN_TIMEOUT_MS: 2000,
};

export function fakeResult(input: ResearchInput): ResearchResult {
  return {
    report: {
      title: `PMF: ${input.idea.slice(0, 40)}`,
      idea: input.idea,
      depth: input.depth,
      sandbox: true,
      summary: 'A promising niche with paying customers.',
      keyFindings: [{ text: 'Owners pay for trust.', citations: [1] }],
      score: { total: 64, band: 'strong', confidence: 'medium', subScores: [] },
      missingSections: [],
      citations: [{ n: 1, url: 'https://example.com/a', title: 'A', domain: 'example.com' }],
    },
    markdown: `# PMF: ${input.idea}\n`,
    usage: {
      tavilyCalls: 6,
      tavilyCredits: 6,
      cacheHits: 0,
      promptTokens: 100,
      completionTokens: 50,
      durationMs: 10,
      sourcesUsed: 1,
      citationsRemoved: 0,
      figuresFlagged: 0,
      perNode: {},
    },
  };
}

export type FakeEngineOptions = {
  /** Pause before each checkpoint, in ms (a function for random pauses). */
  stepMs?: number | (() => number);
  /** Throw this from the run (each call takes the next; `undefined` entries succeed). */
  failures?: (Error | undefined)[];
};

function abortError(signal: AbortSignal): Error {
  return new ResearchError('The research was stopped.', `aborted: ${String(signal.reason)}`, false);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(abortError(signal!));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The engine's 12 checkpoints in a plausible completion order: plan, queries, the three agents interleaved, report. */
export const FAKE_ORDER: CheckpointId[] = [
  'plan',
  'queries',
  'market_search',
  'competitor_search',
  'customer_search',
  'market_extract',
  'competitor_extract',
  'customer_extract',
  'market_analysis',
  'competitor_analysis',
  'customer_analysis',
  'report',
];

export class FakeEngine implements ResearchEngine {
  runs = 0;
  private readonly failures: (Error | undefined)[];
  constructor(private readonly opts: FakeEngineOptions = {}) {
    this.failures = [...(opts.failures ?? [])];
  }
  async run(input: ResearchInput, hooks: ResearchHooks = {}): Promise<ResearchResult> {
    this.runs++;
    const failure = this.failures.shift();
    for (const id of FAKE_ORDER) {
      const step = typeof this.opts.stepMs === 'function' ? this.opts.stepMs() : (this.opts.stepMs ?? 5);
      await sleep(step, hooks.signal);
      if (failure && id === 'market_search') throw failure;
      await hooks.onCheckpoint?.(id, new Date());
    }
    return fakeResult(input);
  }
}

export type DeliveryCall = {
  kind: 'progress' | 'succeeded' | 'failed' | 'undelivered';
  taskId: string;
  checkpoints: number;
  status: string;
  at: Date;
  pid: number;
};

/** Records every call in memory, or in a MongoDB collection when calls come from several processes. */
export class RecordingDelivery implements Delivery {
  readonly calls: DeliveryCall[] = [];
  /** Errors to throw from the next final calls (succeeded/failed), in order. */
  finalFailures: Error[] = [];
  constructor(private readonly sink?: Collection<DeliveryCall>) {}
  private async record(kind: DeliveryCall['kind'], task: Task): Promise<void> {
    const call: DeliveryCall = {
      kind,
      taskId: task.id,
      checkpoints: task.checkpoints.length,
      status: task.status,
      at: new Date(),
      pid: process.pid,
    };
    if (kind !== 'progress') {
      const err = this.finalFailures.shift();
      if (err) throw err;
    }
    this.calls.push(call);
    if (this.sink) await this.sink.insertOne({ ...call });
  }
  progress(task: Task) {
    return this.record('progress', task);
  }
  succeeded(task: Task) {
    return this.record('succeeded', task);
  }
  failed(task: Task) {
    return this.record('failed', task);
  }
  /** Recorded, never failing: `problems` keeps what the job layer said. */
  readonly problems: string[] = [];
  undelivered(task: Task, problem: string) {
    this.problems.push(problem);
    this.calls.push({
      kind: 'undelivered',
      taskId: task.id,
      checkpoints: task.checkpoints.length,
      status: task.status,
      at: new Date(),
      pid: process.pid,
    });
    return Promise.resolve();
  }
  of(taskId: string, kind?: DeliveryCall['kind']): DeliveryCall[] {
    return this.calls.filter((c) => c.taskId === taskId && (!kind || c.kind === kind));
  }
}
