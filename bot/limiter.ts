// A tiny FIFO concurrency limiter for the work after an acknowledgement (no dependency needed for this).

/** What a user whose command arrived during a shutdown is told (Slack and Discord alike). */
export const RESTARTING_TEXT =
  'PMF Scout is restarting, so this research did not start. Nothing was charged: please try again in a minute.';

/** The process is shutting down: work not yet accepted is refused, so the caller can say so kindly. */
export class LimiterClosedError extends Error {
  constructor() {
    super('shutting down: no new work is accepted');
    this.name = 'LimiterClosedError';
  }
}

/** During a burst, each task is followed by a rest this many times as long as it took (a quarter duty cycle). */
export const BURST_REST_FACTOR = 3;

/** What the work gives way to: the front door, while commands arrive in a burst (ArrivalRate). */
export type GivesWayTo = { readonly bursting: boolean };

/**
 * Runs at most `max` tasks at once, first come first served. The work after an acknowledgement (rate limit,
 * ledger, task store, platform calls) is bounded by it so a burst of commands cannot starve the acks of the
 * next ones, which Slack and Discord need within 3 s.
 *
 * Given `yieldTo`, it gives way to the acks while they come in a burst: one task at a time, each followed by a
 * rest BURST_REST_FACTOR times as long as the task took. On two cores the work and the storage servers it keeps busy otherwise take
 * the CPU the acks need (decision 054); the work never stops altogether, and runs at full width again when
 * the burst is over.
 *
 * On shutdown, `close()` refuses new work and `drained()` waits for the work already accepted: those users
 * were told their command was received, so it must be finished, or refused with a message (`shed()` when the
 * time to finish runs out), never dropped in silence.
 */
export class Limiter {
  private active = 0;
  private closed = false;
  private readonly waiting: { key?: string; start: () => void; refuse: (err: Error) => void }[] = [];
  private readonly idle: (() => void)[] = [];
  private readonly byKey = new Map<string, number>();

  /**
   * `perKey` caps the tasks of one key (a Slack team, a Discord guild) running at once: a workspace whose
   * platform calls hang or fail cannot take every slot while they time out (decision 057). A task over its
   * key's cap lets later tasks of other keys go first; among tasks that may run, the order stays first come.
   */
  constructor(
    private readonly max: number,
    private readonly yieldTo?: GivesWayTo,
    private readonly perKey = Infinity,
  ) {}

  async run<T>(fn: () => Promise<T>, key?: string): Promise<T> {
    if (this.closed) throw new LimiterClosedError();
    if (this.active >= this.width() || !this.keyFree(key))
      await new Promise<void>((start, refuse) => this.waiting.push({ key, start, refuse }));
    else this.take(key);
    const started = performance.now();
    try {
      return await fn();
    } finally {
      if (this.yieldTo?.bursting)
        await new Promise((r) => setTimeout(r, (performance.now() - started) * BURST_REST_FACTOR));
      this.active--;
      if (key !== undefined) {
        const left = (this.byKey.get(key) ?? 1) - 1;
        if (left > 0) this.byKey.set(key, left);
        else this.byKey.delete(key);
      }
      for (let i = 0; i < this.waiting.length && this.active < this.width();) {
        const next = this.waiting[i]!;
        if (!this.keyFree(next.key)) {
          i++;
          continue;
        }
        this.waiting.splice(i, 1);
        this.take(next.key);
        next.start();
      }
      if (this.active === 0) for (const done of this.idle.splice(0)) done();
    }
  }

  private keyFree(key: string | undefined): boolean {
    return key === undefined || (this.byKey.get(key) ?? 0) < this.perKey;
  }

  private take(key: string | undefined): void {
    this.active++;
    if (key !== undefined) this.byKey.set(key, (this.byKey.get(key) ?? 0) + 1);
  }

  private width(): number {
    return this.yieldTo?.bursting ? 1 : this.max;
  }

  /** Tasks running or waiting their turn. */
  get size(): number {
    return this.active + this.waiting.length;
  }

  close(): void {
    this.closed = true;
  }

  /** Refuses the tasks still waiting their turn (they fail with LimiterClosedError); running ones go on. */
  shed(): void {
    this.close();
    for (const w of this.waiting.splice(0)) w.refuse(new LimiterClosedError());
  }

  /**
   * The whole shutdown: refuse new work, finish what was accepted within `drainMs`, then shed what has not
   * started and give those refusals `shedMs` to go out. True if everything accepted was finished.
   */
  async finish(drainMs: number, shedMs: number): Promise<boolean> {
    this.close();
    if (await this.drained(drainMs)) return true;
    this.shed();
    await this.drained(shedMs);
    return false;
  }

  /** True once nothing runs or waits; false if `timeoutMs` passes first. */
  drained(timeoutMs: number): Promise<boolean> {
    if (this.active === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.idle.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}
