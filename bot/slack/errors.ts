// Reading Slack Web API failures out of whatever wrapped them (the job layer may wrap an announce error).

/** The Slack `error` string (e.g. `not_in_channel`) of a platform error anywhere in the cause chain. */
export function slackErrorCode(error: unknown): string | undefined {
  for (
    let e: unknown = error, depth = 0;
    e && typeof e === 'object' && depth < 5;
    e = (e as { cause?: unknown }).cause, depth++
  ) {
    const data = (e as { data?: unknown }).data;
    if ((e as { code?: unknown }).code === 'slack_webapi_platform_error' && data && typeof data === 'object') {
      const code = (data as { error?: unknown }).error;
      if (typeof code === 'string') return code;
    }
  }
  return undefined;
}

/** Seconds Slack asked us to wait, when the error is a 429 the client did not retry itself. */
export function slackRetryAfter(error: unknown): number | undefined {
  if (error && typeof error === 'object' && (error as { code?: unknown }).code === 'slack_webapi_rate_limited_error') {
    const after = (error as { retryAfter?: unknown }).retryAfter;
    return typeof after === 'number' && Number.isFinite(after) ? after : 1;
  }
  return undefined;
}
