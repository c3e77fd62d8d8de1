// Slack Web API clients with our own retry budget (decision 057). @slack/web-api's default retry policy
// tries ten times over about half an hour: a command's work would hold its line, its credits and the
// requester's attention all that time while Slack answers 500. Ours: a few tries within seconds, every
// request bounded in time, 429s waited out only as long as Retry-After fits in the budget.
import { WebClient, LogLevel, type WebClientOptions } from '@slack/web-api';
import { slackRetryAfter } from './errors.js';

/** How hard a Slack call is tried before the requester is told and nothing is charged. */
const SLACK_CALL_BUDGET = {
  /** Retries after the first try, for 5xx answers and network errors. */
  retries: 2,
  minTimeoutMs: 250,
  maxTimeoutMs: 1000,
  /** One request, from sending to the whole answer. */
  requestTimeoutMs: 5000,
  /** Longest total wait for 429s on one call on the command path; a longer Retry-After fails the call. */
  rateLimitWaitMs: 5000,
} as const;

/**
 * The Web API base URL option for SLACK_API_URL (the fake Slack in tests), none for Slack itself. The SDK
 * appends method names to it, so it must end with a slash.
 */
export function slackApiUrlOption(apiUrl: string | undefined): { slackApiUrl?: string } {
  return apiUrl ? { slackApiUrl: apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/` } : {};
}

/** WebClient options that keep a call within SLACK_CALL_BUDGET; 429s come back to us (`withRateLimitBudget`). */
export function boundedClientOptions(apiUrl: string | undefined): WebClientOptions {
  return {
    logLevel: LogLevel.ERROR,
    ...slackApiUrlOption(apiUrl),
    rejectRateLimitedCalls: true,
    timeout: SLACK_CALL_BUDGET.requestTimeoutMs,
    retryConfig: {
      retries: SLACK_CALL_BUDGET.retries,
      factor: 2,
      minTimeout: SLACK_CALL_BUDGET.minTimeoutMs,
      maxTimeout: SLACK_CALL_BUDGET.maxTimeoutMs,
    },
  };
}

export function boundedWebClient(token: string, apiUrl: string | undefined): WebClient {
  return new WebClient(token, boundedClientOptions(apiUrl));
}

/**
 * Runs a Web API call, waiting out 429s while the total wait stays within `budgetMs` (Retry-After honoured,
 * never shortened); past the budget the rate-limit error is thrown for the caller to report.
 */
export async function withRateLimitBudget<T>(
  fn: () => Promise<T>,
  budgetMs: number = SLACK_CALL_BUDGET.rateLimitWaitMs,
): Promise<T> {
  let waited = 0;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      const retryAfter = slackRetryAfter(error);
      if (retryAfter === undefined || waited + retryAfter * 1000 > budgetMs) throw error;
      waited += retryAfter * 1000;
      await new Promise((r) => setTimeout(r, retryAfter * 1000));
    }
  }
}

/**
 * Posts to a command's response_url, as Bolt's respond() does (valid 30 minutes, 5 uses), bounded like
 * every Slack call: a hanging answer must not hold a line or a shutdown.
 */
export async function postToResponseUrl(url: string, message: Record<string, unknown>): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json; charset=utf-8' },
    body: JSON.stringify(message),
    signal: AbortSignal.timeout(SLACK_CALL_BUDGET.requestTimeoutMs),
  });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`response_url answered HTTP ${res.status}`);
}
