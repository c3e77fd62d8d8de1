// A fake Discord for tests and benchmarks: the REST API under /api/v10 and a gateway WebSocket speaking
// Discord's JSON protocol, good enough for the real discord.js 14 client (`rest: { api: fake.apiUrl }`).
// It keeps every message and edit so tests can assert what a user would have seen, enforces the bot's
// channel permissions, expires interaction tokens on a clock the test controls, and answers with real
// rate-limit headers and 429s.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, WebSocket } from 'ws';
import {
  BOT_DEFAULT_PERMISSIONS,
  PERMISSIONS,
  buttonPayload,
  channelPayload,
  guildCreatePayload,
  readyPayload,
  slashCommandPayload,
  userPayload,
  type FakeChannel,
  type FakeGuild,
  type FakeUser,
  type InteractionContext,
  type InteractionPayload,
} from './payloads.js';
import { snowflake } from './snowflake.js';

export type FakeAttachment = {
  id: string;
  filename: string;
  size: number;
  content_type: string;
  url: string;
  proxy_url: string;
  data: Buffer;
};

export type FakeMessage = {
  id: string;
  channel_id: string;
  author: FakeUser;
  content: string;
  embeds: unknown[];
  components: unknown[];
  attachments: FakeAttachment[];
  flags: number;
  allowed_mentions?: unknown;
  message_reference?: { message_id: string; channel_id: string };
  nonce?: string;
  timestamp: string;
  edited_timestamp: string | null;
  /** Every body that created or edited this message, oldest first, with the route used. */
  history: { via: string; body: Record<string, unknown> }[];
  threadId?: string;
  /** Interaction responses made through the webhook. */
  interactionId?: string;
};

export type CallbackRecord = {
  interactionId: string;
  type: number;
  data: Record<string, unknown>;
  status: number;
  at: number;
};

export type RequestRecord = {
  method: string;
  path: string;
  route: string;
  status: number;
  body: unknown;
  auth: 'bot' | 'none';
};

type Interaction = {
  payload: InteractionPayload;
  createdAt: number;
  responded: boolean;
  ephemeral: boolean;
  originalMessageId?: string;
  callbacks: ((r: CallbackRecord) => void)[];
  callback?: CallbackRecord;
};

type Session = {
  id: string;
  seq: number;
  sent: { s: number; t: string; d: unknown }[];
  socket?: WebSocket;
  ended: boolean;
};

type Bucket = { limit: number; windowMs: number; used: number; resetAt: number };

export type FakeDiscordOptions = {
  token?: string;
  heartbeatIntervalMs?: number;
  /** How long an interaction token is accepted on webhook routes (Discord: 15 minutes). */
  interactionTokenLifetimeMs?: number;
  /** Default bucket size for routes with no `setRateLimit` (Discord does not publish them; tests choose). */
  defaultRateLimit?: { limit: number; windowMs: number };
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const unknownChannel = () => new HttpError(404, 10003, 'Unknown Channel');
const unknownMessage = () => new HttpError(404, 10008, 'Unknown Message');
const missingAccess = () => new HttpError(403, 50001, 'Missing Access');
const missingPermissions = () => new HttpError(403, 50013, 'Missing Permissions');

async function readBody(
  req: IncomingMessage,
): Promise<{ json: Record<string, unknown>; files: { name: string; filename: string; type: string; data: Buffer }[] }> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  const type = req.headers['content-type'] ?? '';
  if (raw.length === 0) return { json: {}, files: [] };
  if (type.startsWith('multipart/form-data')) {
    const form = await new Response(raw, { headers: { 'content-type': type } }).formData();
    const files: { name: string; filename: string; type: string; data: Buffer }[] = [];
    let json: Record<string, unknown> = {};
    for (const [name, value] of form.entries()) {
      if (name === 'payload_json' && typeof value === 'string') json = JSON.parse(value) as Record<string, unknown>;
      else if (typeof value !== 'string')
        files.push({ name, filename: value.name, type: value.type, data: Buffer.from(await value.arrayBuffer()) });
    }
    return { json, files };
  }
  return { json: JSON.parse(raw.toString('utf8')) as Record<string, unknown>, files: [] };
}

export class FakeDiscord {
  readonly token: string;
  readonly applicationId = snowflake();
  readonly botUser: FakeUser;
  apiUrl = '';
  gatewayUrl = '';
  readonly guilds = new Map<string, FakeGuild>();
  readonly channels = new Map<string, FakeChannel>();
  readonly users = new Map<string, FakeUser>();
  readonly messages = new Map<string, FakeMessage>();
  readonly interactions = new Map<string, Interaction>();
  private readonly interactionsByToken = new Map<string, Interaction>();
  readonly requests: RequestRecord[] = [];
  readonly commands = { global: [] as unknown[], guild: new Map<string, unknown[]>() };
  readonly gatewayStats = { connections: 0, identifies: 0, resumes: 0, heartbeats: 0 };
  interactionTokenLifetimeMs: number;
  private clockOffset = 0;
  private readonly server = createServer((req, res) => void this.handle(req, res));
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly sessions = new Map<string, Session>();
  private readonly buckets = new Map<string, Bucket>();
  private readonly routeLimits = new Map<string, { limit: number; windowMs: number }>();
  private readonly forced429 = new Map<string, { retryAfterMs: number; times: number }>();
  private deadWebhooks: 50027 | 10015 | undefined;
  private readonly forcedErrors = new Map<string, { status: number; code: number; message: string; times: number }>();
  private readonly defaultRateLimit: { limit: number; windowMs: number };
  private readonly heartbeatIntervalMs: number;
  private readonly listeners = new Set<() => void>();

  constructor(opts: FakeDiscordOptions = {}) {
    this.token = opts.token ?? `fake-bot-token-${randomUUID()}`;
    this.botUser = userPayload(snowflake(), 'PMF Scout', true);
    this.users.set(this.botUser.id, this.botUser);
    this.heartbeatIntervalMs = opts.heartbeatIntervalMs ?? 41_250;
    this.interactionTokenLifetimeMs = opts.interactionTokenLifetimeMs ?? 15 * 60_000;
    this.defaultRateLimit = opts.defaultRateLimit ?? { limit: 50, windowMs: 1000 };
    this.server.on('upgrade', (req, socket, head) => {
      if (!req.url?.startsWith('/gateway')) return socket.destroy();
      this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws));
    });
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.apiUrl = `http://127.0.0.1:${port}/api`;
    this.gatewayUrl = `ws://127.0.0.1:${port}/gateway`;
    return this;
  }

  async close(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---- the world -------------------------------------------------------------------------------------

  /** Simulated time: interaction deadlines and token lifetimes are measured on this clock. */
  now(): number {
    return Date.now() + this.clockOffset;
  }

  advanceClock(ms: number): void {
    this.clockOffset += ms;
  }

  addUser(username: string): FakeUser {
    const user = userPayload(snowflake(), username);
    this.users.set(user.id, user);
    return user;
  }

  addGuild(name = 'Test Guild'): FakeGuild {
    const owner = this.addUser(`${name} owner`);
    const id = snowflake();
    const channel = this.addChannel({ guildId: id, name: 'general' });
    const guild = { id, name, ownerId: owner.id, channelId: channel.id };
    this.guilds.set(id, guild);
    return guild;
  }

  addChannel(c: {
    guildId?: string;
    name?: string;
    type?: number;
    parentId?: string;
    botPermissions?: bigint;
  }): FakeChannel {
    const channel: FakeChannel = {
      id: snowflake(),
      type: c.type ?? (c.guildId ? 0 : 1),
      name: c.name ?? 'channel',
      ...(c.guildId ? { guildId: c.guildId } : {}),
      ...(c.parentId ? { parentId: c.parentId } : {}),
      botPermissions: c.botPermissions ?? BOT_DEFAULT_PERMISSIONS,
      deleted: false,
    };
    this.channels.set(channel.id, channel);
    return channel;
  }

  channel(id: string): FakeChannel {
    const c = this.channels.get(id);
    if (!c) throw new Error(`fake discord: no channel ${id}`);
    return c;
  }

  setBotPermissions(channelId: string, bits: bigint): void {
    this.channel(channelId).botPermissions = bits;
  }

  deleteChannel(channelId: string): void {
    this.channel(channelId).deleted = true;
  }

  channelMessages(channelId: string): FakeMessage[] {
    return [...this.messages.values()].filter((m) => m.channel_id === channelId);
  }

  message(id: string): FakeMessage {
    const m = this.messages.get(id);
    if (!m) throw new Error(`fake discord: no message ${id}`);
    return m;
  }

  /** A bucket per route template (e.g. `PATCH /channels/:id/messages/:id`) and major id. */
  setRateLimit(route: string, limit: { limit: number; windowMs: number }): void {
    this.routeLimits.set(route, limit);
  }

  /** The next `times` calls to `route` answer 429 with `retry_after` = retryAfterMs. */
  inject429(route: string, retryAfterMs: number, times = 1): void {
    this.forced429.set(route, { retryAfterMs, times });
  }

  /** Attachments over this many bytes in one message are refused (413 / 40005), as over a guild's upload limit. */
  uploadLimitBytes = 10 * 1024 * 1024;

  /** The next `times` calls to `route` fail with this Discord error (e.g. 403 / 50013 Missing Permissions). */
  /**
   * Makes every interaction webhook (the token's follow-up and @original routes) answer as a dead one does:
   * 50027 Invalid Webhook Token (401; a token revoked or expired) or 10015 Unknown Webhook (404; the
   * application's webhook is gone). Undefined restores them. The interaction callback is not affected.
   */
  setDeadWebhooks(code: 50027 | 10015 | undefined): void {
    this.deadWebhooks = code;
  }

  /** Users whose privacy settings refuse the bot's DMs: sending there answers 403 / 50007. */
  readonly refusesDms = new Set<string>();

  /** The DM channels the bot opened (POST /users/@me/channels), by recipient. */
  dmChannelOf(userId: string): FakeChannel | undefined {
    return [...this.channels.values()].find((c) => c.type === 1 && c.recipientId === userId);
  }

  injectError(route: string, error: { status: number; code: number; message: string }, times = 1): void {
    this.forcedErrors.set(route, { ...error, times });
  }

  /**
   * Resolves when `predicate` holds, re-checked after every request and gateway event and every 50 ms. An
   * async predicate is awaited (a pending promise is truthy, so it must never count as holding).
   */
  async waitFor<T>(
    predicate: () => T | undefined | false | Promise<T | undefined | false>,
    timeoutMs = 10_000,
    what = 'condition',
  ): Promise<T> {
    const now = await predicate();
    if (now) return now;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const check = () => {
        void Promise.resolve(predicate()).then(
          (v) => {
            if (v && !settled) {
              cleanup();
              resolve(v);
            }
          },
          (err: unknown) => {
            if (!settled) {
              cleanup();
              reject(err instanceof Error ? err : new Error(String(err)));
            }
          },
        );
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`fake discord: timed out waiting for ${what}`));
      }, timeoutMs);
      const poll = setInterval(check, 50);
      const cleanup = () => {
        settled = true;
        clearTimeout(timer);
        clearInterval(poll);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
    });
  }

  private changed(): void {
    for (const l of [...this.listeners]) l();
  }

  // ---- interactions ----------------------------------------------------------------------------------

  context(opts: { channel: FakeChannel; user: FakeUser; memberPermissions?: bigint }): InteractionContext {
    return {
      applicationId: this.applicationId,
      channel: opts.channel,
      user: opts.user,
      ...(opts.channel.guildId ? { guildId: opts.channel.guildId } : {}),
      ...(opts.memberPermissions !== undefined ? { memberPermissions: opts.memberPermissions } : {}),
    };
  }

  slashCommand(
    ctx: InteractionContext,
    subcommand: string,
    options: Record<string, string | undefined> = {},
  ): InteractionPayload {
    return slashCommandPayload(ctx, 'pmf', subcommand, options);
  }

  button(ctx: InteractionContext, customId: string, messageId: string): InteractionPayload {
    return buttonPayload(ctx, customId, this.messageJson(this.message(messageId)));
  }

  /**
   * Sends INTERACTION_CREATE to every connected bot session (or buffers it for a session that is away and
   * will resume) and resolves with the bot's callback. Dispatching the same payload again is how a test
   * simulates Discord delivering one interaction twice.
   */
  dispatchInteraction(payload: InteractionPayload): Promise<CallbackRecord> {
    let interaction = this.interactions.get(payload.id);
    if (!interaction) {
      interaction = { payload, createdAt: this.now(), responded: false, ephemeral: false, callbacks: [] };
      this.interactions.set(payload.id, interaction);
      this.interactionsByToken.set(payload.token, interaction);
    }
    const record = interaction;
    const result = record.callback
      ? Promise.resolve(record.callback)
      : new Promise<CallbackRecord>((resolve) => {
          record.callbacks.push(resolve);
        });
    this.dispatch('INTERACTION_CREATE', payload);
    return result;
  }

  /** The message an interaction's response became (`@original`). */
  originalMessage(interactionId: string): FakeMessage | undefined {
    const id = this.interactions.get(interactionId)?.originalMessageId;
    return id ? this.messages.get(id) : undefined;
  }

  /** Followups sent through an interaction's webhook, oldest first. */
  followups(interactionId: string): FakeMessage[] {
    const original = this.interactions.get(interactionId)?.originalMessageId;
    return [...this.messages.values()].filter((m) => m.interactionId === interactionId && m.id !== original);
  }

  // ---- gateway ---------------------------------------------------------------------------------------

  /** Closes every bot connection; the client resumes (codes 4000/1006) unless told otherwise by `code`. */
  dropGateway(opts: { code?: number; terminate?: boolean } = {}): void {
    for (const session of this.sessions.values()) {
      const ws = session.socket;
      session.socket = undefined;
      if (!ws) continue;
      if (opts.terminate) ws.terminate();
      else ws.close(opts.code ?? 4000, 'fake discord: dropped by the test');
    }
  }

  connectedSessions(): number {
    return [...this.sessions.values()].filter((s) => s.socket?.readyState === WebSocket.OPEN).length;
  }

  private dispatch(t: string, d: unknown): void {
    for (const session of this.sessions.values()) {
      if (session.ended) continue;
      this.sendDispatch(session, t, d);
    }
  }

  private sendDispatch(session: Session, t: string, d: unknown): void {
    const s = ++session.seq;
    session.sent.push({ s, t, d });
    if (session.socket?.readyState === WebSocket.OPEN) session.socket.send(JSON.stringify({ op: 0, t, s, d }));
  }

  private onConnection(ws: WebSocket): void {
    this.gatewayStats.connections++;
    ws.send(JSON.stringify({ op: 10, d: { heartbeat_interval: this.heartbeatIntervalMs }, s: null, t: null }));
    let session: Session | undefined;
    ws.on('message', (raw: Buffer) => {
      let msg: { op: number; d: unknown };
      try {
        msg = JSON.parse(raw.toString('utf8')) as { op: number; d: unknown };
      } catch {
        return ws.close(4002, 'Error while decoding payload.');
      }
      if (msg.op === 1) {
        this.gatewayStats.heartbeats++;
        ws.send(JSON.stringify({ op: 11, d: null, s: null, t: null }));
      } else if (msg.op === 2) {
        const d = msg.d as { token?: string };
        if (d.token !== this.token) return ws.close(4004, 'Authentication failed.');
        this.gatewayStats.identifies++;
        session = { id: randomUUID().replace(/-/g, ''), seq: 0, sent: [], socket: ws, ended: false };
        this.sessions.set(session.id, session);
        this.sendDispatch(
          session,
          'READY',
          readyPayload(this.botUser, this.applicationId, [...this.guilds.keys()], session.id, this.gatewayUrl),
        );
        for (const guild of this.guilds.values()) {
          const channels = [...this.channels.values()].filter((c) => c.guildId === guild.id);
          this.sendDispatch(session, 'GUILD_CREATE', guildCreatePayload(guild, this.botUser, channels));
        }
      } else if (msg.op === 6) {
        const d = msg.d as { token?: string; session_id?: string; seq?: number };
        const known = d.session_id ? this.sessions.get(d.session_id) : undefined;
        if (d.token !== this.token || !known || known.ended) {
          ws.send(JSON.stringify({ op: 9, d: false, s: null, t: null }));
          return;
        }
        this.gatewayStats.resumes++;
        session = known;
        session.socket = ws;
        for (const e of session.sent.filter((x) => x.s > (d.seq ?? 0)))
          ws.send(JSON.stringify({ op: 0, t: e.t, s: e.s, d: e.d }));
        this.sendDispatch(session, 'RESUMED', {});
      }
      this.changed();
    });
    ws.on('close', (code: number) => {
      if (!session) return;
      if (session.socket === ws) session.socket = undefined;
      // A clean close from the client ends the session (discord.js destroying its client); others may resume.
      if (code === 1000 || code === 1001) session.ended = true;
      this.changed();
    });
  }

  // ---- REST ------------------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    const path = decodeURIComponent(url.pathname).replace(/^\/api\/v\d+/, '');
    const route = path
      .replace(/\/webhooks\/(\d+)\/[^/]+/, '/webhooks/:id/:token')
      .replace(/\/interactions\/(\d+)\/[^/]+/, '/interactions/:id/:token')
      .replace(/\d{17,20}/g, ':id');
    const template = `${method} ${route}`;
    const isBotAuth = req.headers.authorization === `Bot ${this.token}`;
    let body: {
      json: Record<string, unknown>;
      files: { name: string; filename: string; type: string; data: Buffer }[];
    } = { json: {}, files: [] };
    const record: RequestRecord = {
      method,
      path,
      route: template,
      status: 0,
      body: undefined,
      auth: isBotAuth ? 'bot' : 'none',
    };
    this.requests.push(record);
    const send = (status: number, payload?: unknown, headers: Record<string, string> = {}) => {
      record.status = status;
      res.writeHead(status, { ...(payload === undefined ? {} : { 'content-type': 'application/json' }), ...headers });
      res.end(payload === undefined ? undefined : JSON.stringify(payload));
      this.changed();
    };
    try {
      body = await readBody(req);
      record.body = body.json;
      const usesWebhookAuth = route.startsWith('/interactions/') || route.startsWith('/webhooks/');
      if (!usesWebhookAuth && !isBotAuth) throw new HttpError(401, 0, '401: Unauthorized');
      const limited = this.rateLimit(template, path, usesWebhookAuth && route.startsWith('/interactions/'));
      if (limited.retryAfterMs !== undefined) {
        const retryAfter = limited.retryAfterMs / 1000;
        return send(
          429,
          { message: 'You are being rate limited.', retry_after: retryAfter, global: false },
          { ...limited.headers, 'retry-after': String(retryAfter), 'x-ratelimit-scope': 'user' },
        );
      }
      const forced = this.forcedErrors.get(template);
      if (forced && forced.times > 0) {
        forced.times--;
        throw new HttpError(forced.status, forced.code, forced.message);
      }
      const result = await this.route(method, route, path, url, body);
      send(result.status ?? (result.payload === undefined ? 204 : 200), result.payload, limited.headers);
    } catch (err) {
      if (err instanceof HttpError) return send(err.status, { message: err.message, code: err.code });
      send(500, { message: String(err), code: 0 });
    }
  }

  private rateLimit(
    template: string,
    path: string,
    burst: boolean,
  ): { headers: Record<string, string>; retryAfterMs?: number } {
    const forced = this.forced429.get(template);
    if (forced && forced.times > 0) {
      forced.times--;
      return {
        headers: {
          'x-ratelimit-limit': '1',
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset-after': String(forced.retryAfterMs / 1000),
          'x-ratelimit-bucket': this.bucketHash(template),
        },
        retryAfterMs: forced.retryAfterMs,
      };
    }
    if (burst) return { headers: {} };
    const major = /^\/(?:channels|guilds|webhooks)\/(\d+)/.exec(path)?.[1] ?? 'global';
    const key = `${template}|${major}`;
    const conf = this.routeLimits.get(template) ?? this.defaultRateLimit;
    const realNow = Date.now();
    let bucket = this.buckets.get(key);
    if (!bucket || bucket.resetAt <= realNow) {
      bucket = { ...conf, used: 0, resetAt: realNow + conf.windowMs };
      this.buckets.set(key, bucket);
    }
    const resetAfterMs = Math.max(0, bucket.resetAt - realNow);
    const headers = (remaining: number) => ({
      'x-ratelimit-limit': String(bucket.limit),
      'x-ratelimit-remaining': String(remaining),
      'x-ratelimit-reset': String(bucket.resetAt / 1000),
      'x-ratelimit-reset-after': String(resetAfterMs / 1000),
      'x-ratelimit-bucket': this.bucketHash(template),
    });
    if (bucket.used >= bucket.limit) return { headers: headers(0), retryAfterMs: resetAfterMs };
    bucket.used++;
    return { headers: headers(bucket.limit - bucket.used) };
  }

  private bucketHash(template: string): string {
    return Buffer.from(template).toString('base64url').slice(0, 32);
  }

  private async route(
    method: string,
    route: string,
    path: string,
    url: URL,
    body: { json: Record<string, unknown>; files: { name: string; filename: string; type: string; data: Buffer }[] },
  ): Promise<{ status?: number; payload?: unknown }> {
    const parts = path.split('/').filter(Boolean);
    const key = `${method} ${route}`;
    switch (key) {
      case 'GET /gateway':
        return { payload: { url: this.gatewayUrl } };
      case 'GET /gateway/bot':
        return {
          payload: {
            url: this.gatewayUrl,
            shards: 1,
            session_start_limit: { total: 1000, remaining: 999, reset_after: 86_400_000, max_concurrency: 1 },
          },
        };
      case 'GET /users/@me':
        return { payload: this.botUser };
      // The bot token's own application (discord.js Routes.currentApplication), as the start-up check reads it.
      case 'GET /applications/@me':
      case 'GET /oauth2/applications/@me':
        return { payload: { id: this.applicationId, name: this.botUser.username, bot_public: true, flags: 0 } };
      case 'PUT /applications/:id/commands':
        this.commands.global = this.withIds(body.json);
        return { payload: this.commands.global };
      case 'PUT /applications/:id/guilds/:id/commands':
        this.commands.guild.set(parts[3]!, this.withIds(body.json));
        return { payload: this.commands.guild.get(parts[3]!) };
      case 'POST /interactions/:id/:token/callback':
        return this.interactionCallback(parts[1]!, parts[2]!, body, url.searchParams.get('with_response') === 'true');
      case 'POST /webhooks/:id/:token':
        return { payload: this.messageJson(this.followup(parts[2]!, body)) };
      case 'GET /webhooks/:id/:token/messages/@original':
      case 'PATCH /webhooks/:id/:token/messages/@original':
      case 'DELETE /webhooks/:id/:token/messages/@original':
      case 'GET /webhooks/:id/:token/messages/:id':
      case 'PATCH /webhooks/:id/:token/messages/:id':
      case 'DELETE /webhooks/:id/:token/messages/:id':
        return this.webhookMessage(method, parts[2]!, parts[4]!, body);
      case 'POST /users/@me/channels':
        return { payload: channelPayload(this.openDm(body.json)) };
      case 'GET /channels/:id':
        return { payload: channelPayload(this.visibleChannel(parts[1]!)) };
      case 'POST /channels/:id/messages':
        return { payload: this.messageJson(this.createChannelMessage(parts[1]!, body)) };
      case 'GET /channels/:id/messages/:id':
        return { payload: this.messageJson(this.channelMessage(parts[1]!, parts[3]!)) };
      case 'PATCH /channels/:id/messages/:id':
        return { payload: this.messageJson(this.editChannelMessage(parts[1]!, parts[3]!, body)) };
      case 'POST /channels/:id/messages/:id/threads':
        return { status: 201, payload: channelPayload(this.startThread(parts[1]!, parts[3]!, body.json)) };
      default:
        throw new HttpError(404, 0, `404: Not Found (fake discord has no ${key})`);
    }
  }

  private withIds(json: unknown): unknown[] {
    const list = Array.isArray(json) ? (json as Record<string, unknown>[]) : [];
    return list.map((c) => ({ id: snowflake(), application_id: this.applicationId, version: snowflake(), ...c }));
  }

  private interactionFor(token: string): Interaction {
    if (this.deadWebhooks === 10015) throw new HttpError(404, 10015, 'Unknown Webhook');
    if (this.deadWebhooks === 50027) throw new HttpError(401, 50027, 'Invalid Webhook Token');
    const interaction = this.interactionsByToken.get(token);
    if (!interaction) throw new HttpError(401, 50027, 'Invalid Webhook Token');
    if (this.now() - interaction.createdAt > this.interactionTokenLifetimeMs)
      throw new HttpError(401, 50027, 'Invalid Webhook Token');
    return interaction;
  }

  private interactionCallback(
    id: string,
    token: string,
    body: { json: Record<string, unknown>; files: { name: string; filename: string; type: string; data: Buffer }[] },
    withResponse: boolean,
  ): { status?: number; payload?: unknown } {
    const interaction = this.interactions.get(id);
    if (!interaction || interaction.payload.token !== token) throw new HttpError(404, 10062, 'Unknown interaction');
    if (this.now() - interaction.createdAt > 3000) throw new HttpError(404, 10062, 'Unknown interaction');
    if (interaction.responded) throw new HttpError(400, 40060, 'Interaction has already been acknowledged.');
    interaction.responded = true;
    const type = Number(body.json.type);
    const data = (body.json.data ?? {}) as Record<string, unknown>;
    const flags = Number(data.flags ?? 0);
    interaction.ephemeral = (flags & 64) !== 0;
    let message: FakeMessage | undefined;
    // 4/5 create the response message; 6/7 (component update) act on the clicked message.
    if (type === 4 || type === 5) {
      message = this.newMessage(
        interaction.payload.channel_id,
        type === 5 ? { ...data, flags: flags | 128 } : data,
        body.files,
        'callback',
      );
      message.interactionId = id;
      interaction.originalMessageId = message.id;
    } else if (type === 7) {
      const clicked = (interaction.payload as { message?: { id: string } }).message;
      if (clicked) this.applyEdit(this.message(clicked.id), data, body.files, 'callback');
    }
    const record: CallbackRecord = {
      interactionId: id,
      type,
      data,
      status: withResponse ? 200 : 204,
      at: performance.now(),
    };
    interaction.callback = record;
    for (const resolve of interaction.callbacks.splice(0)) resolve(record);
    if (!withResponse) return {};
    return {
      payload: {
        interaction: { id, type: interaction.payload.type },
        ...(message ? { resource: { type, message: this.messageJson(message) } } : {}),
      },
    };
  }

  private followup(
    token: string,
    body: { json: Record<string, unknown>; files: { name: string; filename: string; type: string; data: Buffer }[] },
  ): FakeMessage {
    const interaction = this.interactionFor(token);
    if (!interaction.responded) throw new HttpError(404, 10015, 'Unknown Webhook');
    const message = this.newMessage(interaction.payload.channel_id, body.json, body.files, 'followup');
    message.interactionId = interaction.payload.id;
    return message;
  }

  private webhookMessage(
    method: string,
    token: string,
    messageRef: string,
    body: { json: Record<string, unknown>; files: { name: string; filename: string; type: string; data: Buffer }[] },
  ): { status?: number; payload?: unknown } {
    const interaction = this.interactionFor(token);
    const id = messageRef === '@original' ? interaction.originalMessageId : messageRef;
    const message = id ? this.messages.get(id) : undefined;
    if (!message || message.interactionId !== interaction.payload.id) throw unknownMessage();
    if (method === 'DELETE') {
      this.messages.delete(message.id);
      return {};
    }
    if (method === 'PATCH') this.applyEdit(message, body.json, body.files, 'webhook');
    return { payload: this.messageJson(message) };
  }

  private visibleChannel(id: string): FakeChannel {
    const channel = this.channels.get(id);
    if (!channel || channel.deleted) throw unknownChannel();
    const perms = this.permissionsIn(channel);
    if ((perms & PERMISSIONS.VIEW_CHANNEL) === 0n) throw missingAccess();
    return channel;
  }

  /** A thread inherits its parent's permissions, as it does in Discord. */
  private permissionsIn(channel: FakeChannel): bigint {
    if (channel.type === 11 && channel.parentId) {
      const parent = this.channels.get(channel.parentId);
      if (!parent || parent.deleted) throw unknownChannel();
      return parent.botPermissions;
    }
    return channel.botPermissions;
  }

  /** Create DM: Discord answers with the existing DM channel when there is one. */
  private openDm(json: Record<string, unknown>): FakeChannel {
    const recipient = typeof json.recipient_id === 'string' ? json.recipient_id : '';
    if (!/^\d{17,20}$/.test(recipient))
      throw new HttpError(400, 50035, 'Invalid Form Body: recipient_id is not snowflake.');
    const existing = this.dmChannelOf(recipient);
    if (existing) return existing;
    const dm = this.addChannel({ type: 1, name: '' });
    dm.recipientId = recipient;
    return dm;
  }

  private createChannelMessage(
    channelId: string,
    body: { json: Record<string, unknown>; files: { name: string; filename: string; type: string; data: Buffer }[] },
  ): FakeMessage {
    const channel = this.visibleChannel(channelId);
    const perms = this.permissionsIn(channel);
    if (channel.type === 1 && channel.recipientId && this.refusesDms.has(channel.recipientId))
      throw new HttpError(403, 50007, 'Cannot send messages to this user');
    const needed = channel.type === 11 ? PERMISSIONS.SEND_MESSAGES_IN_THREADS : PERMISSIONS.SEND_MESSAGES;
    if ((perms & needed) === 0n) throw missingPermissions();
    if (body.files.length > 0 && (perms & PERMISSIONS.ATTACH_FILES) === 0n) throw missingPermissions();
    // Discord refuses attachments over the guild's upload limit (by its boost tier) with 413 / 40005.
    if (body.files.reduce((n, f) => n + f.data.length, 0) > this.uploadLimitBytes)
      throw new HttpError(413, 40005, 'Request entity too large');
    const nonce = typeof body.json.nonce === 'string' ? body.json.nonce : undefined;
    if (nonce && body.json.enforce_nonce === true) {
      const same = this.channelMessages(channelId).find((m) => m.nonce === nonce);
      if (same) return same;
    }
    return this.newMessage(channelId, body.json, body.files, 'channel');
  }

  private channelMessage(channelId: string, messageId: string): FakeMessage {
    this.visibleChannel(channelId);
    const message = this.messages.get(messageId);
    // Ephemeral responses exist only for their recipient: the bot token cannot see them.
    if (!message || message.channel_id !== channelId || (message.flags & 64) !== 0) throw unknownMessage();
    return message;
  }

  private editChannelMessage(
    channelId: string,
    messageId: string,
    body: { json: Record<string, unknown>; files: { name: string; filename: string; type: string; data: Buffer }[] },
  ): FakeMessage {
    const message = this.channelMessage(channelId, messageId);
    if (message.author.id !== this.botUser.id)
      throw new HttpError(403, 50005, 'Cannot edit a message authored by another user');
    if (body.files.length > 0 && (this.permissionsIn(this.channel(channelId)) & PERMISSIONS.ATTACH_FILES) === 0n)
      throw missingPermissions();
    this.applyEdit(message, body.json, body.files, 'channel');
    return message;
  }

  private startThread(channelId: string, messageId: string, json: Record<string, unknown>): FakeChannel {
    const parent = this.visibleChannel(channelId);
    if (parent.type !== 0) throw new HttpError(400, 50024, 'Cannot execute action on this channel type');
    if ((parent.botPermissions & PERMISSIONS.CREATE_PUBLIC_THREADS) === 0n) throw missingPermissions();
    const message = this.channelMessage(channelId, messageId);
    if (message.threadId) throw new HttpError(400, 160004, 'A thread has already been created for this message');
    // Discord gives a message's thread the message's id.
    const thread: FakeChannel = {
      id: message.id,
      type: 11,
      name: String(json.name ?? 'thread').slice(0, 100),
      guildId: parent.guildId!,
      parentId: parent.id,
      botPermissions: parent.botPermissions,
      deleted: false,
      ownerId: this.botUser.id,
    };
    this.channels.set(thread.id, thread);
    message.threadId = thread.id;
    return thread;
  }

  private newMessage(
    channelId: string,
    json: Record<string, unknown>,
    files: { name: string; filename: string; type: string; data: Buffer }[],
    via: string,
  ): FakeMessage {
    const id = snowflake(this.now());
    const ref = json.message_reference as { message_id?: string } | undefined;
    const message: FakeMessage = {
      id,
      channel_id: channelId,
      author: this.botUser,
      content: '',
      embeds: [],
      components: [],
      attachments: [],
      flags: 0,
      timestamp: new Date(this.now()).toISOString(),
      edited_timestamp: null,
      history: [],
      ...(typeof json.nonce === 'string' ? { nonce: json.nonce } : {}),
      ...(ref?.message_id ? { message_reference: { message_id: ref.message_id, channel_id: channelId } } : {}),
    };
    this.messages.set(id, message);
    this.applyEdit(message, json, files, via, true);
    return message;
  }

  private applyEdit(
    message: FakeMessage,
    json: Record<string, unknown>,
    files: { name: string; filename: string; type: string; data: Buffer }[],
    via: string,
    creating = false,
  ): void {
    if (typeof json.content === 'string') {
      if (json.content.length > 2000)
        throw new HttpError(400, 50035, 'Invalid Form Body: content must be 2000 or fewer in length.');
      message.content = json.content;
    }
    if (Array.isArray(json.embeds)) {
      for (const e of json.embeds as { description?: string }[]) {
        if ((e.description?.length ?? 0) > 4096)
          throw new HttpError(400, 50035, 'Invalid Form Body: embeds.description must be 4096 or fewer in length.');
      }
      message.embeds = json.embeds;
    }
    if (Array.isArray(json.components)) message.components = json.components;
    if (typeof json.flags === 'number') message.flags = json.flags;
    if (json.allowed_mentions !== undefined) message.allowed_mentions = json.allowed_mentions;
    // An edit that names `attachments` keeps only those it names; new files come in as files[n].
    const kept = Array.isArray(json.attachments)
      ? message.attachments.filter((a) => (json.attachments as { id: unknown }[]).some((x) => String(x.id) === a.id))
      : message.attachments;
    const added = files.map((f) => {
      const aid = snowflake(this.now());
      return {
        id: aid,
        filename: f.filename,
        size: f.data.length,
        content_type: f.type,
        url: `${this.apiUrl}/attachments/${aid}/${f.filename}`,
        proxy_url: `${this.apiUrl}/attachments/${aid}/${f.filename}`,
        data: f.data,
      };
    });
    message.attachments = [...kept, ...added];
    if (!creating) {
      message.edited_timestamp = new Date(this.now()).toISOString();
      message.flags &= ~128; // editing a deferred response ends its "thinking…" state
    }
    message.history.push({ via, body: json });
  }

  messageJson(m: FakeMessage): Record<string, unknown> {
    return {
      id: m.id,
      type: m.message_reference ? 19 : 0,
      channel_id: m.channel_id,
      author: m.author,
      content: m.content,
      embeds: m.embeds,
      components: m.components,
      attachments: m.attachments.map(({ data: _data, ...a }) => a),
      flags: m.flags,
      timestamp: m.timestamp,
      edited_timestamp: m.edited_timestamp,
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      pinned: false,
      ...(m.interactionId ? { webhook_id: this.applicationId, application_id: this.applicationId } : {}),
      ...(m.message_reference ? { message_reference: m.message_reference } : {}),
      ...(m.nonce ? { nonce: m.nonce } : {}),
    };
  }
}

export async function startFakeDiscord(opts: FakeDiscordOptions = {}): Promise<FakeDiscord> {
  return new FakeDiscord(opts).listen();
}
