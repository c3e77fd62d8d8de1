// Group commit for hot PostgreSQL statements: the ledger's reserves and captures (decision 012) and the
// research checkpoints (decision 035). Calls that arrive while `maxInFlight` statements are already running
// wait, and leave together as ONE statement: PostgreSQL then plans, executes and commits once for many rows,
// and Node makes one round trip for them.

export type BatchOptions = {
  /** Statements of this batcher running at once; calls beyond them gather into the next batch. */
  maxInFlight: number;
  /** The most calls one statement carries. */
  maxBatch: number;
};

/**
 * What a call touches. `exclusive` keys (a task id, an idempotency key) are never held by two calls running at
 * once, in one batch or in two, so a batch never trips a unique index on itself. `grouped` keys (a balance
 * row) may be shared by calls of one batch, but never by two batches running at once: two statements then
 * never lock the same rows in opposite orders, so the ledger cannot deadlock itself (with `maxBatch: 1` every
 * statement locks one row and cannot deadlock, so grouped keys are not held apart). An `alone` call gets a
 * statement of its own. A call that must wait for a key is overtaken by calls that need not.
 */
export type Claim = { exclusive: readonly string[]; grouped?: readonly string[]; alone?: boolean };

type Waiting<T, R> = {
  item: T;
  claim: Claim;
  resolve: (result: R | undefined) => void;
  reject: (err: unknown) => void;
};

/**
 * `run` executes one statement for a batch and returns each item's result in the same order (`undefined`
 * where the statement changed nothing for that item). A statement is all-or-nothing, so when a batch of
 * several fails, nothing was written and each item is run again on its own: the error then belongs to the
 * one call that caused it.
 */
export class StatementBatcher<T, R> {
  private readonly waiting: Waiting<T, R>[] = [];
  private readonly busyExclusive = new Set<string>();
  private readonly busyGrouped = new Set<string>();
  private inFlight = 0;
  private statements = 0;
  private calls = 0;

  constructor(
    private readonly run: (items: readonly T[]) => Promise<readonly (R | undefined)[]>,
    private readonly options: BatchOptions,
  ) {
    if (!(options.maxInFlight >= 1) || !(options.maxBatch >= 1))
      throw new Error('a statement batcher needs maxInFlight >= 1 and maxBatch >= 1');
  }

  /** Statements started and calls they carried so far (fallback re-runs not counted): the batching achieved. */
  get stats(): { statements: number; calls: number } {
    return { statements: this.statements, calls: this.calls };
  }

  submit(item: T, claim: Claim): Promise<R | undefined> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ item, claim, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.options.maxInFlight) {
      const batch = this.takeBatch();
      if (batch.length === 0) return;
      this.inFlight++;
      this.statements++;
      this.calls += batch.length;
      void this.execute(batch).finally(() => {
        for (const w of batch) {
          for (const k of w.claim.exclusive) this.busyExclusive.delete(k);
          for (const k of w.claim.grouped ?? []) this.busyGrouped.delete(k);
        }
        this.inFlight--;
        this.pump();
      });
    }
  }

  /** Oldest first, skipping any call whose keys are taken by a running batch or, if exclusive, by this one. */
  private takeBatch(): Waiting<T, R>[] {
    const batch: Waiting<T, R>[] = [];
    const groupedHere = new Set<string>();
    for (let i = 0; i < this.waiting.length && batch.length < this.options.maxBatch;) {
      const w = this.waiting[i]!;
      const grouped = w.claim.grouped ?? [];
      const blocked =
        (w.claim.alone === true && batch.length > 0) ||
        w.claim.exclusive.some((k) => this.busyExclusive.has(k)) ||
        (this.options.maxBatch > 1 && grouped.some((k) => this.busyGrouped.has(k) && !groupedHere.has(k)));
      if (blocked) {
        i++;
        continue;
      }
      for (const k of w.claim.exclusive) this.busyExclusive.add(k);
      for (const k of grouped) {
        this.busyGrouped.add(k);
        groupedHere.add(k);
      }
      batch.push(w);
      this.waiting.splice(i, 1);
      if (w.claim.alone === true) break;
    }
    return batch;
  }

  private async execute(batch: Waiting<T, R>[]): Promise<void> {
    try {
      const results = await this.run(batch.map((w) => w.item));
      batch.forEach((w, i) => w.resolve(results[i]));
    } catch (err) {
      if (batch.length === 1) {
        batch[0]!.reject(err);
        return;
      }
      await Promise.all(
        batch.map(async (w) => {
          try {
            const [result] = await this.run([w.item]);
            w.resolve(result);
          } catch (alone) {
            w.reject(alone);
          }
        }),
      );
    }
  }
}
