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

/** The scope Slack said a call needed (`missing_scope` answers carry `needed`). */
export function slackNeededScope(error: unknown): string | undefined {
  for (
    let e: unknown = error, depth = 0;
    e && typeof e === 'object' && depth < 5;
    e = (e as { cause?: unknown }).cause, depth++
  ) {
    const data = (e as { data?: unknown }).data;
    if (data && typeof data === 'object') {
      const needed = (data as { needed?: unknown }).needed;
      if (typeof needed === 'string') return needed;
    }
  }
  return undefined;
}

/** Errors that mean the installation itself no longer works: only reinstalling the app fixes them. */
export const INSTALLATION_GONE = new Set([
  'invalid_auth',
  'not_authed',
  'token_revoked',
  'account_inactive',
  'token_expired',
]);

/**
 * What a Slack error means for the person who ran the command, and what fixes it, in one or two sentences
 * (decision 058). Unknown codes get undefined: the caller says something generic.
 */
export function slackProblemText(code: string, needed?: string): string | undefined {
  if (INSTALLATION_GONE.has(code))
    return "PMF Scout's access to this workspace was revoked or has expired: a workspace admin needs to reinstall the app (Slack app settings → Install App), then run the command again.";
  switch (code) {
    case 'missing_scope':
      return `PMF Scout is missing the Slack permission${needed ? ` \`${needed}\`` : ''} it needs for this: a workspace admin needs to reinstall the app to grant it.`;
    case 'not_in_channel':
      return "I'm not a member of this channel: invite me with `/invite @PMF Scout` and run the command again.";
    case 'channel_not_found':
      return "I can't see this channel: it is private and I'm not in it, or it was deleted. Invite me with `/invite @PMF Scout`, or use another channel.";
    case 'is_archived':
      return 'This channel is archived: unarchive it, or run the command in another channel.';
    case 'restricted_action':
    case 'cannot_post_in_channel':
      return 'A workspace or channel setting stops me posting here: ask a workspace admin to let PMF Scout post in this channel, or use another one.';
    case 'msg_too_long':
      return 'Slack refused a message as too long: that is our bug, please tell the PMF Scout operators.';
    case 'ekm_access_denied':
    case 'team_access_not_granted':
    case 'no_permission':
      return "An admin setting stops PMF Scout from posting in this workspace: ask a workspace admin to check the app's access.";
    default:
      return undefined;
  }
}

/** Slack errors no retry can fix: the channel or the installation is gone. */
export const PERMANENT_ERRORS = new Set([
  'channel_not_found',
  'is_archived',
  'account_inactive',
  'token_revoked',
  'invalid_auth',
  'not_in_channel',
  'team_access_not_granted',
  'no_permission',
  'missing_scope',
  'not_authed',
  'ekm_access_denied',
  'restricted_action',
  'cannot_post_in_channel',
  'thread_not_found',
]);

/** The research's thread cannot take any message: the report goes to the requester by DM instead. */
export const THREAD_UNREACHABLE = new Set([
  'channel_not_found',
  'is_archived',
  'not_in_channel',
  'restricted_action',
  'cannot_post_in_channel',
  'thread_not_found',
]);

/** Why a file share failed, as the thread notice says it. */
export function notSharedReason(code: string | undefined): string {
  if (code === 'not_in_channel')
    return "Slack only lets a channel's members share files, and I'm not a member of this channel (I could not join it myself).";
  if (code === 'missing_scope')
    return 'PMF Scout lacks the permission to upload files (`files:write`) in this workspace.';
  return `Slack refused the file (${code ?? 'unknown error'}).`;
}

/** Why the end did not show, for the requester: Slack's code in plain words, or the code itself. */
export function problemOf(error: unknown): string {
  const code = slackErrorCode(error);
  return (
    (code && slackProblemText(code, slackNeededScope(error))) ??
    `Slack refused my messages there (${code ?? 'no answer'}); if it keeps happening, tell the PMF Scout operators.`
  );
}
