// The real discord.js bot against the fake Discord, with the real ledger (PostgreSQL) and rate limits
// (Redis). The job layer is the in-memory stand-in here; test/discord/flow.test.ts runs the real one.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CreditLedger } from '../../core/credits/index.js';
import type { Db, Redis } from '../../core/storage/index.js';
import type { DiscordOrigin } from '../../core/tasks/types.js';
import { BOT_DEFAULT_PERMISSIONS, PERMISSIONS, type FakeGuild } from '../../test/fakes/discord/index.js';
import {
  inProcessDiscordBot,
  MemoryJobs,
  startDiscordHarness,
  type DiscordHarness,
} from '../../test/helpers/discord-bot.js';
import { testPostgres, testRedis } from '../../test/helpers/storage.js';
import { cancelCustomId } from './render.js';

const IDEA = 'An app that matches dog owners with vetted sitters in their neighbourhood';

describe('Discord bot /pmf', () => {
  let db: Db;
  let redis: Redis;
  let ledger: CreditLedger;
  let jobs: MemoryJobs;
  let h: DiscordHarness;

  beforeAll(async () => {
    db = testPostgres(5);
    redis = testRedis();
    ledger = new CreditLedger(db);
    jobs = new MemoryJobs(ledger);
    h = await startDiscordHarness({ ledger, jobs, redis, env: { RATE_LIMIT_USER_PER_HOUR: 3 } });
  });

  afterAll(async () => {
    await h.close();
    await redis.quit();
    await db.destroy();
  });

  async function workspaceOf(guild: FakeGuild) {
    return ledger.ensureWorkspace({ platform: 'discord', externalId: guild.id, name: guild.name });
  }

  /** A guild of its own, so balances and rate limits do not leak between tests. */
  function freshGuild() {
    const guild = h.fake.addGuild(`G ${randomUUID().slice(0, 6)}`);
    return { guild, channel: h.fake.channel(guild.channelId) };
  }

  it('defers publicly, turns the reply into the request, opens a thread and posts the status there', async () => {
    const { guild, channel } = freshGuild();
    const user = h.fake.addUser('ana');
    const { payload, callback } = await h.command('research', { idea: IDEA, depth: 'deep' }, { user, channel });
    expect(callback.type).toBe(5);
    expect(Number(callback.data.flags ?? 0) & 64).toBe(0);

    // The first command of the file also warms up the bot's modules: allow for a busy machine.
    const task = await h.fake.waitFor(
      () =>
        [...jobs.byId.values()].find(
          (t) => (t.origin as DiscordOrigin).statusMessageId && t.idea === IDEA && t.requester.id === user.id,
        ),
      30_000,
      'the status message of the research',
    );
    const origin = task.origin as DiscordOrigin;
    const reply = h.fake.originalMessage(payload.id)!;
    expect(origin.replyMessageId).toBe(reply.id);
    expect(origin.interactionToken).toBe(payload.token);
    expect(reply.content).toContain('Deep');
    expect(reply.content).toContain('18 credits');
    expect(reply.content).toContain(`<@${user.id}>`);
    expect(JSON.stringify(reply.embeds)).toContain(IDEA);
    expect(reply.allowed_mentions).toEqual({ parse: [] });

    expect(origin.threadId).toBe(reply.threadId);
    const status = h.fake.message(origin.statusMessageId!);
    expect(status.channel_id).toBe(origin.threadId);
    expect(JSON.stringify(status.components)).toContain(cancelCustomId(task.id));
    expect(JSON.stringify(status.embeds)).toContain('2/17');

    const balance = await ledger.balance((await workspaceOf(guild)).id);
    expect(balance.balance).toBe(balance.allowance - 18);
  });

  it('one interaction delivered twice, even to two bot processes, makes one job and one thread', async () => {
    const { channel } = freshGuild();
    const second = await startDiscordHarnessSharing(h, jobs, ledger, redis);
    try {
      const user = h.fake.addUser('twice');
      const payload = h.fake.slashCommand(h.fake.context({ channel, user }), 'research', { idea: `${IDEA} twice` });
      await Promise.all([h.fake.dispatchInteraction(payload), h.fake.dispatchInteraction(payload)]);
      await h.fake.waitFor(() =>
        [...jobs.byId.values()].find((t) => t.requester.id === user.id && (t.origin as DiscordOrigin).statusMessageId),
      );
      await new Promise((r) => setTimeout(r, 300));
      expect([...jobs.byId.values()].filter((t) => t.requester.id === user.id)).toHaveLength(1);
      expect(h.fake.channelMessages(channel.id).filter((m) => m.threadId)).toHaveLength(1);
      expect(
        h.fake.requests.filter(
          (r) =>
            r.route === 'POST /interactions/:id/:token/callback' && r.path.includes(payload.id) && r.status === 204,
        ),
      ).toHaveLength(1);
    } finally {
      await second.destroy();
    }
  });

  async function refusedPrivately(
    sub: string,
    options: Record<string, string | undefined>,
    as: Parameters<DiscordHarness['command']>[2] = {},
  ) {
    const { payload } = await h.command(sub, options, as);
    return { payload, text: await h.privateText(payload) };
  }

  it.each([
    ['an empty idea', '   ', /Tell me the product idea/],
    ['an over-long idea', 'word '.repeat(500), /limit is 2,000/],
  ])('refuses %s ephemerally and charges nothing', async (_what, idea, message) => {
    const { guild, channel } = freshGuild();
    const { payload, text } = await refusedPrivately('research', { idea }, { channel });
    expect(text).toMatch(message);
    expect(text).toContain('Nothing was charged');
    expect(h.fake.interactions.get(payload.id)?.callback?.type).toBe(4);
    expect(await ledger.findWorkspace('discord', guild.id)).toBeUndefined();
  });

  it('refuses when the server has no credits left, deleting the public placeholder', async () => {
    const { guild, channel } = freshGuild();
    const ws = await workspaceOf(guild);
    await ledger.setAllowance({
      workspaceId: ws.id,
      amount: 5,
      actor: 'test',
      reason: 'test',
      idempotencyKey: randomUUID(),
    });
    const { payload, text } = await refusedPrivately('research', { idea: IDEA, depth: 'essential' }, { channel });
    expect(text).toContain('Not enough credits');
    expect(text).toContain('Nothing was charged');
    expect(h.fake.originalMessage(payload.id)).toBeUndefined();
    expect((await ledger.balance(ws.id)).balance).toBe(5);
  });

  it('refuses in a suspended workspace', async () => {
    const { guild, channel } = freshGuild();
    const ws = await workspaceOf(guild);
    await ledger.suspend({ workspaceId: ws.id, actor: 'test', reason: 'test', idempotencyKey: randomUUID() });
    const { text } = await refusedPrivately('research', { idea: IDEA }, { channel });
    expect(text).toContain('suspended');
    expect((await ledger.balance(ws.id)).used).toBe(0);
  });

  it('refuses a user over the hourly limit, saying when to retry', async () => {
    const { guild, channel } = freshGuild();
    const user = h.fake.addUser('eager');
    for (let n = 0; n < 3; n++) {
      const { payload } = await h.command('research', { idea: `${IDEA} ${n}` }, { user, channel });
      await h.fake.waitFor(() => h.fake.originalMessage(payload.id)?.embeds.length);
    }
    const { text } = await refusedPrivately('research', { idea: IDEA }, { user, channel });
    expect(text).toMatch(/Slow down: you have started 3 researches in the last hour. Try again in \d+ minutes/);
    expect((await ledger.balance((await workspaceOf(guild)).id)).used).toBe(36);
  });

  it('refuses where it cannot attach the report, naming the missing permission', async () => {
    const { guild } = freshGuild();
    const locked = h.fake.addChannel({
      guildId: guild.id,
      name: 'locked',
      botPermissions: BOT_DEFAULT_PERMISSIONS & ~PERMISSIONS.ATTACH_FILES,
    });
    const { text } = await refusedPrivately('research', { idea: IDEA }, { channel: locked });
    expect(text).toContain('**Attach Files**');
    expect(await ledger.findWorkspace('discord', guild.id)).toBeUndefined();
  });

  it('without thread permission, runs under the reply instead of in a thread', async () => {
    const { guild } = freshGuild();
    const plain = h.fake.addChannel({
      guildId: guild.id,
      name: 'no-threads',
      botPermissions: BOT_DEFAULT_PERMISSIONS & ~PERMISSIONS.CREATE_PUBLIC_THREADS,
    });
    const user = h.fake.addUser('plain');
    const { payload } = await h.command('research', { idea: IDEA }, { user, channel: plain });
    const task = await h.fake.waitFor(() =>
      [...jobs.byId.values()].find((t) => t.requester.id === user.id && (t.origin as DiscordOrigin).statusMessageId),
    );
    const origin = task.origin as DiscordOrigin;
    expect(origin.threadId).toBeUndefined();
    const status = h.fake.message(origin.statusMessageId!);
    expect(status.channel_id).toBe(plain.id);
    expect(status.message_reference?.message_id).toBe(h.fake.originalMessage(payload.id)!.id);
    expect(JSON.stringify(h.fake.originalMessage(payload.id)!.embeds)).toContain('progress below');
  });

  it('an unexpected failure answers privately, removes the placeholder and charges nothing', async () => {
    const { guild, channel } = freshGuild();
    jobs.failNext = new Error('task store unavailable');
    const { payload, text } = await refusedPrivately('research', { idea: IDEA }, { channel });
    expect(text).toContain('Something went wrong on our side. Nothing was charged.');
    expect(h.fake.originalMessage(payload.id)).toBeUndefined();
    expect((await ledger.balance((await workspaceOf(guild)).id)).used).toBe(0);
  });

  it('in a DM explains that PMF Scout works in servers', async () => {
    const dm = h.fake.addChannel({ type: 1, name: 'dm' });
    const { text } = await refusedPrivately('research', { idea: IDEA }, { channel: dm });
    expect(text).toContain('works in servers');
  });

  it('answers help, balance, list and status ephemerally', async () => {
    const { guild, channel } = freshGuild();
    const user = h.fake.addUser('reader');
    expect((await refusedPrivately('help', {}, { channel })).text).toContain('/pmf research');
    expect((await refusedPrivately('balance', {}, { channel })).text).toContain('1000 credits');
    const { payload } = await h.command('research', { idea: IDEA, depth: 'essential' }, { user, channel });
    await h.fake.waitFor(() => h.fake.originalMessage(payload.id)?.embeds.length);
    const task = [...jobs.byId.values()].find((t) => t.requester.id === user.id)!;
    expect((await refusedPrivately('list', {}, { channel })).text).toContain(task.id);
    expect((await refusedPrivately('status', { id: task.id.toLowerCase() }, { channel })).text).toContain('3/17');
    expect((await refusedPrivately('status', { id: 'R-ZZZZ' }, { channel })).text).toContain('No research');
    // Another server cannot see it.
    const other = freshGuild();
    expect((await refusedPrivately('status', { id: task.id }, { channel: other.channel })).text).toContain(
      'No research',
    );
    expect((await ledger.balance((await workspaceOf(guild)).id)).used).toBe(6);
  });

  it('lets only the requester or a Manage Server member cancel, by command or button', async () => {
    const { channel } = freshGuild();
    const owner = h.fake.addUser('owner');
    const stranger = h.fake.addUser('stranger');
    const admin = h.fake.addUser('admin');
    const { payload } = await h.command('research', { idea: IDEA }, { user: owner, channel });
    const task = await h.fake.waitFor(() =>
      [...jobs.byId.values()].find((t) => t.requester.id === owner.id && (t.origin as DiscordOrigin).statusMessageId),
    );
    void payload;
    const refused = await refusedPrivately('cancel', { id: task.id }, { user: stranger, channel });
    expect(refused.text).toContain('Only the requester');
    expect(jobs.cancelled.filter((c) => c.taskId === task.id)).toHaveLength(0);

    const click = h.fake.button(
      h.fake.context({ channel: h.fake.channel((task.origin as DiscordOrigin).threadId!), user: stranger }),
      cancelCustomId(task.id),
      (task.origin as DiscordOrigin).statusMessageId!,
    );
    await h.fake.dispatchInteraction(click);
    expect(await h.privateText(click)).toContain('Only the requester');

    const byAdmin = await refusedPrivately(
      'cancel',
      { id: task.id },
      { user: admin, channel, memberPermissions: PERMISSIONS.MANAGE_GUILD | PERMISSIONS.VIEW_CHANNEL },
    );
    expect(byAdmin.text).toContain('Cancelling');
    const ownClick = h.fake.button(
      h.fake.context({ channel: h.fake.channel((task.origin as DiscordOrigin).threadId!), user: owner }),
      cancelCustomId(task.id),
      (task.origin as DiscordOrigin).statusMessageId!,
    );
    await h.fake.dispatchInteraction(ownClick);
    expect(await h.privateText(ownClick)).toContain('Cancelling');
    expect(jobs.cancelled.filter((c) => c.taskId === task.id).map((c) => c.actor)).toEqual([
      { id: admin.id, isAdmin: true },
      { id: owner.id, isAdmin: false },
    ]);
  });
});

/** A second bot process on the same fake Discord and the same job store. */
async function startDiscordHarnessSharing(h: DiscordHarness, jobs: MemoryJobs, ledger: CreditLedger, redis: Redis) {
  const { startDiscordBot } = await import('./app.js');
  const client = inProcessDiscordBot(
    h.fake,
    { ledger, jobs, redis },
    `test:discord-rl2:${randomUUID()}:`,
    'discord-test-2',
  );
  await startDiscordBot(client, h.fake.token);
  return client;
}
