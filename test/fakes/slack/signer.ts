// Builds and signs the requests Slack sends to an app in HTTP mode (v0 signatures), for tests and the bench.
import { createHmac, randomUUID } from 'node:crypto';

export function slackSignature(secret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

export function signedHeaders(
  secret: string,
  body: string,
  opts: { timestamp?: number; retryNum?: number } = {},
): Record<string, string> {
  const timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    'x-slack-request-timestamp': String(timestamp),
    'x-slack-signature': slackSignature(secret, timestamp, body),
  };
  if (opts.retryNum !== undefined) {
    headers['x-slack-retry-num'] = String(opts.retryNum);
    headers['x-slack-retry-reason'] = 'http_timeout';
  }
  return headers;
}

export type SlashCommand = {
  text: string;
  teamId?: string;
  teamDomain?: string;
  channelId?: string;
  userId?: string;
  userName?: string;
  triggerId?: string;
  responseUrl: string;
  command?: string;
};

export function slashCommandBody(c: SlashCommand): string {
  return new URLSearchParams({
    token: 'legacy-verification-token',
    team_id: c.teamId ?? 'T1',
    team_domain: c.teamDomain ?? 'fake',
    channel_id: c.channelId ?? 'C1',
    channel_name: 'product',
    user_id: c.userId ?? 'U0MARIA',
    user_name: c.userName ?? 'maria',
    command: c.command ?? '/pmf',
    text: c.text,
    api_app_id: 'A1',
    is_enterprise_install: 'false',
    response_url: c.responseUrl,
    trigger_id: c.triggerId ?? `${Date.now()}.${randomUUID()}`,
  }).toString();
}

export function blockActionBody(a: {
  teamId?: string;
  channelId?: string;
  userId: string;
  taskId: string;
  messageTs: string;
  threadTs?: string;
  responseUrl: string;
}): string {
  const payload = {
    type: 'block_actions',
    api_app_id: 'A1',
    token: 'legacy-verification-token',
    trigger_id: `${Date.now()}.${randomUUID()}`,
    team: { id: a.teamId ?? 'T1', domain: 'fake' },
    user: { id: a.userId, username: a.userId.toLowerCase(), team_id: a.teamId ?? 'T1' },
    channel: { id: a.channelId ?? 'C1', name: 'product' },
    container: {
      type: 'message',
      message_ts: a.messageTs,
      channel_id: a.channelId ?? 'C1',
      is_ephemeral: false,
      thread_ts: a.threadTs,
    },
    message: { ts: a.messageTs, thread_ts: a.threadTs, text: '' },
    response_url: a.responseUrl,
    actions: [
      {
        type: 'button',
        action_id: 'pmf_cancel',
        block_id: 'pmf_status_actions',
        value: a.taskId,
        action_ts: String(Date.now() / 1000),
      },
    ],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

/** POSTs a signed body; returns the HTTP status, the body and how long the answer took. */
export async function sendSigned(
  url: string,
  secret: string,
  body: string,
  opts: { timestamp?: number; retryNum?: number; signature?: string } = {},
): Promise<{ status: number; text: string; ms: number }> {
  const headers = signedHeaders(secret, body, opts);
  if (opts.signature) headers['x-slack-signature'] = opts.signature;
  const started = performance.now();
  const res = await fetch(url, { method: 'POST', headers, body });
  const text = await res.text();
  return { status: res.status, text, ms: performance.now() - started };
}
