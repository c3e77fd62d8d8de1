// How fast acknowledged commands arrive, so the work after them can give way to the acks during a burst.

/** Arrivals per second at or above which the front door counts as under a burst. */
const BURST_PER_SECOND = 20;

/** Counts arrivals over the last second; `bursting` once they reach `burstPerSecond`. */
export class ArrivalRate {
  private readonly times: number[] = [];

  constructor(
    private readonly burstPerSecond = BURST_PER_SECOND,
    private readonly now: () => number = () => performance.now(),
  ) {}

  note(): void {
    this.times.push(this.now());
    this.forgetOld();
  }

  get perSecond(): number {
    this.forgetOld();
    return this.times.length;
  }

  get bursting(): boolean {
    return this.perSecond >= this.burstPerSecond;
  }

  private forgetOld(): void {
    const since = this.now() - 1000;
    let old = 0;
    while (old < this.times.length && this.times[old]! <= since) old++;
    if (old) this.times.splice(0, old);
  }
}
