// A fake Slack Socket Mode server, attached to the fake Web API (server.ts): `apps.connections.open` with an
// app-level token returns a one-time WebSocket URL on this server. It speaks the protocol of Slack's "Using
// Socket Mode" docs: `hello` on connect (with num_connections), envelopes ({envelope_id, type, payload,
// accepts_response_payload, retry_attempt, retry_reason}) acknowledged by envelope_id within ackTimeoutMs,
// re-sent with retry_attempt + 1 when they are not, `disconnect` messages with a reason (warning,
// refresh_requested, link_disabled) followed by a close, and WebSocket pings. Tests can also break a
// connection the way networks do: drop it abruptly, or leave it half-open (nothing in, nothing out).
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';

export type DisconnectReason = 'warning' | 'refresh_requested' | 'link_disabled';

export type SocketModeFakeOptions = {
  /** App-level token -> app id. Any other token is answered `invalid_auth` (an `xoxb-`/`xoxp-` one, `not_allowed_token_type`). */
  appTokens?: Record<string, string>;
  /** How long an envelope waits for its ack before Slack sends it again (Slack: 3 s). */
  ackTimeoutMs?: number;
  /** How often the server pings each connection (Slack pings every few seconds). */
  pingIntervalMs?: number;
};

export type FakeConnection = {
  id: number;
  appId: string;
  openedAt: number;
  closedAt?: number;
  /** Who ended it: the client (close frame or drop), the server (after a disconnect message), or a test. */
  closedBy?: 'client' | 'server' | 'dropped';
  /** The reason of the disconnect message it was sent, if any. */
  told?: DisconnectReason;
  halfOpen: boolean;
  /** Pongs the server received (the client answers pings). */
  pongs: number;
};

export type FakeEnvelope = {
  envelopeId: string;
  type: string;
  payload: Record<string, unknown>;
  /** When Slack had it to send (it waits while no connection is live). */
  createdAt: number;
  /** Each time it was sent: on which connection, when, with which retry_attempt. */
  sends: { connection: number; at: number; retryAttempt: number }[];
  ack?: { connection: number; at: number; payload?: unknown };
  /** Settled once acknowledged or out of retries. */
  done: Promise<FakeEnvelope>;
};

export type FakeSocketMode = {
  connections: FakeConnection[];
  envelopes: FakeEnvelope[];
  /** Connections that are open and have not been told to go. */
  live(): FakeConnection[];
  /**
   * Sends an envelope to a live connection, round-robin, as Slack does across an app's connections. With none
   * live it waits for one; unacknowledged, it is sent again after ackTimeoutMs up to `retries` times.
   */
  send(type: string, payload: Record<string, unknown>, opts?: { retries?: number }): FakeEnvelope;
  /** Sends `disconnect` with `reason` and closes the connection `closeAfterMs` later (Slack: a few seconds). */
  disconnect(id: number, reason: DisconnectReason, closeAfterMs?: number): void;
  /** Destroys the TCP connection without a close frame. */
  drop(id: number): void;
  /** Stops answering on the connection (pings unanswered, envelopes lost), as a dead NAT entry would. */
  halfOpen(id: number): void;
  /** Refuses `apps.connections.open` with `error` for `times` calls, after letting `skip` through. */
  failOpen(error: string, times?: number, skip?: number): void;
  /** Answers `apps.connections.open` for this token with `error` from now on (e.g. a revoked token). */
  revoke(token: string): void;
  waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs?: number): Promise<T>;
  close(): void;
};

type Live = { info: FakeConnection; ws: WebSocket; socket: Duplex };

/** The `apps.connections.open` answer for a token: a URL, or the error Slack gives. */
export type ConnectionsOpen = { ok: true; url: string } | { ok: false; error: string };

export function attachSocketMode(
  server: Server,
  /** ws://host:port of the server (known once it listens). */
  wsBase: () => string,
  opts: SocketModeFakeOptions,
): FakeSocketMode & { open(token: string | undefined): ConnectionsOpen } {
  const ackTimeoutMs = opts.ackTimeoutMs ?? 3000;
  const tokens = opts.appTokens ?? {};
  const wss = new WebSocketServer({ noServer: true, autoPong: false });
  const tickets = new Map<string, string>();
  const revoked = new Set<string>();
  const connections: FakeConnection[] = [];
  const envelopes: FakeEnvelope[] = [];
  const live = new Map<number, Live>();
  const waiting: (() => void)[] = [];
  let injected: { error: string; times: number; skip: number } | undefined;
  let nextId = 0;
  let turn = 0;

  function open(token: string | undefined): ConnectionsOpen {
    if (!token) return { ok: false, error: 'not_authed' };
    if (injected && injected.skip > 0) injected.skip -= 1;
    else if (injected && injected.times > 0) {
      injected.times -= 1;
      return { ok: false, error: injected.error };
    }
    if (/^xox[bpe]-/.test(token)) return { ok: false, error: 'not_allowed_token_type' };
    if (revoked.has(token)) return { ok: false, error: 'token_revoked' };
    const appId = tokens[token];
    if (!appId) return { ok: false, error: 'invalid_auth' };
    const ticket = randomUUID();
    tickets.set(ticket, appId);
    return { ok: true, url: `${wsBase()}/link/?ticket=${ticket}&app_id=${appId}` };
  }

  function eligible(): Live[] {
    return [...live.values()].filter((l) => !l.info.told && l.ws.readyState === WebSocket.OPEN);
  }

  function deliver(env: FakeEnvelope, retryAttempt: number, retries: number): void {
    const targets = eligible();
    if (!targets.length) {
      waiting.push(() => deliver(env, retryAttempt, retries));
      return;
    }
    const target = targets[turn++ % targets.length]!;
    env.sends.push({ connection: target.info.id, at: Date.now(), retryAttempt });
    // A half-open connection swallows what is sent to it: Slack cannot tell, and retries after the timeout.
    if (!target.info.halfOpen)
      target.ws.send(
        JSON.stringify({
          envelope_id: env.envelopeId,
          type: env.type,
          payload: env.payload,
          accepts_response_payload: env.type === 'slash_commands' || env.type === 'interactive',
          ...(env.type === 'events_api'
            ? { retry_attempt: retryAttempt, retry_reason: retryAttempt ? 'timeout' : '' }
            : {}),
        }),
      );
    setTimeout(() => {
      if (env.ack) return;
      if (retryAttempt < retries) deliver(env, retryAttempt + 1, retries);
      else settle(env);
    }, ackTimeoutMs).unref();
  }

  const settlers = new Map<string, (e: FakeEnvelope) => void>();
  function settle(env: FakeEnvelope) {
    settlers.get(env.envelopeId)?.(env);
    settlers.delete(env.envelopeId);
  }

  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer) {
    const url = new URL(req.url ?? '/', 'http://x');
    const ticket = url.searchParams.get('ticket') ?? '';
    const appId = tickets.get(ticket);
    if (!url.pathname.startsWith('/link') || !appId) {
      socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
      return;
    }
    tickets.delete(ticket); // a URL is good for one connection
    wss.handleUpgrade(req, socket, head, (ws) => {
      const info: FakeConnection = { id: ++nextId, appId, openedAt: Date.now(), halfOpen: false, pongs: 0 };
      connections.push(info);
      const entry: Live = { info, ws, socket };
      live.set(info.id, entry);
      const pinger = setInterval(() => {
        if (!info.halfOpen && ws.readyState === WebSocket.OPEN) ws.ping(`ping-${Date.now()}`);
      }, opts.pingIntervalMs ?? 5000).unref();
      ws.on('pong', () => (info.pongs += 1));
      // The client's own pings are answered by hand (autoPong is off) so a half-open connection can ignore them.
      ws.on('ping', (data) => {
        if (!info.halfOpen && ws.readyState === WebSocket.OPEN) ws.pong(data);
      });
      ws.on('message', (raw) => {
        if (info.halfOpen) return;
        const msg = safeParse(raw.toString());
        const env = msg && envelopes.find((e) => e.envelopeId === msg.envelope_id);
        if (!env || env.ack) return;
        env.ack = { connection: info.id, at: Date.now(), payload: msg.payload };
        settle(env);
      });
      ws.on('close', () => {
        clearInterval(pinger);
        live.delete(info.id);
        info.closedAt ??= Date.now();
        info.closedBy ??= 'client';
      });
      ws.send(
        JSON.stringify({
          type: 'hello',
          num_connections: live.size,
          debug_info: { host: `applink-fake-${info.id}`, build_number: 1, approximate_connection_time: 18060 },
          connection_info: { app_id: appId },
        }),
      );
      for (const resume of waiting.splice(0)) resume();
    });
  }
  server.on('upgrade', onUpgrade);

  const api: FakeSocketMode & { open(token: string | undefined): ConnectionsOpen } = {
    connections,
    envelopes,
    open,
    live: () => eligible().map((l) => l.info),
    send(type, payload, sendOpts = {}) {
      let resolve!: (e: FakeEnvelope) => void;
      const done = new Promise<FakeEnvelope>((r) => (resolve = r));
      const env: FakeEnvelope = { envelopeId: randomUUID(), type, payload, createdAt: Date.now(), sends: [], done };
      settlers.set(env.envelopeId, resolve);
      envelopes.push(env);
      deliver(env, 0, sendOpts.retries ?? (type === 'events_api' ? 3 : 0));
      return env;
    },
    disconnect(id, reason, closeAfterMs = 2000) {
      const entry = live.get(id);
      if (!entry) return;
      entry.info.told = reason;
      entry.ws.send(JSON.stringify({ type: 'disconnect', reason, debug_info: { host: `applink-fake-${id}` } }));
      setTimeout(() => {
        if (entry.ws.readyState !== WebSocket.OPEN) return;
        entry.info.closedAt = Date.now();
        entry.info.closedBy = 'server';
        entry.ws.close(1000);
      }, closeAfterMs).unref();
    },
    drop(id) {
      const entry = live.get(id);
      if (!entry) return;
      entry.info.closedAt = Date.now();
      entry.info.closedBy = 'dropped';
      entry.socket.destroy();
    },
    halfOpen(id) {
      const entry = live.get(id);
      if (!entry) return;
      // The server still reads, so it sees the client give up; the client sees nothing come back.
      entry.info.halfOpen = true;
    },
    failOpen(error, times = 1, skip = 0) {
      injected = { error, times, skip };
    },
    revoke: (token) => revoked.add(token),
    async waitFor(what, probe, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const value = probe();
        if (value) return value;
        if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    close() {
      server.off('upgrade', onUpgrade);
      for (const entry of live.values()) entry.socket.destroy();
      wss.close();
    },
  };
  return api;
}

function safeParse(text: string): { envelope_id?: string; payload?: unknown } | undefined {
  try {
    return JSON.parse(text) as { envelope_id?: string; payload?: unknown };
  } catch {
    return undefined;
  }
}
