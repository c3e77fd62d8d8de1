// The work after an acknowledgement runs on a thread of its own, below the acking thread's priority: a burst
// of commands keeps that thread busy with storage and platform calls for minutes, and acks that shared its
// event loop waited behind them (decision 054 has the measurements). The front doors (Slack's Bolt app,
// Discord's gateway client) stay on the main thread and hand each acknowledged command over as plain data.
import { Worker } from 'node:worker_threads';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { Env } from '../core/config/index.js';
import type { JobsTuning } from '../core/jobs/index.js';
import type { Logger } from '../core/observability/logger.js';
import type { DiscordWork } from './discord/work.js';
import type { SlackWork } from './slack/work.js';

export type Work = { platform: 'slack'; work: SlackWork } | { platform: 'discord'; work: DiscordWork };

export type WorkThreadOptions = {
  env: Env;
  /** How much lower than the process the thread runs (Linux nice, 0–19); 0 keeps it equal. */
  niceness?: number;
  /** Commands worked on at once per platform; SLACK_WORK_AT_ONCE and DISCORD_SUBMISSIONS_AT_ONCE by default. */
  slackAtOnce?: number;
  discordAtOnce?: number;
  /** Tests and benchmarks isolate their Redis keys and job queue; production uses the defaults. */
  slackKeyPrefix?: string;
  discordKeyPrefix?: string;
  jobsTuning?: Partial<Omit<JobsTuning, 'workerName'>>;
};

/** A registry's metrics as plain data (`registry.getMetricsAsJSON()`), which crosses threads by structured clone. */
export type MetricsSnapshot = MetricObjectWithValues<MetricValue<string>>[];

/** Messages from the main thread to the work thread. */
export type ToWorkThread =
  { type: 'work'; work: Work } | { type: 'finish'; drainMs: number; shedMs: number } | { type: 'metrics'; id: number };
/** Messages from the work thread to the main thread. */
export type FromWorkThread =
  | { type: 'ready' }
  | { type: 'failed'; message: string }
  | { type: 'finished'; drained: boolean }
  | { type: 'metrics'; id: number; metrics: MetricsSnapshot };

/** The default: acks keep about nine tenths of a contended core (nice 10 weighs 110 against 1024). */
export const WORK_THREAD_NICENESS = 10;

export class WorkThread {
  private finished?: Promise<boolean>;
  private readonly metricsAnswers = new Map<number, (metrics: MetricsSnapshot) => void>();
  private lastMetricsId = 0;

  private constructor(
    private readonly worker: Worker,
    private readonly logger: Logger,
  ) {
    worker.on('message', (m: FromWorkThread) => {
      if (m.type !== 'metrics') return;
      this.metricsAnswers.get(m.id)?.(m.metrics);
      this.metricsAnswers.delete(m.id);
    });
  }

  /**
   * Starts the thread and resolves once its storage is open; rejects with the thread's reason if it cannot.
   * `onDied` is called if the thread ends without being asked to finish: work handed to it would be lost in
   * silence, so the bot process exits and is restarted, as it would have been had the work crashed it.
   */
  static async start(
    options: WorkThreadOptions,
    logger: Logger,
    onDied: (code: number) => void = () => undefined,
  ): Promise<WorkThread> {
    const worker = new Worker(new URL('./work-thread-boot.mjs', import.meta.url), {
      workerData: { entry: new URL('./work-thread-entry.ts', import.meta.url).href, options },
    });
    await new Promise<void>((resolve, reject) => {
      const onMessage = (m: FromWorkThread) => {
        if (m.type === 'ready') resolve();
        else if (m.type === 'failed') reject(new Error(`the work thread could not start: ${m.message}`));
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the work thread exited with code ${code} while starting`)));
    });
    // By event name: removeAllListeners() with none would also drop the hooks by which a Worker starts its
    // message port when a 'message' listener is added, and later messages would wait until the thread exits.
    for (const event of ['message', 'error', 'exit']) worker.removeAllListeners(event);
    const thread = new WorkThread(worker, logger);
    worker.on('error', (err) => logger.error({ err }, 'work thread failed'));
    worker.on('exit', (code) => {
      if (thread.finished) return;
      logger.fatal({ code }, 'the work thread died');
      onDied(code);
    });
    return thread;
  }

  /** Hands acknowledged work over; the thread answers the user, whatever happens to it. */
  dispatch(work: Work): void {
    this.worker.postMessage({ type: 'work', work } satisfies ToWorkThread);
  }

  /**
   * The thread's own pmf_* metrics (credits it reserved, its Slack and Discord errors and 429s): its module
   * copies record into a registry of their own, which the main thread's /metrics adds to its own. Empty if the
   * thread does not answer within `timeoutMs` (busy, or already finished), so a scrape never hangs.
   */
  metrics(timeoutMs = 1_000): Promise<MetricsSnapshot> {
    return new Promise((resolve) => {
      const id = ++this.lastMetricsId;
      const timer = setTimeout(() => {
        this.metricsAnswers.delete(id);
        resolve([]);
      }, timeoutMs);
      this.metricsAnswers.set(id, (metrics) => {
        clearTimeout(timer);
        resolve(metrics);
      });
      this.worker.postMessage({ type: 'metrics', id } satisfies ToWorkThread);
    });
  }

  /**
   * The shutdown: the thread refuses work that arrives from now on, finishes what it was handed within
   * `drainMs`, tells those still waiting to try again (`shedMs` for those messages), closes its connections
   * and exits. True if everything handed over was finished.
   */
  finish(drainMs: number, shedMs: number): Promise<boolean> {
    this.finished ??= new Promise<boolean>((resolve) => {
      let drained = false;
      this.worker.on('message', (m: FromWorkThread) => {
        if (m.type === 'finished') drained = m.drained;
      });
      this.worker.once('exit', (code) => {
        if (code !== 0) this.logger.warn({ code }, 'work thread exited with an error');
        resolve(drained);
      });
      this.worker.postMessage({ type: 'finish', drainMs, shedMs } satisfies ToWorkThread);
    });
    return this.finished;
  }
}
