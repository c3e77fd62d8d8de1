// Retry policy shared by the Tavily and LLM providers: pure delay arithmetic plus one small loop.
// See docs/decisions/022-provider-retry-policy.md.

export type RetryPolicy = {
  /** Retries after the first attempt (PROVIDER_MAX_RETRIES). */
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After longer than this is not waited for: the call fails (retryable) and the job layer decides. */
  maxRetryAfterMs: number;
};

export const DEFAULT_RETRY_POLICY: Omit<RetryPolicy, 'maxRetries'> = {
  baseDelayMs: 500,
  maxDelayMs: 8_000,
  maxRetryAfterMs: 60_000,
};

/** How a failed attempt should be treated. `retryAfterMs` comes from the server when it said so. */
export type FailureClass = { retryable: boolean; reason: string; retryAfterMs?: number };

/**
 * "Equal jitter" exponential backoff: half the capped exponential delay is fixed, half random, so
 * concurrent runs spread out but no retry fires immediately. `attempt` is 0 for the first retry.
 */
export function backoffDelayMs(
  attempt: number,
  policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>,
  random: number,
): number {
  const capped = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt));
  return Math.round(capped / 2 + (capped / 2) * Math.min(1, Math.max(0, random)));
}

/**
 * Retry-After as milliseconds: delta-seconds (fractions allowed) or an HTTP-date; `retry-after-ms`
 * (OpenAI's header) wins when present. Undefined when absent or unparseable.
 */
export function parseRetryAfter(
  headers: { retryAfter?: string | null; retryAfterMs?: string | null },
  now: number,
): number | undefined {
  const ms = headers.retryAfterMs?.trim();
  if (ms && /^\d+(\.\d+)?$/.test(ms)) return Math.ceil(Number(ms));
  const value = headers.retryAfter?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.ceil(Number(value) * 1000);
  // Only an HTTP-date (it names a weekday/month) counts; Date.parse would read "-3" as a year.
  const date = /[a-z]{3}/i.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

export type RetryDecision =
  { retry: true; delayMs: number } | { retry: false; why: 'not_retryable' | 'exhausted' | 'retry_after_too_long' };

/** Whether and when to try again after failed attempt number `attempt` (0-based). */
export function decideRetry(
  failure: FailureClass,
  attempt: number,
  policy: RetryPolicy,
  random: number,
): RetryDecision {
  if (!failure.retryable) return { retry: false, why: 'not_retryable' };
  if (attempt >= policy.maxRetries) return { retry: false, why: 'exhausted' };
  if (failure.retryAfterMs !== undefined) {
    if (failure.retryAfterMs > policy.maxRetryAfterMs) return { retry: false, why: 'retry_after_too_long' };
    // Honour the server's wait exactly, plus a little jitter so a burst of clients doesn't return together.
    return {
      retry: true,
      delayMs: failure.retryAfterMs + Math.round(Math.min(250, failure.retryAfterMs * 0.1) * random),
    };
  }
  return { retry: true, delayMs: backoffDelayMs(attempt, policy, random) };
}

export class AbortedError extends Error {
  constructor(reason?: unknown) {
    super(reason instanceof Error ? reason.message : 'The operation was aborted');
    this.name = 'AbortError';
  }
}

function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new AbortedError(signal.reason);
}

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** A timer that an abort cuts short (rejecting with AbortError). */
export const abortableSleep: Sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortedError(signal.reason));
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new AbortedError(signal?.reason));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** Resolves or rejects with `work`, or rejects with AbortError as soon as `signal` fires. */
export function raceAbort<T>(work: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(new AbortedError(signal.reason));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      work.catch(() => undefined);
      reject(new AbortedError(signal.reason));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

export type RetryOutcome<T, F extends FailureClass = FailureClass> =
  { ok: true; value: T; attempts: number } | { ok: false; failure: F; attempts: number; why: string; error: unknown };

/**
 * Runs `attempt` until it succeeds or the policy says stop. Aborts propagate at once (never retried);
 * every other error is classified by `classify`. A classifier may return more than FailureClass (a
 * provider's failure kind, say); the final outcome hands that back as it was returned.
 */
export async function withRetry<T, F extends FailureClass = FailureClass>(
  attempt: (n: number) => Promise<T>,
  opts: {
    policy: RetryPolicy;
    classify: (err: unknown) => F;
    signal?: AbortSignal;
    sleep?: Sleep;
    random?: () => number;
    onRetry?: (failure: F, delayMs: number, n: number) => void;
  },
): Promise<RetryOutcome<T, F>> {
  const sleep = opts.sleep ?? abortableSleep;
  const random = opts.random ?? Math.random;
  for (let n = 0; ; n++) {
    throwIfAborted(opts.signal);
    try {
      return { ok: true, value: await attempt(n), attempts: n + 1 };
    } catch (err) {
      if (err instanceof AbortedError || opts.signal?.aborted)
        throw err instanceof AbortedError ? err : new AbortedError(opts.signal?.reason);
      const failure = opts.classify(err);
      const decision = decideRetry(failure, n, opts.policy, random());
      if (!decision.retry) return { ok: false, failure, attempts: n + 1, why: decision.why, error: err };
      opts.onRetry?.(failure, decision.delayMs, n + 1);
      await sleep(decision.delayMs, opts.signal);
    }
  }
}
