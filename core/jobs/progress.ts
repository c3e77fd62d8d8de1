import type { Task } from '../tasks/types.js';

export const PROGRESS_PREFIX = 'pmf:progress:';

/** The Redis pub/sub channel carrying a task's live state as JSON (the whole Task). */
export function progressChannel(taskId: string, prefix = PROGRESS_PREFIX): string {
  return `${prefix}${taskId}`;
}

const DATE_FIELDS = ['createdAt', 'startedAt', 'finishedAt'] as const;

/** A Task sent through JSON, with its dates turned back into Dates. */
export function reviveTask(json: string): Task {
  const task = JSON.parse(json) as Task;
  for (const f of DATE_FIELDS) if (task[f]) task[f] = new Date(task[f] as unknown as string);
  task.checkpoints = task.checkpoints.map((c) => ({ id: c.id, at: new Date(c.at) }));
  if (task.cancelRequested) task.cancelRequested = { ...task.cancelRequested, at: new Date(task.cancelRequested.at) };
  return task;
}

/**
 * Coalesces a task's progress deliveries: at most one call per `intervalMs`, one at a time, never a state
 * with fewer checkpoints than one already sent, and `flush` always sends the latest state. States that
 * arrive while a send is waiting or in flight replace each other; only the newest is sent.
 */
export class ProgressCoalescer {
  private latest: Task | undefined;
  private sentCount = 0;
  private lastSentAt = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly stopped = new AbortController();

  constructor(
    private readonly send: (task: Task, final: boolean, signal: AbortSignal) => Promise<void>,
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  offer(task: Task): void {
    if (this.closed || task.checkpoints.length <= Math.max(this.sentCount, this.latest?.checkpoints.length ?? 0))
      return;
    this.latest = task;
    if (this.timer) return;
    const wait = Math.max(0, this.lastSentAt + this.intervalMs - this.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.inFlight = this.inFlight.then(() => this.sendLatest());
    }, wait);
  }

  /** Sends `final` (or the newest offered state) now, after any send in flight, and stops further sends. */
  async flush(final?: Task): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (final && final.checkpoints.length >= (this.latest?.checkpoints.length ?? 0)) this.latest = final;
    this.closed = true;
    this.inFlight = this.inFlight.then(() => this.sendLatest(true));
    await this.inFlight;
  }

  /**
   * Stops without sending anything more and aborts the signal of a send under way; resolves once that send
   * has finished, so that a final message delivered after it cannot be overtaken by a stale progress edit.
   */
  close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.closed = true;
    this.latest = undefined;
    this.stopped.abort();
    return this.inFlight.catch(() => undefined);
  }

  private async sendLatest(final = false): Promise<void> {
    const task = this.latest;
    if (!task) return;
    // The final state is re-sent even at an equal count: it may carry the terminal status.
    if (task.checkpoints.length < this.sentCount || (!final && task.checkpoints.length === this.sentCount)) return;
    this.latest = undefined;
    this.sentCount = task.checkpoints.length;
    this.lastSentAt = this.now();
    // The final state is sent after close() too, so it gets a signal that never aborts.
    await this.send(task, final, final ? new AbortController().signal : this.stopped.signal);
  }
}
