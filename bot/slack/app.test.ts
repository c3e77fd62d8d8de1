// The real Bolt app in HTTP mode, signed slash commands, the fake Slack Web API, real PG/Redis/Mongo and the
// real job layer without a worker: everything up to "queued", every refusal, signatures, retries, cancel.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { startSlackHarness, type SlackHarness } from '../../test/fakes/slack/harness.js';
import { slashCommandBody } from '../../test/fakes/slack/signer.js';
import { boltOptions } from './app.js';

let h: SlackHarness;

beforeAll(async () => {
  h = await startSlackHarness({
    label: 'slack_app',
    env: { RATE_LIMIT_USER_PER_HOUR: 3, RATE_LIMIT_WORKSPACE_PER_HOUR: 6 },
  });
});
afterAll(async () => {
  await h.close();
});

const IDEA = 'An app that matches dog owners with vetted sitters in their neighbourhood';
const user = () => `U${randomUUID().replace(/-/g, '').slice(0, 8).toUpperCase()}`;

async function balanceOf(workspaceId: string) {
  return (await h.ledger.balance(workspaceId)).balance;
}

/** The JSON a command's ack carried (an ephemeral refusal or help), or undefined for an empty ack. */
function ackBody(text: string): { text?: string; response_type?: string } | undefined {
  return text ? (JSON.parse(text) as { text?: string; response_type?: string }) : undefined;
}

describe('/pmf <idea>', () => {
  it('acks at once, posts the parent and a threaded status, reserves credits and says what runs', async () => {
    const { teamId, workspaceId } = await h.newTeam();
    const channelId = `C${randomUUID().slice(0, 6)}`;
    const res = await h.command({ teamId, channelId, userId: 'U0MARIA', text: `deep ${IDEA} <!channel>` });
    expect(res.status).toBe(200);
    expect(res.text).toBe('');
    expect(res.ms).toBeLessThan(3000);

    const [reply] = await h.waitFor('the ephemeral ack', () =>
      h.responsesFor(res.responseId).length ? h.responsesFor(res.responseId) : undefined,
    );
    expect(reply).toMatch(
      /\*Deep\* research \(`R-[A-Z0-9]+`\) for 18 credits\. You have 982 credits left this month\./,
    );
    expect(reply).toContain('&lt;!channel&gt;');
    const taskId = /`(R-[A-Z0-9]+)`/.exec(reply!)![1]!;

    const task = await h.jobs.tasks.get(taskId);
    expect(task).toMatchObject({
      status: 'queued',
      depth: 'deep',
      cost: 18,
      workspaceId,
      requester: { id: 'U0MARIA', name: 'maria' },
    });
    expect(task!.checkpoints.map((c) => c.id)).toEqual(['received', 'credits_reserved', 'queued']);
    expect(await balanceOf(workspaceId)).toBe(982);

    const origin = task!.origin;
    if (origin.platform !== 'slack') throw new Error('not a slack origin');
    expect(origin).toMatchObject({ teamId, channelId, userId: 'U0MARIA' });
    const parent = h.fake.message(channelId, origin.parentTs!);
    expect(parent?.threadTs).toBeUndefined();
    expect(JSON.stringify(parent?.blocks)).toContain(taskId);
    expect(JSON.stringify(parent?.blocks)).not.toContain('<!channel>');
    const status = h.fake.message(channelId, origin.statusTs!);
    expect(status?.threadTs).toBe(origin.parentTs);
    expect(JSON.stringify(status?.blocks)).toContain('pmf_cancel');
  });

  it.each([
    ['an empty idea', '', /Tell me the product idea/],
    ['a depth without an idea', 'deep', /Tell me the product idea/],
    ['an idea over 2,000 characters', 'x'.repeat(2001), /2,001 characters; the limit is 2,000/],
    ['an unknown depth', 'depth=quick an app', /"quick" is not a research depth/],
    ['an unknown subcommand', 'balanse', /Did you mean `balance`/],
  ])('refuses %s in the ack itself, charging nothing', async (_label, text, message) => {
    const { teamId, workspaceId } = await h.newTeam();
    const before = h.fake.callsOf('chat.postMessage').length;
    const res = await h.command({ teamId, userId: user(), text });
    expect(res.status).toBe(200);
    const body = ackBody(res.text);
    expect(body?.response_type).toBe('ephemeral');
    expect(body?.text).toMatch(message);
    expect(body?.text).toContain('Nothing was charged');
    expect(h.fake.callsOf('chat.postMessage').length).toBe(before);
    expect(await balanceOf(workspaceId)).toBe(1000);
  });

  it('answers help in the ack', async () => {
    const { teamId } = await h.newTeam();
    const body = ackBody((await h.command({ teamId, text: 'help' })).text);
    expect(body?.text).toContain('/pmf essential|standard|deep <idea>');
  });

  async function refusal(teamId: string, text: string, userId = user(), channelId = 'C1'): Promise<string> {
    const res = await h.command({ teamId, userId, channelId, text });
    expect(res.text).toBe('');
    const [reply] = await h.waitFor('a reply', () =>
      h.responsesFor(res.responseId).length ? h.responsesFor(res.responseId) : undefined,
    );
    return reply!;
  }

  it('says how many credits are left and what fits when a research does not', async () => {
    const { teamId, workspaceId } = await h.newTeam();
    await h.ledger.deduct({ workspaceId, amount: 990, actor: 'test', reason: 'test', idempotencyKey: randomUUID() });
    const reply = await refusal(teamId, `deep ${IDEA}`);
    expect(reply).toContain('A Deep research costs 18 credits, and this workspace has 10 credits left this month.');
    expect(reply).toContain('What fits: `essential` (6)');
    expect(reply).toContain('Nothing was charged');
    expect(await balanceOf(workspaceId)).toBe(10);
    expect(await h.jobs.tasks.listByWorkspace(workspaceId)).toHaveLength(0);
  });

  it('refuses a suspended workspace', async () => {
    const { teamId, workspaceId } = await h.newTeam();
    await h.ledger.suspend({ workspaceId, actor: 'test', reason: 'test', idempotencyKey: randomUUID() });
    expect(await refusal(teamId, IDEA)).toContain('suspended for this workspace');
    expect(await h.jobs.tasks.listByWorkspace(workspaceId)).toHaveLength(0);
  });

  it('rate-limits a user, then the workspace', async () => {
    const { teamId, workspaceId } = await h.newTeam();
    const maria = user();
    for (let i = 0; i < 3; i++) {
      const res = await h.command({ teamId, userId: maria, text: `${IDEA} ${i}` });
      await h.waitFor('ack', () => h.responsesFor(res.responseId).length > 0);
    }
    expect(await refusal(teamId, `${IDEA} 4`, maria)).toMatch(
      /You have started 3 researches in the last hour, the limit\. Try again in \d+ minutes\.\nNothing was charged/,
    );
    for (let i = 0; i < 3; i++) {
      const res = await h.command({ teamId, userId: user(), text: `${IDEA} other ${i}` });
      await h.waitFor('ack', () => h.responsesFor(res.responseId).length > 0);
    }
    expect(await refusal(teamId, `${IDEA} 8`)).toContain('This workspace has started 6 researches in the last hour');
    expect(await h.jobs.tasks.listByWorkspace(workspaceId)).toHaveLength(6);
    expect(await balanceOf(workspaceId)).toBe(1000 - 6 * 12);
  });

  it.each(['not_in_channel', 'channel_not_found'])(
    'tells the requester to invite the bot on %s, and returns the credits',
    async (error) => {
      const { teamId, workspaceId } = await h.newTeam();
      const channelId = `G${randomUUID().slice(0, 6)}`;
      h.fake.setChannelError(channelId, error);
      const reply = await refusal(teamId, IDEA, user(), channelId);
      expect(reply).toContain('/invite @PMF Scout');
      expect(reply).toContain('Nothing was charged');
      expect(await balanceOf(workspaceId)).toBe(1000);
      const [task] = await h.jobs.tasks.listByWorkspace(workspaceId);
      expect(task?.status).toBe('failed');
    },
  );
});

describe('requests Slack did not sign, and repeats', () => {
  it('answers 401 and nothing else to a request signed more than five minutes in the future', async () => {
    const { teamId, workspaceId } = await h.newTeam();
    const before = h.fake.calls.length;
    const future = await h.command({ teamId, text: IDEA }, { timestamp: Math.floor(Date.now() / 1000) + 6 * 60 });
    expect(future.status).toBe(401);
    expect(future.text).toBe('');
    const slightlyAhead = await h.command(
      { teamId, text: 'balance' },
      { timestamp: Math.floor(Date.now() / 1000) + 60 },
    );
    expect(slightlyAhead.status).toBe(200);
    await h.waitFor('the balance answer', () => h.responsesFor(slightlyAhead.responseId).length > 0);
    expect(h.fake.calls.slice(before).filter((c) => c.method === 'chat.postMessage')).toHaveLength(0);
    expect(h.responsesFor(future.responseId)).toEqual([]);
    expect(await balanceOf(workspaceId)).toBe(1000);
  });

  it('echoes what was typed inertly in a refusal', async () => {
    const { teamId } = await h.newTeam();
    const res = await h.command({ teamId, text: 'depth=<!channel> an app' });
    const body = ackBody(res.text);
    expect(body?.text).toContain('&lt;!channel&gt;');
    expect(body?.text).not.toContain('<!channel>');
  });

  it('answers 401 to a bad or stale signature and starts nothing', async () => {
    const { teamId, workspaceId } = await h.newTeam();
    const bad = await h.command({ teamId, text: IDEA }, { signature: 'v0=' + '0'.repeat(64) });
    expect(bad.status).toBe(401);
    const stale = await h.command({ teamId, text: IDEA }, { timestamp: Math.floor(Date.now() / 1000) - 10 * 60 });
    expect(stale.status).toBe(401);
    await new Promise((r) => setTimeout(r, 300));
    expect(await h.jobs.tasks.listByWorkspace(workspaceId)).toHaveLength(0);
  });

  it('starts one job for a delivery Slack retries, and for a double submission', async () => {
    const { teamId, workspaceId } = await h.newTeam();
    const triggerId = `${Date.now()}.${randomUUID()}`;
    const responseId = randomUUID();
    const first = h.command({ teamId, userId: 'U0MARIA', text: IDEA, triggerId, responseId });
    const retry = h.command({ teamId, userId: 'U0MARIA', text: IDEA, triggerId, responseId }, { retryNum: 1 });
    expect((await first).status).toBe(200);
    expect((await retry).status).toBe(200);
    await h.waitFor('ack', () => h.responsesFor(responseId).length > 0);
    const double = await h.command({ teamId, userId: 'U0MARIA', text: IDEA });
    const [again] = await h.waitFor('double-submit reply', () =>
      h.responsesFor(double.responseId).length ? h.responsesFor(double.responseId) : undefined,
    );
    expect(again).toMatch(/already under way as `R-[A-Z0-9]+`/);
    await new Promise((r) => setTimeout(r, 300));
    expect(await h.jobs.tasks.listByWorkspace(workspaceId)).toHaveLength(1);
    expect(h.responsesFor(responseId)).toHaveLength(1);
    expect(await balanceOf(workspaceId)).toBe(988);
  });
});

describe('balance, list, status, cancel', () => {
  async function start(teamId: string, userId: string, idea = IDEA): Promise<string> {
    const res = await h.command({ teamId, userId, text: idea });
    const [reply] = await h.waitFor('ack', () =>
      h.responsesFor(res.responseId).length ? h.responsesFor(res.responseId) : undefined,
    );
    return /`(R-[A-Z0-9]+)`/.exec(reply!)![1]!;
  }
  async function ask(teamId: string, text: string, userId = 'U0MARIA'): Promise<string> {
    const res = await h.command({ teamId, userId, text });
    const [reply] = await h.waitFor(text, () =>
      h.responsesFor(res.responseId).length ? h.responsesFor(res.responseId) : undefined,
    );
    return reply!;
  }

  it('shows balance, the list with ids and a task status', async () => {
    const { teamId } = await h.newTeam();
    const id = await start(teamId, 'U0MARIA', `essential ${IDEA}`);
    expect(await ask(teamId, 'balance')).toContain('*994 credits* left');
    expect(await ask(teamId, 'list')).toContain(`\`${id}\` queued · 3/17`);
    expect(await ask(teamId, `status ${id.toLowerCase()}`)).toContain(`\`${id}\` queued`);
    expect(await ask(teamId, 'status R-ZZZZ')).toContain("can't find a research `R-ZZZZ`");
  });

  it("hides another workspace's research", async () => {
    const a = await h.newTeam();
    const b = await h.newTeam();
    const id = await start(a.teamId, 'U0MARIA');
    expect(await ask(b.teamId, `status ${id}`)).toContain("can't find");
    expect(await ask(b.teamId, `cancel ${id}`)).toContain("can't find");
  });

  it('lets only the requester or an admin cancel, and returns the credits', async () => {
    const { teamId, workspaceId } = await h.newTeam();
    const id = await start(teamId, 'U0MARIA');
    expect(await ask(teamId, `cancel ${id}`, 'U0STRANGER')).toContain(
      'Only <@U0MARIA>, who started this research, or a workspace admin can cancel it.',
    );
    expect((await h.jobs.tasks.get(id))?.status).toBe('queued');
    expect(await ask(teamId, `cancel ${id}`, 'U0ADMIN')).toContain(`Cancelling \`${id}\``);
    expect((await h.jobs.tasks.get(id))?.status).toBe('cancelled');
    expect(await balanceOf(workspaceId)).toBe(1000);
    const task = await h.jobs.tasks.get(id);
    if (task?.origin.platform !== 'slack') throw new Error('not slack');
    const parentTs = task.origin.parentTs!;
    const parent = await h.waitFor('parent marked cancelled', () => {
      const m = h.fake.message('C1', parentTs);
      return m && m.edits.length > 0 ? m : undefined;
    });
    expect(JSON.stringify(parent.edits.at(-1)?.blocks)).toContain('cancelled · 12 credits returned');
    const status = h.fake.message('C1', task.origin.statusTs!)!;
    expect(JSON.stringify(status.edits.at(-1)?.blocks)).toContain('cancelled by <@U0ADMIN>');
    expect(JSON.stringify(status.edits.at(-1)?.blocks)).not.toContain('pmf_cancel');
  });

  it('handles the Cancel button: strangers are told why, the requester cancels', async () => {
    const { teamId } = await h.newTeam();
    const id = await start(teamId, 'U0MARIA');
    const task = (await h.jobs.tasks.get(id))!;
    if (task.origin.platform !== 'slack') throw new Error('not slack');
    const button = { teamId, taskId: id, messageTs: task.origin.statusTs!, threadTs: task.origin.parentTs };
    const ephemerals = () => h.fake.callsOf('chat.postEphemeral');
    const before = ephemerals().length;
    expect((await h.pressCancel({ ...button, userId: 'U0STRANGER' })).status).toBe(200);
    const told = await h.waitFor('stranger told', () =>
      ephemerals()
        .slice(before)
        .find((c) => c.args.user === 'U0STRANGER'),
    );
    expect(told.args.text).toContain('Only <@U0MARIA>');
    expect(h.fake.callsOf('users.info').some((c) => c.args.user === 'U0STRANGER')).toBe(true);
    await h.pressCancel({ ...button, userId: 'U0MARIA' });
    await h.waitFor('cancelled', async () => (await h.jobs.tasks.get(id))?.status === 'cancelled');
  });
});

describe('boltOptions', () => {
  const base = { SLACK_PORT: 3000, RATE_LIMIT_USER_PER_HOUR: 1, RATE_LIMIT_WORKSPACE_PER_HOUR: 1 } as const;
  const none = {
    SLACK_BOT_TOKEN: undefined,
    SLACK_APP_TOKEN: undefined,
    SLACK_SIGNING_SECRET: undefined,
    SLACK_CLIENT_ID: undefined,
    SLACK_CLIENT_SECRET: undefined,
    SLACK_STATE_SECRET: undefined,
    SLACK_API_URL: undefined,
    SLACK_MODE: undefined,
  };

  it('uses Socket Mode when an app token is set, pointing both clients at SLACK_API_URL', () => {
    const o = boltOptions({
      ...base,
      ...none,
      SLACK_APP_TOKEN: 'xapp-1',
      SLACK_BOT_TOKEN: 'xoxb-1',
      SLACK_API_URL: 'http://127.0.0.1:9/api',
    });
    expect(o).toMatchObject({
      socketMode: true,
      appToken: 'xapp-1',
      token: 'xoxb-1',
      clientOptions: { slackApiUrl: 'http://127.0.0.1:9/api/' },
      installerOptions: { clientOptions: { slackApiUrl: 'http://127.0.0.1:9/api/' } },
    });
  });

  it('uses HTTP mode on /slack/events with the signing secret', () => {
    const o = boltOptions({
      ...base,
      ...none,
      SLACK_MODE: 'http',
      SLACK_SIGNING_SECRET: 's',
      SLACK_BOT_TOKEN: 'xoxb-1',
    });
    expect(o).toMatchObject({ signingSecret: 's', endpoints: '/slack/events', token: 'xoxb-1' });
    expect(o.socketMode).toBeUndefined();
  });

  it('turns on OAuth with the installation store when there is no bot token', () => {
    const installationStore = {
      storeInstallation: async () => undefined,
      fetchInstallation: async () => {
        throw new Error('none');
      },
    };
    const o = boltOptions(
      {
        ...base,
        ...none,
        SLACK_MODE: 'http',
        SLACK_SIGNING_SECRET: 's',
        SLACK_CLIENT_ID: 'id',
        SLACK_CLIENT_SECRET: 'secret',
        SLACK_STATE_SECRET: 'state',
      },
      installationStore,
    );
    expect(o).toMatchObject({
      clientId: 'id',
      clientSecret: 'secret',
      stateSecret: 'state',
      installationStore,
      scopes: ['commands', 'chat:write', 'chat:write.public', 'channels:join', 'files:write', 'users:read'],
    });
    expect(o.token).toBeUndefined();
  });

  it('says what is missing', () => {
    expect(() => boltOptions({ ...base, ...none, SLACK_MODE: 'http', SLACK_BOT_TOKEN: 'x' })).toThrow(
      'SLACK_SIGNING_SECRET',
    );
    expect(() => boltOptions({ ...base, ...none, SLACK_MODE: 'http', SLACK_SIGNING_SECRET: 's' })).toThrow(
      'SLACK_BOT_TOKEN',
    );
  });

  it('builds a signed body the app accepts', () => {
    expect(slashCommandBody({ text: 'a b', responseUrl: 'http://x/r' })).toContain('text=a+b');
  });
});
