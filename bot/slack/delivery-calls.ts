// How delivery calls Slack: edits within the workspace's chat.update budget, 429s waited out, errors no
// retry can fix made permanent. chat.update is Tier 3: about 50 a minute per workspace, shared by every job
// in every process (decision 052). Each edit first takes a slot from a per-workspace sliding window in Redis
// (SLACK_UPDATES_PER_MINUTE); progress edits may use only part of it, so final states always find room.
import { checkRateLimits, restampRateLimit } from '../../core/limits/rate-limit.js';
import type { Logger } from '../../core/observability/logger.js';
import { metrics } from '../../core/observability/metrics.js';
import type { Redis } from '../../core/storage/index.js';
import { PermanentDeliveryError } from '../../core/tasks/delivery.js';
import { PERMANENT_ERRORS, slackErrorCode, slackRetryAfter } from './errors.js';

export type UpdateBudgetOptions = {
  /** The Redis key of a workspace's window. */
  key: (teamId: string) => string;
  /** Edits a window allows, final ones included. */
  limit: number;
  windowMs: number;
  /** Share of the budget progress edits may use; the rest is kept for final states. */
  progressShare: number;
};

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const MAX_RATE_LIMIT_WAITS = 50;

/** Runs a Web API call, waiting out 429s; turns hopeless errors into PermanentDeliveryError. */
export function deliveryCall(logger: Logger) {
  return async function call<T>(method: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (error) {
        const retryAfter = slackRetryAfter(error);
        if (retryAfter !== undefined && attempt < MAX_RATE_LIMIT_WAITS) {
          metrics.platformApiErrors.inc({ platform: 'slack', method, code: 'ratelimited' });
          logger.warn({ method, retryAfter }, 'slack 429: waiting it out');
          await sleep(retryAfter * 1000 + Math.floor(Math.random() * 250));
          continue;
        }
        const code = slackErrorCode(error);
        if (code) metrics.platformApiErrors.inc({ platform: 'slack', method, code });
        if (code && PERMANENT_ERRORS.has(code))
          throw Object.assign(new PermanentDeliveryError(`slack ${method}: ${code}`), { cause: error });
        throw error;
      }
    }
  };
}

export function updateBudget(redis: Redis, opts: UpdateBudgetOptions) {
  const progressLimit = Math.max(1, Math.floor(opts.limit * opts.progressShare));
  return {
    /**
     * Waits for a chat.update slot in the workspace's shared window (`final` may use the whole budget) and
     * returns a function that re-stamps the slot when the call is done; undefined when no longer wanted.
     */
    async take(teamId: string, final: boolean, stillWanted: () => boolean): Promise<(() => Promise<void>) | undefined> {
      const rule = {
        key: opts.key(teamId),
        limit: final ? opts.limit : progressLimit,
        windowSeconds: opts.windowMs / 1000,
      };
      for (;;) {
        if (!stillWanted()) return undefined;
        const decision = await checkRateLimits(redis, [rule]);
        if (decision.allowed) return () => restampRateLimit(redis, rule, decision.member!).catch(() => undefined);
        await sleep(Math.min(decision.retryAfterMs, 1000) + Math.floor(Math.random() * 50));
      }
    },
  };
}
