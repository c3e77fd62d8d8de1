// A fake Slack Web API on an ephemeral port: the real @slack/web-api and Bolt talk to it through
// `slackApiUrl`. It records every call, keeps the messages it was asked to post (with their edit history),
// receives file uploads and response_url posts, and rate-limits chat.update per workspace the way Slack's
// Tier 3 does (a 429 with Retry-After once a workspace exceeds the window).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { attachSocketMode, type FakeSocketMode, type SocketModeFakeOptions } from './socket-mode.js';

export type FakeCall = {
  method: string;
  args: Record<string, unknown>;
  token?: string;
  teamId?: string;
  at: number;
  status: number;
  error?: string;
};

export type FakeMessage = {
  channel: string;
  ts: string;
  threadTs?: string;
  text: string;
  blocks: unknown[];
  /** Every version after the first, oldest first (each chat.update). */
  edits: { text: string; blocks: unknown[]; at: number }[];
  file?: { id: string; filename: string; title?: string; content: string };
  teamId: string;
};

export type FakeTeam = {
  teamId: string;
  botUserId: string;
  botId: string;
  admins?: string[];
  /** The bot token's scopes; every scope when unset. A method needing one it lacks answers `missing_scope`. */
  scopes?: string[];
};

/**
 * A channel as the bot sees it. Channels the fake was not told about are public and the bot is a member.
 * A public channel the bot is not in still takes chat.postMessage (chat:write.public), but a file can only be
 * shared where the bot is a member (`not_in_channel`); a private one answers `channel_not_found` to a
 * non-member, and conversations.join cannot enter it.
 */
export type FakeChannel = { private?: boolean; member?: boolean; archived?: boolean };

/** What an injected failure answers: a Slack error, a 429 with Retry-After, or an HTTP status (5xx). */
export type FakeFailure = string | { retryAfter: number } | { status: number; delayMs?: number };

export type FakeSlackOptions = {
  /** Bot token -> team. Unknown tokens get `invalid_auth`. */
  teams?: Record<string, FakeTeam>;
  /** chat.update requests a workspace may make per window before 429s (Slack Tier 3: ~50 a minute). */
  updateLimit?: { limit: number; windowMs: number };
  /** Latency added to every Web API answer, to make races visible. */
  latencyMs?: number;
  /** Socket Mode: the app-level tokens `apps.connections.open` accepts, and the server's timings. */
  socketMode?: SocketModeFakeOptions;
};

export const DEFAULT_TOKEN = 'xoxb-fake-T1';
export const DEFAULT_TEAM: FakeTeam = { teamId: 'T1', botUserId: 'UBOT', botId: 'BBOT', admins: ['U0ADMIN'] };

export type FakeSlack = {
  url: string;
  /** Base for `slackApiUrl` (ends with `/api/`). */
  apiUrl: string;
  calls: FakeCall[];
  messages: FakeMessage[];
  responses: { id: string; body: Record<string, unknown>; at: number }[];
  /** 429 answers sent so far, by method. */
  rateLimited: Record<string, number>;
  /** Make every call naming this channel fail with `error` (e.g. not_in_channel, channel_not_found, is_archived). */
  setChannelError(channel: string, error: string | undefined): void;
  /**
   * Fail the next `times` calls of `method` (only those naming `channel`, when given) with a Slack error, a
   * 429 (`{ retryAfter }`) or an HTTP status (`{ status: 500 }`). `times: Infinity` until cleared with `clearFailures`.
   */
  failNext(method: string, failure: FakeFailure, times?: number, channel?: string): void;
  clearFailures(): void;
  /** How the bot sees a channel (membership, private, archived). */
  setChannel(channel: string, state: FakeChannel): void;
  /** Channels the bot joined with conversations.join. */
  joined: string[];
  revokeToken(token: string): void;
  /** The scopes a token's team has from now on (undefined: every scope). */
  setScopes(token: string, scopes: string[] | undefined): void;
  /** A response_url this fake accepts. */
  responseUrl(id: string): string;
  callsOf(method: string): FakeCall[];
  thread(channel: string, threadTs: string): FakeMessage[];
  message(channel: string, ts: string): FakeMessage | undefined;
  /** The Socket Mode server behind `apps.connections.open` (socket-mode.ts). */
  socketMode: FakeSocketMode;
  close(): Promise<void>;
};

const JSON_FIELDS = new Set(['blocks', 'attachments', 'files', 'metadata']);

/** The bot scope each method needs (Slack's method reference); checked only for teams given `scopes`. */
const SCOPES: Record<string, string> = {
  'chat.postMessage': 'chat:write',
  'chat.update': 'chat:write',
  'chat.postEphemeral': 'chat:write',
  'files.getUploadURLExternal': 'files:write',
  'files.completeUploadExternal': 'files:write',
  'conversations.join': 'channels:join',
  'users.info': 'users:read',
};

export async function startFakeSlack(opts: FakeSlackOptions = {}): Promise<FakeSlack> {
  const teams = opts.teams ?? { [DEFAULT_TOKEN]: DEFAULT_TEAM };
  const updateLimit = opts.updateLimit ?? { limit: 50, windowMs: 60_000 };
  const calls: FakeCall[] = [];
  const messages: FakeMessage[] = [];
  const responses: FakeSlack['responses'] = [];
  const rateLimited: Record<string, number> = {};
  const channelErrors = new Map<string, string>();
  const failures: { method: string; channel?: string; failure: FakeFailure; times: number }[] = [];
  const channels = new Map<string, FakeChannel>();
  const joined: string[] = [];
  const revoked = new Set<string>();
  const updateTimes = new Map<string, number[]>();
  const uploads = new Map<string, { filename: string; length: number; teamId: string; content?: string }>();
  const clock = 1_700_000_000;
  let seq = 0;
  let fileSeq = 0;
  let base = '';

  const nextTs = () => `${clock + Math.floor(seq / 1000)}.${String(++seq % 1_000_000).padStart(6, '0')}`;

  function ok(res: ServerResponse, body: Record<string, unknown>, status = 200, headers: Record<string, string> = {}) {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  }

  async function readBody(req: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  function parseArgs(req: IncomingMessage, raw: Buffer): Record<string, unknown> {
    const type = req.headers['content-type'] ?? '';
    if (type.includes('application/json'))
      return raw.length ? (JSON.parse(raw.toString('utf8')) as Record<string, unknown>) : {};
    const args: Record<string, unknown> = {};
    for (const [k, v] of new URLSearchParams(raw.toString('utf8'))) {
      args[k] = JSON_FIELDS.has(k) ? safeJson(v) : v;
    }
    return args;
  }

  /** Over the window? Records the attempt only when it is let through, as Slack counts served calls. */
  function overLimit(teamId: string): number | undefined {
    const now = Date.now();
    const times = (updateTimes.get(teamId) ?? []).filter((t) => t > now - updateLimit.windowMs);
    updateTimes.set(teamId, times);
    if (times.length >= updateLimit.limit)
      return Math.max(1, Math.ceil((times[0]! + updateLimit.windowMs - now) / 1000));
    times.push(now);
    return undefined;
  }

  function findMessage(channel: string, ts: string) {
    return messages.find((m) => m.channel === channel && m.ts === ts);
  }

  async function api(method: string, req: IncomingMessage, res: ServerResponse, raw: Buffer) {
    const args = parseArgs(req, raw);
    const auth =
      req.headers.authorization?.replace(/^Bearer /, '') ?? (typeof args.token === 'string' ? args.token : undefined);
    const team = auth ? teams[auth] : undefined;
    const call: FakeCall = { method, args, token: auth, teamId: team?.teamId, at: Date.now(), status: 200 };
    calls.push(call);
    if (opts.latencyMs) await new Promise((r) => setTimeout(r, opts.latencyMs));
    const fail = (error: string, extra: Record<string, unknown> = {}) => {
      call.error = error;
      ok(res, { ok: false, error, ...extra });
    };
    if (method === 'apps.connections.open') {
      const opened = socketMode.open(auth);
      return opened.ok ? ok(res, opened) : fail(opened.error);
    }
    if (!auth || !team) return fail('invalid_auth');
    if (revoked.has(auth)) return fail('token_revoked');

    const channel =
      typeof args.channel === 'string'
        ? args.channel
        : typeof args.channel_id === 'string'
          ? args.channel_id
          : undefined;
    const injected = failures.find(
      (f) => f.method === method && f.times > 0 && (f.channel === undefined || f.channel === channel),
    );
    if (injected) {
      injected.times -= 1;
      const failure = injected.failure;
      if (typeof failure === 'string') return fail(failure);
      if ('status' in failure) {
        // A struggling Slack is slow before it fails.
        if (failure.delayMs) await new Promise((r) => setTimeout(r, failure.delayMs));
        call.status = failure.status;
        call.error = `http_${failure.status}`;
        res.writeHead(failure.status, { 'content-type': 'text/html' });
        return res.end('<html><body>Slack is having trouble</body></html>');
      }
      call.status = 429;
      call.error = 'ratelimited';
      rateLimited[method] = (rateLimited[method] ?? 0) + 1;
      return ok(res, { ok: false, error: 'ratelimited' }, 429, { 'retry-after': String(failure.retryAfter) });
    }
    const needs = SCOPES[method];
    if (needs && team.scopes && !team.scopes.includes(needs))
      return fail('missing_scope', { needed: needs, provided: team.scopes.join(',') });
    const channelError = channel ? channelErrors.get(channel) : undefined;
    if (channelError && method !== 'auth.test' && method !== 'users.info') return fail(channelError);
    const state = channel ? channels.get(channel) : undefined;
    if (state && channel && !channel.startsWith('U') && !channel.startsWith('D')) {
      if (state.private && !state.member) return fail('channel_not_found');
      if (state.archived && method !== 'conversations.join') return fail('is_archived');
      if (!state.member && method === 'files.completeUploadExternal') return fail('not_in_channel');
    }

    const str = (k: string) => (typeof args[k] === 'string' ? (args[k] as string) : undefined);
    switch (method) {
      case 'auth.test':
        return ok(res, {
          ok: true,
          url: 'https://fake.slack.test/',
          team: 'Fake',
          user: 'pmf-scout',
          team_id: team.teamId,
          user_id: team.botUserId,
          bot_id: team.botId,
        });
      case 'users.info': {
        const user = str('user') ?? '';
        const admin = (team.admins ?? []).includes(user);
        return ok(res, {
          ok: true,
          user: {
            id: user,
            team_id: team.teamId,
            name: user.toLowerCase(),
            is_admin: admin,
            is_owner: false,
            is_bot: false,
          },
        });
      }
      case 'chat.postMessage': {
        if (!channel) return fail('channel_not_found');
        const threadTs = str('thread_ts');
        if (threadTs && !findMessage(channel, threadTs)) return fail('thread_not_found');
        const message: FakeMessage = {
          channel,
          ts: nextTs(),
          threadTs,
          text: str('text') ?? '',
          blocks: asArray(args.blocks),
          edits: [],
          teamId: team.teamId,
        };
        messages.push(message);
        return ok(res, {
          ok: true,
          channel,
          ts: message.ts,
          message: { text: message.text, ts: message.ts, thread_ts: threadTs },
        });
      }
      case 'conversations.join': {
        if (!channel) return fail('channel_not_found');
        if (state?.archived) return fail('is_archived');
        const warning = state?.member === false ? undefined : 'already_in_channel';
        channels.set(channel, { ...state, member: true });
        joined.push(channel);
        return ok(res, {
          ok: true,
          channel: { id: channel, is_channel: true, is_private: false, is_member: true },
          ...(warning ? { warning, response_metadata: { warnings: [warning] } } : {}),
        });
      }
      case 'chat.postEphemeral': {
        if (!channel) return fail('channel_not_found');
        return ok(res, { ok: true, message_ts: nextTs() });
      }
      case 'chat.update': {
        const wait = overLimit(team.teamId);
        if (wait !== undefined) {
          call.status = 429;
          call.error = 'ratelimited';
          rateLimited[method] = (rateLimited[method] ?? 0) + 1;
          return ok(res, { ok: false, error: 'ratelimited' }, 429, { 'retry-after': String(wait) });
        }
        const message = channel ? findMessage(channel, str('ts') ?? '') : undefined;
        if (!message) return fail('message_not_found');
        message.edits.push({ text: str('text') ?? '', blocks: asArray(args.blocks), at: Date.now() });
        return ok(res, { ok: true, channel, ts: message.ts, text: str('text') ?? '' });
      }
      case 'files.getUploadURLExternal': {
        const filename = str('filename');
        const length = Number(str('length') ?? args.length);
        if (!filename || !Number.isFinite(length)) return fail('invalid_arguments');
        const id = `F${String(++fileSeq).padStart(6, '0')}`;
        uploads.set(id, { filename, length, teamId: team.teamId });
        return ok(res, { ok: true, upload_url: `${base}/upload/${id}`, file_id: id });
      }
      case 'files.completeUploadExternal': {
        const files = asArray(args.files) as { id?: string; title?: string }[];
        const done = [];
        for (const f of files) {
          const upload = f.id ? uploads.get(f.id) : undefined;
          if (!upload || upload.content === undefined) return fail('file_not_found');
          if (channel) {
            const threadTs = str('thread_ts');
            if (threadTs && !findMessage(channel, threadTs)) return fail('thread_not_found');
            messages.push({
              channel,
              ts: nextTs(),
              threadTs,
              text: str('initial_comment') ?? '',
              blocks: [],
              edits: [],
              teamId: team.teamId,
              file: { id: f.id!, filename: upload.filename, title: f.title, content: upload.content },
            });
          }
          done.push({ id: f.id, title: f.title ?? upload.filename, name: upload.filename });
        }
        return ok(res, { ok: true, files: done });
      }
      default:
        return fail('unknown_method');
    }
  }

  const server: Server = createServer((req, res) => {
    void (async () => {
      const raw = await readBody(req);
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path.startsWith('/api/')) return api(path.slice(5), req, res, raw);
      if (path.startsWith('/upload/')) {
        const upload = uploads.get(path.slice(8));
        if (!upload) return ok(res, { ok: false }, 404);
        upload.content = uploadedContent(req.headers['content-type'] ?? '', raw);
        res.writeHead(200, { 'content-type': 'text/plain' });
        return res.end(`OK - ${raw.length}`);
      }
      if (path.startsWith('/response/')) {
        const body = parseArgs(req, raw);
        responses.push({ id: path.slice(10), body, at: Date.now() });
        res.writeHead(200, { 'content-type': 'text/plain' });
        return res.end('ok');
      }
      return ok(res, { ok: false, error: 'not_found' }, 404);
    })().catch((error: unknown) => {
      if (!res.headersSent) ok(res, { ok: false, error: String(error) }, 500);
    });
  });
  server.keepAliveTimeout = 1000;
  const socketMode = attachSocketMode(server, () => base.replace(/^http/, 'ws'), opts.socketMode ?? {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: base,
    apiUrl: `${base}/api/`,
    calls,
    messages,
    responses,
    rateLimited,
    setChannelError: (c, e) => (e ? channelErrors.set(c, e) : channelErrors.delete(c)),
    failNext: (method, failure, times = 1, channel) => failures.unshift({ method, failure, times, channel }),
    clearFailures: () => failures.splice(0),
    setChannel: (c, state) => channels.set(c, state),
    joined,
    revokeToken: (t) => revoked.add(t),
    setScopes: (token, scopes) => {
      const team = teams[token];
      if (team) team.scopes = scopes;
    },
    responseUrl: (id) => `${base}/response/${id}`,
    callsOf: (method) => calls.filter((c) => c.method === method),
    thread: (channel, threadTs) => messages.filter((m) => m.channel === channel && m.threadTs === threadTs),
    message: findMessage,
    socketMode,
    close: () =>
      new Promise<void>((resolve) => {
        socketMode.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The file bytes of an upload: the raw body, or the file part of a multipart form (what @slack/web-api sends). */
function uploadedContent(contentType: string, raw: Buffer): string {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  const marker = boundary?.[1] ?? boundary?.[2];
  if (!contentType.startsWith('multipart/') || !marker) return raw.toString('utf8');
  for (const part of raw.toString('utf8').split(`--${marker}`)) {
    const split = part.indexOf('\r\n\r\n');
    if (split < 0) continue;
    const head = part.slice(0, split);
    if (/filename=|name="file"/i.test(head)) return part.slice(split + 4).replace(/\r\n$/, '');
  }
  return '';
}

function safeJson(v: string): unknown {
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
