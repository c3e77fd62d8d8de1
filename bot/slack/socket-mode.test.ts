// The Slack app in Socket Mode, through the real Bolt and @slack/socket-mode clients, against the fake Socket
// Mode server (test/fakes/slack/socket-mode.ts): refreshes, drops and half-open connections leave no command
// unacknowledged, and a wrong app token is refused with its code.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { FakeEngine } from '../../test/helpers/jobs-fixtures.js';
import { createLogger } from '../../core/observability/logger.js';
import { startSlackHarness, type SlackHarness } from '../../test/fakes/slack/harness.js';
import { DEFAULT_TOKEN } from '../../test/fakes/slack/server.js';
import type { FakeEnvelope } from '../../test/fakes/slack/socket-mode.js';
import { boltOptions, createSlackApp, socketModeReceiver, type SlackAppEnv } from './app.js';
import {
  disconnectReason,
  LINK_DISABLED_LINE,
  reconnectDelayMs,
  type GaplessSocketModeReceiver,
} from './socket-mode.js';
import { createSlackWork } from './work.js';

const APP_TOKEN = `xapp-1-A1-${randomUUID()}`;
const logger = createLogger('socket-test', process.env.LOG_LEVEL ?? 'silent');

let h: SlackHarness;
let work: ReturnType<typeof createSlackWork>;

beforeAll(async () => {
  h = await startSlackHarness({
    label: 'socket',
    engine: new FakeEngine({ stepMs: 150 }),
    fake: { socketMode: { appTokens: { [APP_TOKEN]: 'A1' }, ackTimeoutMs: 1000, pingIntervalMs: 500 } },
  });
  work = createSlackWork({
    env: { SLACK_API_URL: h.fake.apiUrl, RATE_LIMIT_USER_PER_HOUR: 1000, RATE_LIMIT_WORKSPACE_PER_HOUR: 10_000 },
    ledger: h.ledger,
    jobs: h.jobs,
    redis: h.redis,
    logger,
    keyPrefix: `${h.prefix}socket:`,
  });
}, 60_000);
afterAll(async () => {
  await h?.close();
});

function env(appToken = APP_TOKEN): SlackAppEnv {
  return {
    SLACK_BOT_TOKEN: DEFAULT_TOKEN,
    SLACK_APP_TOKEN: appToken,
    SLACK_SIGNING_SECRET: undefined,
    SLACK_CLIENT_ID: undefined,
    SLACK_CLIENT_SECRET: undefined,
    SLACK_STATE_SECRET: undefined,
    SLACK_API_URL: h.fake.apiUrl,
    SLACK_MODE: 'socket',
    SLACK_PORT: 0,
  };
}

type Running = { receiver: GaplessSocketModeReceiver; stop(): Promise<void>; refused: string[] };
let running: Running | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

async function startApp(appToken = APP_TOKEN): Promise<Running> {
  const refused: string[] = [];
  const receiver = socketModeReceiver(boltOptions(env(appToken)), logger, {
    tokenRefused: (code) => refused.push(code),
    disabled: (line) => refused.push(line),
  });
  const app = createSlackApp({ env: env(appToken), logger, receiver, dispatch: (w) => void work(w) });
  await app.start();
  running = { receiver, stop: () => app.stop().then(() => undefined), refused };
  return running;
}

function command(teamId: string, text: string, responseId = randomUUID()) {
  const env = h.fake.socketMode.send('slash_commands', {
    token: 'legacy-verification-token',
    team_id: teamId,
    team_domain: 'fake',
    channel_id: 'CSOCK',
    channel_name: 'product',
    user_id: 'U0MARIA',
    user_name: 'maria',
    command: '/pmf',
    text,
    api_app_id: 'A1',
    is_enterprise_install: 'false',
    response_url: h.fake.responseUrl(responseId),
    trigger_id: `${Date.now()}.${randomUUID()}`,
  });
  return { env, responseId };
}

function ackMs(env: FakeEnvelope): number {
  return env.ack!.at - env.createdAt;
}

const newest = () => h.fake.socketMode.connections.at(-1)!;

describe('Socket Mode connections', () => {
  it('acknowledges a command by its envelope id on the connection it came on', async () => {
    await startApp();
    const { teamId } = await h.newTeam();
    const { env } = command(teamId, 'help');
    const done = await env.done;
    expect(done.ack).toBeDefined();
    expect(done.ack!.connection).toBe(done.sends[0]!.connection);
    expect(JSON.stringify(done.ack!.payload)).toContain('/pmf');
    expect(ackMs(done)).toBeLessThan(1500);
  });

  it('on refresh_requested mid-research, opens the new connection first: a command in the window is answered', async () => {
    const { receiver } = await startApp();
    const { teamId } = await h.newTeam();
    const research = command(teamId, 'essential a rota planner for volunteer lifeboat crews');
    expect((await research.env.done).ack).toBeDefined();
    const taskId = await h.waitFor('the research to run', async () => {
      const page = await h.jobs.tasks.search({ status: 'running', pageSize: 50 });
      return page.items.find((t) => t.idea.includes('lifeboat'))?.id;
    });

    const old = newest();
    h.fake.socketMode.disconnect(old.id, 'refresh_requested', 3000);
    // Sent at once: Slack routes it to a connection it did not ask to go, as soon as there is one.
    const inWindow = command(teamId, 'balance');
    const answered = await inWindow.env.done;
    expect(answered.ack).toBeDefined();
    expect(ackMs(answered)).toBeLessThan(2000);
    const replacement = newest();
    expect(replacement.id).not.toBe(old.id);
    expect(answered.ack!.connection).toBe(replacement.id);
    expect(await h.waitFor('a reply in the window', () => h.responsesFor(inWindow.responseId)[0])).toMatch(/credits/);

    // The old connection is closed by the bot, after the new one said hello, before Slack would have closed it.
    await h.fake.socketMode.waitFor('the old connection to close', () => old.closedAt);
    expect(old.closedBy).toBe('client');
    expect(replacement.openedAt).toBeLessThan(old.closedAt!);
    expect(receiver.state()).toBe('connected');
    expect(receiver.openConnections()).toBe(1);

    const task = await h.waitFor(
      'the research to be delivered',
      async () => {
        const doc = await h.jobs.tasks.getDoc(taskId);
        return doc?.deliveredAt ? doc : undefined;
      },
      60_000,
    );
    expect(task.status).toBe('succeeded');
    expect(h.fake.socketMode.envelopes.filter((e) => !e.ack && e.sends.length)).toEqual([]);
  }, 90_000);

  it('on warning, keeps taking commands on the old connection until the new one is up', async () => {
    await startApp();
    const { teamId } = await h.newTeam();
    const old = newest();
    h.fake.socketMode.disconnect(old.id, 'warning', 5000);
    const sent = Array.from({ length: 5 }, () => command(teamId, 'help'));
    const done = await Promise.all(sent.map((s) => s.env.done));
    expect(done.every((e) => e.ack)).toBe(true);
    expect(Math.max(...done.map(ackMs))).toBeLessThan(2000);
    await h.fake.socketMode.waitFor('the warned connection to close', () => old.closedAt);
    expect(old.closedBy).toBe('client');
  });

  it('replaces a dropped connection within about a second', async () => {
    const { receiver } = await startApp();
    const old = newest();
    const droppedAt = Date.now();
    h.fake.socketMode.drop(old.id);
    const replacement = await h.fake.socketMode.waitFor('a new connection', () =>
      newest().id !== old.id ? newest() : undefined,
    );
    expect(replacement.openedAt - droppedAt).toBeLessThan(1500);
    await h.fake.socketMode.waitFor('connected', () => receiver.state() === 'connected');
    const { teamId } = await h.newTeam();
    expect((await command(teamId, 'help').env.done).ack?.connection).toBe(replacement.id);
  });

  it('replaces a half-open connection (pings unanswered) within a second or two', async () => {
    await startApp();
    const old = newest();
    const stalledAt = Date.now();
    h.fake.socketMode.halfOpen(old.id);
    const replacement = await h.fake.socketMode.waitFor('a new connection', () =>
      newest().id !== old.id ? newest() : undefined,
    );
    expect(replacement.openedAt - stalledAt).toBeLessThan(3000);
    const { teamId } = await h.newTeam();
    expect((await command(teamId, 'help').env.done).ack?.connection).toBe(replacement.id);
  });

  it('sends an event lost on a half-open connection again, with retry_attempt, to the replacement', async () => {
    await startApp();
    const old = newest();
    h.fake.socketMode.halfOpen(old.id);
    // Slack cannot tell the connection is half-open: the first send goes there and is lost.
    const lostEvent = h.fake.socketMode.send('events_api', {
      type: 'event_callback',
      team_id: 'T1',
      api_app_id: 'A1',
      event_id: `Ev${randomUUID().slice(0, 8)}`,
      event: { type: 'app_mention', user: 'U0MARIA', text: '<@UBOT> hi', channel: 'CSOCK', ts: '1.1' },
    });
    const done = await lostEvent.done;
    // Retried until a live connection takes it (Slack may try the silent one again before it is closed).
    expect(done.sends.map((s) => s.retryAttempt)).toEqual(done.sends.map((_, n) => n));
    expect(done.sends.length).toBeGreaterThan(1);
    expect(done.sends[0]!.connection).toBe(old.id);
    expect(done.ack?.connection).toBe(done.sends.at(-1)!.connection);
    expect(done.ack?.connection).not.toBe(old.id);
  });

  it('backs off while replacements fail, then connects', async () => {
    const { receiver } = await startApp();
    const old = newest();
    h.fake.socketMode.failOpen('internal_error', 3);
    h.fake.socketMode.drop(old.id);
    await h.fake.socketMode.waitFor('a new connection', () => newest().id !== old.id, 15_000);
    await h.fake.socketMode.waitFor('connected', () => receiver.state() === 'connected');
    const opens = h.fake.callsOf('apps.connections.open').slice(-4);
    expect(opens.map((c) => c.error)).toEqual(['internal_error', 'internal_error', 'internal_error', undefined]);
    const gaps = opens.slice(1).map((c, i) => c.at - opens[i]!.at);
    expect(gaps[1]!).toBeGreaterThan(gaps[0]!);
  });

  it('stops, without reconnecting, when Slack disables the link', async () => {
    const { receiver } = await startApp();
    const old = newest();
    h.fake.socketMode.disconnect(old.id, 'link_disabled', 500);
    await h.fake.socketMode.waitFor('the link to close', () => old.closedAt);
    await new Promise((r) => setTimeout(r, 500));
    expect(newest().id).toBe(old.id);
    expect(receiver.state()).toBe('disabled');
    expect(running!.refused).toEqual([LINK_DISABLED_LINE]);
  });

  it('reports an app token refused while replacing a connection, and stops trying', async () => {
    const started = await startApp();
    const old = newest();
    h.fake.socketMode.failOpen('token_revoked', 1);
    h.fake.socketMode.drop(old.id);
    await h.fake.socketMode.waitFor('the refusal', () => started.refused.length > 0);
    const opens = h.fake.callsOf('apps.connections.open').length;
    await new Promise((r) => setTimeout(r, 600));
    expect(started.refused).toEqual(['token_revoked']);
    expect(started.receiver.state()).toBe('failed');
    expect(h.fake.callsOf('apps.connections.open')).toHaveLength(opens);
  });

  it('refuses an unknown app token at start', async () => {
    await expect(startApp(`xapp-1-A1-${randomUUID()}`)).rejects.toMatchObject({ data: { error: 'invalid_auth' } });
  });

  it('refuses a bot token given as the app token at start', async () => {
    await expect(startApp('xoxb-not-an-app-token')).rejects.toMatchObject({
      data: { error: 'not_allowed_token_type' },
    });
  });
});

describe('Socket Mode helpers', () => {
  it('backs off from at once to 30 s', () => {
    expect([0, 1, 2, 3, 10].map(reconnectDelayMs)).toEqual([0, 250, 500, 1000, 30_000]);
  });

  it('reads the reason of a disconnect frame and nothing else', () => {
    expect(disconnectReason('{"type":"disconnect","reason":"refresh_requested"}')).toBe('refresh_requested');
    expect(disconnectReason('{"type":"hello"}')).toBeUndefined();
    expect(disconnectReason('{"envelope_id":"1","payload":{"text":"disconnect"}}')).toBeUndefined();
  });
});
