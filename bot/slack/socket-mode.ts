// Socket Mode without gaps (decision 066). Bolt's SocketModeReceiver keeps one SocketModeClient: on a
// `disconnect` message it closes the connection at once and opens the next one clientPingTimeout (5 s) later,
// and a dropped connection waits as long; a command sent in between is never acknowledged. Slack allows several
// connections per app and asks for a refresh routinely, so this receiver keeps the SDK's client for the
// protocol (hello, envelopes, acks, pings) but owns the connections' lives: on `warning`/`refresh_requested` it
// opens a new connection first and closes the old one once its envelopes are acknowledged; a connection that
// drops or stops answering pings is replaced at once, then with backoff while replacements fail.
import bolt from '@slack/bolt';
import type { SocketModeReceiverOptions } from '@slack/bolt';
import type { Logger as SlackLogger } from '@slack/logger';
import type { Logger } from '../../core/observability/logger.js';

const { LogLevel, SocketModeReceiver } = bolt;

type Client = InstanceType<typeof SocketModeReceiver>['client'];
type Opened = Awaited<ReturnType<InstanceType<typeof SocketModeReceiver>['start']>>;
type ClientOptions = {
  appToken: string;
  logger: SlackLogger;
  autoReconnectEnabled: boolean;
  clientPingTimeout: number;
  serverPingTimeout: number;
  clientOptions?: NonNullable<SocketModeReceiverOptions['installerOptions']>['clientOptions'];
};

/**
 * A connection that sent no pong for this long is taken for dead (the SDK pings every third of it). Slack's
 * edge answers in well under a second; a false alarm costs one replacement, a half-open socket costs every
 * command until it is noticed.
 */
const CLIENT_PING_TIMEOUT_MS = 1_000;
/** Slack pings every few seconds; this long without one means the connection is gone. */
const SERVER_PING_TIMEOUT_MS = 30_000;
/** Slack waits 3 s for an ack: a retiring connection is closed once its envelopes are acknowledged, or then. */
const RETIRE_WITHIN_MS = 3_000;
/** A replacement that has not said hello by then is abandoned and tried again. */
const CONNECT_TIMEOUT_MS = 10_000;
/** apps.connections.open answers that no retry can change: the app token itself is wrong. */
const TOKEN_ERRORS = new Set([
  'invalid_auth',
  'not_authed',
  'not_allowed_token_type',
  'token_revoked',
  'token_expired',
  'account_inactive',
  'missing_scope',
  'access_denied',
]);

export const LINK_DISABLED_LINE =
  'Slack: Socket Mode was turned off for this app (disconnect: link_disabled): turn it on under "Socket Mode" in the app settings, or use HTTP mode (README: "Set up Slack").';

export type SocketModeState = 'connecting' | 'connected' | 'reconnecting' | 'failed' | 'disabled' | 'stopped';

/** Wait before the nth consecutive failed replacement is tried again: at once, then doubling to 30 s. */
export function reconnectDelayMs(failures: number): number {
  return failures <= 0 ? 0 : Math.min(30_000, 250 * 2 ** (failures - 1));
}

/** The `reason` of a Socket Mode `disconnect` message, or undefined for any other frame. */
export function disconnectReason(frame: string): string | undefined {
  if (!frame.includes('"disconnect"')) return undefined;
  try {
    const msg = JSON.parse(frame) as { type?: unknown; reason?: unknown };
    return msg.type === 'disconnect' ? String(msg.reason ?? 'unknown') : undefined;
  } catch {
    return undefined;
  }
}

/** The Slack API error code carried by a Web API error (the SDK's error classes live in Bolt's own copy). */
export function slackErrorCode(err: unknown): string | undefined {
  const code = (err as { data?: { error?: unknown } } | undefined)?.data?.error;
  return typeof code === 'string' ? code : undefined;
}

type Link = { id: number; client: Client; state: 'connecting' | 'open' | 'retiring' | 'closed'; inFlight: Set<string> };

export type GaplessReceiverOptions = Omit<
  SocketModeReceiverOptions,
  'logger' | 'logLevel' | 'autoReconnectEnabled' | 'clientPingTimeout' | 'serverPingTimeout'
> & {
  logger: Logger;
  /** Told once when the app token is refused while replacing a connection (the SDK's error, with its code). */
  onTokenRefused?: (code: string) => void;
  /** Told once when Slack turns Socket Mode off for the app (`link_disabled`); defaults to an error log line. */
  onDisabled?: (line: string) => void;
  clientPingTimeoutMs?: number;
};

export class GaplessSocketModeReceiver extends SocketModeReceiver {
  private readonly links = new Set<Link>();
  private readonly log: Logger;
  private readonly clientOptions: ClientOptions;
  private readonly onTokenRefused?: (code: string) => void;
  private readonly onDisabled: (line: string) => void;
  private replacing = false;
  private failures = 0;
  private retryTimer?: NodeJS.Timeout;
  private stopping = false;
  private current: SocketModeState = 'connecting';
  private seq = 0;

  constructor(opts: GaplessReceiverOptions) {
    const logger = slackLogger(opts.logger);
    const clientPingTimeout = opts.clientPingTimeoutMs ?? CLIENT_PING_TIMEOUT_MS;
    // The first connection is the base receiver's own client: its `slack_event` listener hands envelopes to Bolt,
    // and every later connection forwards its envelopes to it.
    super({
      ...opts,
      logger,
      autoReconnectEnabled: false,
      clientPingTimeout,
      serverPingTimeout: SERVER_PING_TIMEOUT_MS,
    });
    this.log = opts.logger;
    this.onTokenRefused = opts.onTokenRefused;
    this.onDisabled = opts.onDisabled ?? ((line) => opts.logger.error(line));
    this.clientOptions = {
      appToken: opts.appToken,
      logger,
      autoReconnectEnabled: false,
      clientPingTimeout,
      serverPingTimeout: SERVER_PING_TIMEOUT_MS,
      // Replacements retry on our schedule, not the SDK's (100 retries of apps.connections.open).
      clientOptions: {
        ...opts.installerOptions?.clientOptions,
        retryConfig: { retries: 1, minTimeout: 100, maxTimeout: 500 },
      },
    };
    this.watch(this.client);
  }

  /** The connection's state, for /health. */
  state(): SocketModeState {
    return this.current;
  }

  /** Open connections (tests look at the overlap during a refresh). */
  openConnections(): number {
    return [...this.links].filter((l) => l.state === 'open' || l.state === 'retiring').length;
  }

  override async start(): Promise<Opened> {
    this.stopping = false;
    this.current = 'connecting';
    const first = [...this.links].find((l) => l.client === this.client)!;
    try {
      const opened = await super.start();
      first.state = 'open';
      this.current = 'connected';
      return opened;
    } catch (err) {
      first.state = 'closed';
      this.current = 'failed';
      throw err;
    }
  }

  override async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.retryTimer);
    await super.stop();
    await Promise.all([...this.links].map((l) => this.close(l, 1_000)));
    this.current = 'stopped';
  }

  private newClient(): Client {
    const Ctor = this.client.constructor as new (o: ClientOptions) => Client;
    const client = new Ctor(this.clientOptions);
    client.on('slack_event', (args: unknown) => this.client.emit('slack_event', args));
    return client;
  }

  /** Takes over the client's `disconnect` handling and tracks the envelopes it still has to acknowledge. */
  private watch(client: Client): Link {
    const link: Link = { id: ++this.seq, client, state: 'connecting', inFlight: new Set() };
    this.links.add(link);
    const [sdkHandler] = client.listeners('ws_message') as ((data: unknown, isBinary: boolean) => void)[];
    client.removeAllListeners('ws_message');
    client.on('ws_message', (data: unknown, isBinary: boolean) => {
      if (!isBinary && typeof data === 'string') {
        const reason = disconnectReason(data);
        if (reason) return this.told(link, reason);
        const envelope = /"envelope_id"\s*:\s*"([^"]+)"/.exec(data);
        if (envelope) link.inFlight.add(envelope[1]!);
      }
      sdkHandler?.(data, isBinary);
    });
    client.on('outgoing_message', (msg: { envelope_id?: string }) => {
      if (msg.envelope_id) link.inFlight.delete(msg.envelope_id);
    });
    client.on('close', () => this.closed(link));
    return link;
  }

  /** Slack sent `disconnect`: open the next connection first, then let this one go. */
  private told(link: Link, reason: string): void {
    this.log.info({ connection: link.id, reason }, 'Slack asked for a new Socket Mode connection');
    if (link.state === 'closed') return;
    if (reason === 'link_disabled') {
      this.current = 'disabled';
      for (const l of this.links) void this.close(l, 1_000);
      this.onDisabled(LINK_DISABLED_LINE);
      return;
    }
    link.state = 'retiring';
    this.replace();
  }

  private closed(link: Link): void {
    if (link.state === 'closed') return;
    const was = link.state;
    link.state = 'closed';
    this.links.delete(link);
    if (this.stopping || this.current === 'disabled' || this.current === 'failed' || was === 'connecting') return;
    if (![...this.links].some((l) => l.state === 'open')) {
      this.log.warn({ connection: link.id }, 'Slack Socket Mode connection lost; replacing it');
      this.current = 'reconnecting';
      this.replace();
    }
  }

  private replace(): void {
    if (this.stopping || this.replacing) return;
    this.replacing = true;
    this.retryTimer = setTimeout(() => void this.connect(), reconnectDelayMs(this.failures));
  }

  private async connect(): Promise<void> {
    if (this.stopping) {
      this.replacing = false;
      return;
    }
    const link = this.watch(this.newClient());
    try {
      await withTimeout(link.client.start(), CONNECT_TIMEOUT_MS);
      if (this.stopping) return void (await this.close(link, 1_000));
      link.state = 'open';
      this.failures = 0;
      this.current = 'connected';
      this.replacing = false;
      for (const old of this.links) if (old.state === 'retiring') void this.retire(old);
    } catch (err) {
      link.state = 'closed';
      this.links.delete(link);
      void link.client.disconnect().catch(() => undefined);
      this.replacing = false;
      const code = slackErrorCode(err);
      if (code && TOKEN_ERRORS.has(code)) {
        this.current = 'failed';
        this.onTokenRefused?.(code);
        return;
      }
      this.failures += 1;
      this.log.warn(
        { err: String(err), attempt: this.failures, retryInMs: reconnectDelayMs(this.failures) },
        'Slack Socket Mode connection not opened; trying again',
      );
      this.replace();
    }
  }

  /** Closes a connection once the envelopes it received are acknowledged (they must be acked on it). */
  private async retire(link: Link): Promise<void> {
    const until = Date.now() + RETIRE_WITHIN_MS;
    while (link.inFlight.size > 0 && Date.now() < until && link.state === 'retiring')
      await new Promise((r) => setTimeout(r, 20));
    await this.close(link, 1_000);
  }

  private async close(link: Link, withinMs: number): Promise<void> {
    // Marked closed first, so its `close` event is not taken for a lost connection.
    if (link.state === 'closed') return;
    link.state = 'closed';
    this.links.delete(link);
    await withTimeout(link.client.disconnect(), withinMs).catch(() => undefined);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** The SDK's logger interface on ours, at debug: the receiver logs what an operator needs itself. */
function slackLogger(logger: Logger): SlackLogger {
  const child = logger.child({ component: 'socket-mode' });
  const write = (...msg: unknown[]) => child.debug(msg.map(String).join(' '));
  return {
    debug: write,
    info: write,
    warn: write,
    error: write,
    setLevel: () => undefined,
    getLevel: () => LogLevel.INFO,
    setName: () => undefined,
  };
}
