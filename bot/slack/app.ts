// The Slack app: `/pmf` and the Cancel button on Bolt 5, in HTTP mode or Socket Mode.
// This is the front door: every listener acks first, with nothing but parsing (Slack gives us 3 s and storage
// can be slow), then hands the work over (work.ts), which answers ephemerally. See decision 051.
import type { IncomingMessage, ServerResponse } from 'node:http';
import bolt from '@slack/bolt';
import type { App as BoltApp, AppOptions, InstallationStore } from '@slack/bolt';
import type { Env } from '../../core/config/index.js';
import type { Logger } from '../../core/observability/logger.js';
import { metrics } from '../../core/observability/metrics.js';
import { parseCommand } from '../commands/parse.js';
import { slackApiUrlOption } from './client.js';
import { CANCEL_ACTION_ID, errorText, esc, helpText } from './render.js';
import { GaplessSocketModeReceiver } from './socket-mode.js';
import type { SlackWork } from './work.js';

const { App, LogLevel } = bolt;

export type SlackAppEnv = Pick<
  Env,
  | 'SLACK_BOT_TOKEN'
  | 'SLACK_APP_TOKEN'
  | 'SLACK_SIGNING_SECRET'
  | 'SLACK_CLIENT_ID'
  | 'SLACK_CLIENT_SECRET'
  | 'SLACK_STATE_SECRET'
  | 'SLACK_API_URL'
  | 'SLACK_MODE'
  | 'SLACK_PORT'
>;

export type SlackAppDeps = {
  env: SlackAppEnv;
  logger: Logger;
  /** OAuth distribution: where installations live (createPgInstallationStore). Unused in single-token mode. */
  installationStore?: InstallationStore;
  /**
   * Takes acknowledged work and returns at once: bot/work-thread.ts in the bot process (the work runs on
   * another thread, so it cannot delay the next ack; decision 051), createSlackWork in tests.
   */
  dispatch: (work: SlackWork) => void;
  /** Socket Mode: the receiver that keeps the connections (socketModeReceiver); one is made when absent. */
  receiver?: GaplessSocketModeReceiver;
};

export function slackMode(env: Pick<Env, 'SLACK_MODE' | 'SLACK_APP_TOKEN'>): 'socket' | 'http' {
  return env.SLACK_MODE ?? (env.SLACK_APP_TOKEN ? 'socket' : 'http');
}

/** Bolt options for the configured mode and installation style; pure so it can be checked without a server. */
export function boltOptions(env: SlackAppEnv, installationStore?: InstallationStore): AppOptions {
  const clientOptions = slackApiUrlOption(env.SLACK_API_URL);
  const socket = slackMode(env) === 'socket';
  const options: AppOptions = { clientOptions, logLevel: LogLevel.ERROR };
  if (socket) {
    if (!env.SLACK_APP_TOKEN) throw new Error('Socket Mode needs SLACK_APP_TOKEN (xapp-…)');
    // The Socket Mode receiver builds its own client (apps.connections.open) from the installer's options.
    Object.assign(options, { socketMode: true, appToken: env.SLACK_APP_TOKEN, installerOptions: { clientOptions } });
  } else {
    if (!env.SLACK_SIGNING_SECRET) throw new Error('HTTP mode needs SLACK_SIGNING_SECRET');
    Object.assign(options, {
      signingSecret: env.SLACK_SIGNING_SECRET,
      endpoints: '/slack/events',
      port: env.SLACK_PORT,
    });
  }
  if (env.SLACK_BOT_TOKEN) {
    options.token = env.SLACK_BOT_TOKEN;
  } else if (env.SLACK_CLIENT_ID && env.SLACK_CLIENT_SECRET && installationStore) {
    Object.assign(options, {
      clientId: env.SLACK_CLIENT_ID,
      clientSecret: env.SLACK_CLIENT_SECRET,
      stateSecret: env.SLACK_STATE_SECRET,
      scopes: ['commands', 'chat:write', 'chat:write.public', 'channels:join', 'files:write', 'users:read'],
      installationStore,
      installerOptions: { ...(options.installerOptions ?? {}), clientOptions, directInstall: true },
    });
  } else {
    throw new Error(
      'Slack needs SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID + SLACK_CLIENT_SECRET with an installation store (OAuth)',
    );
  }
  return options;
}

/**
 * The Socket Mode receiver for these options: Bolt's own, with connections that are replaced before they are
 * closed (socket-mode.ts, decision 066). Kept by the caller to read the connection's state.
 */
export function socketModeReceiver(
  options: AppOptions,
  logger: Logger,
  on: { tokenRefused?: (code: string) => void; disabled?: (line: string) => void } = {},
): GaplessSocketModeReceiver {
  return new GaplessSocketModeReceiver({
    appToken: options.appToken!,
    logger,
    onTokenRefused: on.tokenRefused,
    onDisabled: on.disabled,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    stateSecret: options.stateSecret,
    installationStore: options.installationStore,
    scopes: options.scopes,
    installerOptions: options.installerOptions,
  });
}

/** Slack's replay window: a request signed further from now than this, in either direction, is refused. */
const SIGNATURE_WINDOW_SECONDS = 5 * 60;

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Bolt refuses a signed request older than five minutes but accepts one dated in the future, which a captured
 * request replayed later, or a signer with a skewed clock, can carry. This answers 401 and nothing else to a
 * Slack request whose timestamp is off by more than the window either way, before Bolt sees it.
 */
function refuseSkewedTimestamps(inner: RequestListener, now = () => Date.now()): RequestListener {
  return (req, res) => {
    const header = req.headers['x-slack-request-timestamp'];
    const stamp = Number(Array.isArray(header) ? header[0] : header);
    if (
      header !== undefined &&
      (!Number.isFinite(stamp) || Math.abs(now() / 1000 - stamp) > SIGNATURE_WINDOW_SECONDS)
    ) {
      req.resume();
      res.writeHead(401).end();
      return;
    }
    inner(req, res);
  };
}

export function createSlackApp(deps: SlackAppDeps): BoltApp {
  const options = boltOptions(deps.env, deps.installationStore);
  if (options.socketMode) options.receiver = deps.receiver ?? socketModeReceiver(options, deps.logger);
  const app = new App(options);
  // HTTP mode: Bolt's HTTPReceiver serves every request through its `requestListener`; the guard goes first.
  const receiver = (app as unknown as { receiver?: { requestListener?: RequestListener } }).receiver;
  if (slackMode(deps.env) === 'http' && receiver?.requestListener)
    receiver.requestListener = refuseSkewedTimestamps(receiver.requestListener);

  app.command('/pmf', async ({ command, ack: boltAck, context }) => {
    // Our share of Slack's 3 s budget: parsing and the acknowledgement itself (pmf_ack_seconds).
    const acked = metrics.ackSeconds.startTimer({ platform: 'slack' });
    const ack: typeof boltAck = async (response) => {
      await boltAck(response);
      acked();
    };
    const parsed = parseCommand(command.text);
    // The refusal may repeat what was typed (`<!channel>`, say): inert, like every echo (decision 058).
    if (!parsed.ok) return ack({ response_type: 'ephemeral', text: errorText(esc(parsed.message)) });
    if (parsed.command.kind === 'help') return ack({ response_type: 'ephemeral', text: helpText() });
    await ack();
    deps.dispatch({
      kind: 'command',
      command,
      parsed: parsed.command,
      retryNum: context.retryNum,
      botToken: context.botToken ?? '',
    });
  });

  app.action(CANCEL_ACTION_ID, async ({ ack, body, action, context }) => {
    await ack();
    if (body.type !== 'block_actions' || action.type !== 'button' || !action.value) return;
    deps.dispatch({
      kind: 'cancel',
      taskId: action.value,
      teamId: body.team?.id ?? body.user.team_id ?? '',
      userId: body.user.id,
      channelId: body.channel?.id,
      threadTs: body.container?.thread_ts as string | undefined,
      botToken: context.botToken ?? '',
    });
  });

  app.error(async (error) => {
    deps.logger.error({ err: error }, 'slack app error');
  });
  return app;
}
