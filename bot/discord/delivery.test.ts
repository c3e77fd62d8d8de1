// The Discord delivery against the fake Discord, through the real discord.js REST client with the bot token.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { REST, Routes, type APIMessage } from 'discord.js';
import { CHECKPOINTS, type CheckpointId } from '../../core/research/checkpoints.js';
import type { ResearchResult } from '../../core/research/contract.js';
import { createLogger } from '../../core/observability/logger.js';
import { PermanentDeliveryError, type Delivery } from '../../core/tasks/delivery.js';
import type { DiscordOrigin, Task } from '../../core/tasks/types.js';
import {
  BOT_DEFAULT_PERMISSIONS,
  PERMISSIONS,
  startFakeDiscord,
  type FakeDiscord,
  type FakeGuild,
} from '../../test/fakes/discord/index.js';
import { createDiscordDelivery } from './delivery.js';

const USER = '123456789012345678';

function result(): ResearchResult {
  return {
    markdown: '# PMF report\n\nDemand is strong [1].',
    usage: {
      tavilyCalls: 6,
      tavilyCredits: 12,
      cacheHits: 1,
      promptTokens: 10,
      completionTokens: 10,
      durationMs: 95_000,
      sourcesUsed: 2,
      citationsRemoved: 0,
      figuresFlagged: 0,
      perNode: {},
    },
    report: {
      title: 'Dog sitters',
      idea: 'dog sitters',
      depth: 'standard',
      sandbox: true,
      summary: 's',
      keyFindings: [
        { text: 'Owners pay for trust', citations: [1] },
        { text: 'Incumbents are national', citations: [2] },
        { text: 'Pain is acute at holidays', citations: [1, 2] },
      ],
      score: {
        total: 68,
        band: 'strong',
        confidence: 'medium',
        subScores: (['demand', 'growth', 'whitespace', 'pain', 'willingness_to_pay'] as const).map((key) => ({
          key,
          label: key,
          score: 13,
          rationale: '',
        })),
      },
      missingSections: [],
      citations: [
        { n: 1, url: 'https://a.example/x', title: 'A', domain: 'a.example' },
        { n: 2, url: 'https://b.example/y', title: 'B', domain: 'b.example' },
      ],
    },
  };
}

describe('createDiscordDelivery', () => {
  let fake: FakeDiscord;
  let guild: FakeGuild;
  let rest: REST;
  let delivery: Delivery;
  let seq = 0;

  beforeAll(async () => {
    fake = await startFakeDiscord();
    guild = fake.addGuild('Deliveries');
    rest = new REST({ api: fake.apiUrl }).setToken(fake.token);
    delivery = createDiscordDelivery({ rest, logger: createLogger('discord-delivery-test', 'silent') });
  });

  afterAll(async () => {
    await fake.close();
  });

  /** What the bot's announce leaves behind: a reply, maybe a thread on it, and a status message. */
  async function announced(opts: { threaded: boolean; channelId?: string }): Promise<Task> {
    const channelId = opts.channelId ?? guild.channelId;
    const reply = (await rest.post(Routes.channelMessages(channelId), { body: { content: 'request' } })) as APIMessage;
    let threadId: string | undefined;
    if (opts.threaded)
      threadId = ((await rest.post(Routes.threads(channelId, reply.id), { body: { name: 'PMF' } })) as { id: string })
        .id;
    const status = (await rest.post(Routes.channelMessages(threadId ?? channelId), {
      body: { content: 'status' },
    })) as APIMessage;
    const origin: DiscordOrigin = {
      platform: 'discord',
      guildId: guild.id,
      channelId,
      userId: USER,
      replyMessageId: reply.id,
      statusMessageId: status.id,
      interactionToken: 'expired-long-ago',
      ...(threadId ? { threadId } : {}),
    };
    const t0 = new Date('2026-01-01T00:00:00Z');
    return {
      id: `R-T${++seq}AB`,
      workspaceId: 'ws',
      requester: { id: USER },
      origin,
      idea: 'dog sitters',
      depth: 'standard',
      cost: 12,
      status: 'running',
      checkpoints: [],
      createdAt: t0,
      startedAt: t0,
    };
  }

  const upTo = (task: Task, n: number): Task => ({
    ...task,
    checkpoints: CHECKPOINTS.slice(0, n).map((id: CheckpointId) => ({ id, at: task.createdAt })),
  });

  it('edits the status in checkpoint order, then posts the report, the summary and the final score — all with the bot token', async () => {
    const task = await announced({ threaded: true });
    const origin = task.origin as DiscordOrigin;
    fake.advanceClock(20 * 60_000); // long past the interaction token's life: nothing here may need it
    const before = fake.requests.length;
    for (const n of [3, 4, 7, 12, 16]) await delivery.progress(upTo(task, n));
    const done = {
      ...upTo(task, 16),
      status: 'succeeded' as const,
      finishedAt: new Date(task.createdAt.getTime() + 95_000),
    };
    await delivery.succeeded(done, result());

    const status = fake.message(origin.statusMessageId!);
    const shown = status.history.slice(1).map((h) => /(\d+)\/17/.exec(JSON.stringify(h.body))?.[1]);
    expect(shown).toEqual(['3', '4', '7', '12', '16', '17']);
    expect(status.components).toEqual([]);

    const report = fake.channelMessages(origin.threadId!).find((m) => m.attachments.length)!;
    expect(report.attachments[0]!.filename).toBe(`pmf-${task.id}.md`);
    expect(report.attachments[0]!.data.toString()).toBe(result().markdown);
    expect(JSON.stringify(report.embeds)).toContain('PMF 68/100 — strong');
    expect(report.allowed_mentions).toEqual({ parse: [] });

    const reply = fake.message(origin.replyMessageId!);
    expect(JSON.stringify(reply.embeds)).toContain('PMF 68/100');
    expect(fake.requests.slice(before).every((r) => r.auth === 'bot' && r.status < 300)).toBe(true);
  });

  it('a retried success posts the report once', async () => {
    const task = await announced({ threaded: true });
    const done = { ...upTo(task, 16), status: 'succeeded' as const };
    await delivery.succeeded(done, result());
    await delivery.succeeded(done, result());
    const origin = task.origin as DiscordOrigin;
    expect(fake.channelMessages(origin.threadId!).filter((m) => m.attachments.length)).toHaveLength(1);
  });

  it('says why a research stopped and what came back', async () => {
    const task = await announced({ threaded: true });
    const origin = task.origin as DiscordOrigin;
    await delivery.failed({
      ...upTo(task, 8),
      status: 'cancelled',
      refunded: 12,
      cancelRequested: { by: USER, at: new Date() },
    });
    const notice = fake.channelMessages(origin.threadId!).find((m) => m.content.includes('cancelled'))!;
    expect(notice.content).toContain('12 credits returned');
    expect(JSON.stringify(fake.message(origin.replyMessageId!).embeds)).toContain('cancelled · 12 credits returned');
    expect(fake.message(origin.statusMessageId!).components).toEqual([]);

    const failing = await announced({ threaded: true });
    await delivery.failed({
      ...upTo(failing, 6),
      status: 'failed',
      refunded: 12,
      error: { userMessage: 'The web search kept timing out.', detail: 'x' },
    });
    const text = fake
      .channelMessages((failing.origin as DiscordOrigin).threadId!)
      .map((m) => m.content)
      .join('\n');
    expect(text).toContain('failed: The web search kept timing out. 12 credits returned');
  });

  it('without a thread, posts the report as a reply under the request', async () => {
    const task = await announced({ threaded: false });
    const origin = task.origin as DiscordOrigin;
    await delivery.succeeded({ ...upTo(task, 16), status: 'succeeded' }, result());
    const report = fake.channelMessages(origin.channelId).find((m) => m.attachments.length)!;
    expect(report.message_reference?.message_id).toBe(origin.replyMessageId);
    expect(JSON.stringify(fake.message(origin.replyMessageId!).embeds)).toContain('report below');
  });

  it('waits out a 429 on an edit instead of losing it', async () => {
    const task = await announced({ threaded: true });
    fake.inject429('PATCH /channels/:id/messages/:id', 300, 1);
    const before = fake.requests.length;
    await delivery.progress(upTo(task, 5));
    expect(fake.requests.slice(before).map((r) => r.status)).toEqual([429, 200]);
    expect(JSON.stringify(fake.message((task.origin as DiscordOrigin).statusMessageId!).embeds)).toContain('5/17');
  });

  it('gives up for good when the channel is gone or the bot lost access', async () => {
    const room = fake.addChannel({ guildId: guild.id, name: 'room' });
    const gone = await announced({ threaded: true, channelId: room.id });
    fake.deleteChannel(room.id);
    await expect(delivery.progress(upTo(gone, 5))).rejects.toBeInstanceOf(PermanentDeliveryError);

    // A channel out of reach, a requester who refuses DMs and a command token long dead: nobody can get it.
    const hidden = fake.addChannel({ guildId: guild.id, name: 'hidden' });
    const lost = await announced({ threaded: false, channelId: hidden.id });
    fake.setBotPermissions(hidden.id, BOT_DEFAULT_PERMISSIONS & ~PERMISSIONS.VIEW_CHANNEL);
    fake.refusesDms.add(USER);
    try {
      await expect(delivery.succeeded({ ...upTo(lost, 16), status: 'succeeded' }, result())).rejects.toBeInstanceOf(
        PermanentDeliveryError,
      );
    } finally {
      fake.refusesDms.delete(USER);
    }
  });

  /** A live command for `origin`: its interaction answered (deferred), so its follow-up webhook works. */
  async function liveCommand(task: Task, channelId: string): Promise<Task> {
    const user = fake.addUser('requester');
    const ctx = fake.context({ channel: fake.channel(channelId), user });
    const payload = fake.slashCommand(ctx, 'research', { idea: 'dog sitters' });
    void fake.dispatchInteraction(payload); // no bot listens here: the test answers the interaction itself
    await rest.post(Routes.interactionCallback(payload.id, payload.token), { body: { type: 5 }, auth: false });
    return {
      ...task,
      createdAt: new Date(),
      origin: {
        ...(task.origin as DiscordOrigin),
        userId: user.id,
        applicationId: fake.applicationId,
        interactionToken: payload.token,
      },
    };
  }

  it('neither thread nor channel takes the report: it goes to the requester by DM, saying why, once', async () => {
    const room = fake.addChannel({ guildId: guild.id, name: 'shut' });
    const task = await announced({ threaded: true, channelId: room.id });
    fake.setBotPermissions(room.id, BOT_DEFAULT_PERMISSIONS & ~PERMISSIONS.VIEW_CHANNEL);
    const done = { ...upTo(task, 16), status: 'succeeded' as const };
    await delivery.succeeded(done, result());
    await delivery.succeeded(done, result()); // a retried delivery
    const dm = fake.dmChannelOf(USER)!;
    const mine = fake.channelMessages(dm.id).filter((m) => m.content.includes(task.id));
    expect(mine).toHaveLength(1);
    expect(mine[0]!.attachments.map((a) => a.filename)).toEqual([`pmf-${task.id}.md`]);
    expect(mine[0]!.content).toContain(`I couldn't post it in <#${room.id}> or its thread`);
    expect(mine[0]!.content).toContain('**View Channel**');
    expect(JSON.stringify(mine[0]!.embeds)).toContain('68/100');
  });

  it('DMs refused (50007): the report reaches the requester through the command follow-up while its token lives', async () => {
    const room = fake.addChannel({ guildId: guild.id, name: 'shut2' });
    const task = await liveCommand(await announced({ threaded: true, channelId: room.id }), room.id);
    const userId = (task.origin as DiscordOrigin).userId;
    fake.deleteChannel(room.id);
    fake.refusesDms.add(userId);
    await delivery.succeeded({ ...upTo(task, 16), status: 'succeeded' }, result());
    const dmTry = fake.requests.filter((r) => r.route === 'POST /channels/:id/messages' && r.status === 403);
    expect(dmTry.length).toBeGreaterThanOrEqual(1);
    const followup = [...fake.messages.values()].find(
      (m) => m.history[0]?.via === 'followup' && m.content.includes(task.id),
    );
    expect(followup?.flags).toBe(64);
    expect(followup?.attachments).toHaveLength(1);
    expect(followup?.content).toContain('The channel or thread was deleted');
  });

  it('a failure the thread cannot show: the requester is told by the follow-up while the token lives, else by DM', async () => {
    const room = fake.addChannel({ guildId: guild.id, name: 'locked' });
    const fresh = await liveCommand(await announced({ threaded: true, channelId: room.id }), room.id);
    const stale = await announced({ threaded: true, channelId: room.id });
    fake.injectError('POST /channels/:id/messages', { status: 400, code: 160005, message: 'Thread is locked' }, 2);
    const failure = (t: Task): Task => ({
      ...t,
      status: 'failed',
      refunded: 12,
      error: { userMessage: 'the search provider refused the key', detail: 'x' },
    });
    for (const t of [fresh, stale])
      await expect(delivery.failed(failure(t))).rejects.toBeInstanceOf(PermanentDeliveryError);
    const told = [...fake.messages.values()].find(
      (m) => m.history[0]?.via === 'followup' && m.content.includes(fresh.id),
    );
    expect(told?.flags).toBe(64);
    expect(told?.content).toContain('locked: a moderator needs to unlock it');
    expect(told?.content).toContain('12 credits returned');
    const dm = fake.channelMessages(fake.dmChannelOf(USER)!.id).filter((m) => m.content.includes(stale.id));
    expect(dm.map((m) => m.content)).toEqual([expect.stringContaining("I couldn't post this in")]);
  });

  it('a final delivery whose retries ran out: undelivered tells the requester by the follow-up', async () => {
    const room = fake.addChannel({ guildId: guild.id, name: 'flaky' });
    const task = await liveCommand(await announced({ threaded: true, channelId: room.id }), room.id);
    await delivery.undelivered!({ ...upTo(task, 16), status: 'succeeded' }, 'gave up after 3 attempts: HTTP 500');
    const told = [...fake.messages.values()].find(
      (m) =>
        m.history[0]?.via === 'followup' &&
        m.content.includes(`\`${task.id}\` finished, but its report reached nobody`),
    );
    expect(told?.flags).toBe(64);
    expect(told?.content).toContain('12 credits returned');
    expect(told?.content).toContain('Discord kept failing');
  });

  it('over the upload limit (40005), posts the report as messages and a note, once', async () => {
    const task = await announced({ threaded: true });
    const origin = task.origin as DiscordOrigin;
    const markdown = `# Report\n${'A line of the report with @everyone and ``` in it.\n'.repeat(120)}`;
    const done = { ...upTo(task, 16), status: 'succeeded' as const };
    fake.uploadLimitBytes = 1000;
    try {
      await delivery.succeeded(done, { ...result(), markdown });
      await delivery.succeeded(done, { ...result(), markdown }); // a retried delivery
    } finally {
      fake.uploadLimitBytes = 10 * 1024 * 1024;
    }
    const thread = fake.channelMessages(origin.threadId!);
    expect(thread.filter((m) => m.attachments.length)).toHaveLength(0);
    const parts = thread.filter((m) => m.content.startsWith('```md'));
    expect(parts.length).toBeGreaterThanOrEqual(3);
    expect(parts.every((m) => m.content.length <= 2000)).toBe(true);
    expect(parts.every((m) => JSON.stringify(m.allowed_mentions) === '{"parse":[]}')).toBe(true);
    const note = thread.filter((m) => m.content.includes("over this server's upload limit"));
    expect(note).toHaveLength(1);
    expect(JSON.stringify(note[0]!.embeds)).toContain('PMF 68/100');
    expect(JSON.stringify(fake.message(origin.replyMessageId!).embeds)).toContain('68/100');
  });

  it('a thread deleted before the end: the report goes to the channel under the request, saying why', async () => {
    const room = fake.addChannel({ guildId: guild.id, name: 'room2' });
    const task = await announced({ threaded: true, channelId: room.id });
    const origin = task.origin as DiscordOrigin;
    fake.deleteChannel(origin.threadId!);
    await delivery.succeeded({ ...upTo(task, 16), status: 'succeeded' }, result());
    const inChannel = fake.channelMessages(room.id);
    const report = inChannel.find((m) => m.attachments.length)!;
    expect(report.message_reference?.message_id).toBe(origin.replyMessageId);
    expect(inChannel.find((m) => m.content.includes("couldn't post the report"))?.content).toContain(task.id);
    expect(JSON.stringify(fake.message(origin.replyMessageId!).embeds)).toContain('68/100');
  });
});
