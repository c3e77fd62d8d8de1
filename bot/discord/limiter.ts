// A tiny FIFO concurrency limiter (no dependency needed for twenty lines).
/**
 * Runs at most `max` tasks at once, first come first served. The work after a deferral (rate limit,
 * ledger, task store, three REST calls) is bounded by it so a burst of commands cannot starve the
 * event loop that must acknowledge the next interactions within 3 s.
 */
export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly max: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
