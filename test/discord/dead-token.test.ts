// An interaction whose webhook is already gone when the bot first uses it (token revoked or expired: 401/50027,
// or 10015 Unknown Webhook): the real discord.js bot and the real job layer against the fake Discord. The
// request is shown in the channel with the bot token, so the requester still sees the research and its
// outcome; where the bot may not post either, the task fails uncharged and its failure says why.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { REST } from 'discord.js';
import { createDiscordDelivery } from '../../bot/discord/delivery.js';
import { CreditLedger } from '../../core/credits/index.js';
import { createResearchWorker, type ResearchWorker } from '../../core/jobs/index.js';
import { FakeEngine, TEST_JOBS_ENV } from '../helpers/jobs-fixtures.js';
import { testTuning } from '../helpers/jobs-harness.js';
import { createLogger } from '../../core/observability/logger.js';
import type { Db, Mongo, Redis } from '../../core/storage/index.js';
import type { DiscordOrigin, Task } from '../../core/tasks/types.js';
import { startDiscordHarness, type DiscordHarness } from '../helpers/discord-bot.js';
import { borrowedStorage, testMongo, testPostgres, testRedis } from '../helpers/storage.js';

describe('Discord: the interaction webhook is gone before the first edit', () => {
  let pg: Db;
  let mongo: Mongo;
  let redis: Redis;
  let ledger: CreditLedger;
  let jobs: ResearchWorker;
  let h: DiscordHarness;
  const logger = createLogger('discord-dead-token-test', process.env.DISCORD_TEST_LOG ?? 'silent');

  beforeAll(async () => {
    pg = testPostgres(5);
    mongo = await testMongo('discord_dead_token');
    redis = testRedis();
    ledger = new CreditLedger(pg);
    const storage = borrowedStorage({ pg, mongo, redis });
    const delivery: { current?: ReturnType<typeof createDiscordDelivery> } = {};
    jobs = createResearchWorker({
      env: { ...TEST_JOBS_ENV, JOB_LOCK_LIFETIME_MS: 60_000 },
      storage,
      ledger,
      engine: new FakeEngine({ stepMs: 10 }),
      deliveries: (t: Task) => (t.origin.platform === 'discord' ? delivery.current : undefined),
      logger,
      tuning: testTuning('discord_dead_token'),
    });
    h = await startDiscordHarness({ ledger, jobs, redis });
    delivery.current = createDiscordDelivery({ rest: new REST({ api: h.fake.apiUrl }).setToken(h.fake.token), logger });
    await jobs.startWorker();
  });

  afterEach(() => h.fake.setDeadWebhooks(undefined));
  afterAll(async () => {
    await jobs?.stop();
    await h?.close();
    await mongo?.client.close();
    redis?.disconnect();
    await pg?.destroy();
  });

  /** The task of `userId` once `done` says so (polled: the job layer runs on its own). */
  async function taskOf(userId: string, done: (t: Task) => boolean, what: string): Promise<Task> {
    const until = Date.now() + 60_000;
    for (;;) {
      const ws = await ledger.findWorkspace('discord', h.guild.id);
      const page = await jobs.tasks.search({ workspaceId: ws?.id ?? 'none', pageSize: 50 });
      const t = page.items.find((x) => x.requester.id === userId);
      if (t && done(t)) return t;
      if (Date.now() > until) throw new Error(`timed out waiting for ${what} (status ${t?.status})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it.each([50027, 10015] as const)(
    'webhook answers %i: the request is posted in the channel with the bot token and the report follows',
    async (code) => {
      h.fake.setDeadWebhooks(code);
      const user = h.fake.addUser(`dead-${randomUUID().slice(0, 4)}`);
      const idea = `A rota planner for volunteer lifeboat crews (${code})`;
      const { payload, callback } = await h.command('research', { idea, depth: 'essential' }, { user });
      expect(callback.type).toBe(5);

      const task = await taskOf(
        user.id,
        (t) => t.checkpoints.some((c) => c.id === 'delivered'),
        'the research to be delivered',
      );
      expect(task.status).toBe('succeeded');
      const origin = task.origin as DiscordOrigin;
      // Not the interaction's reply (its webhook is gone: it stays "thinking…") but a message the bot posted.
      expect(h.fake.originalMessage(payload.id)?.history.map((e) => e.via)).toEqual(['callback']);
      const request = h.fake.message(origin.replyMessageId!);
      expect(request.channel_id).toBe(h.channel.id);
      expect(request.interactionId).toBeUndefined();
      expect(request.content).toContain(`<@${user.id}>`);
      // It pings the requester once, as it is posted; later edits ping no one.
      expect(request.history[0]!.body.allowed_mentions).toEqual({ parse: [], users: [user.id] });
      // The research went on as usual: its thread holds the status and the report, the request shows the score.
      expect(origin.threadId).toBe(request.threadId);
      const thread = h.fake.channelMessages(origin.threadId!);
      expect(thread.some((m) => m.attachments.some((a) => a.filename.endsWith('.md')))).toBe(true);
      expect(JSON.stringify(h.fake.message(origin.replyMessageId!).history.at(-1)?.body)).toMatch(/\/100/);
    },
    90_000,
  );

  it('webhook gone and the channel closed to the bot: uncharged, and the failure says why', async () => {
    h.fake.setDeadWebhooks(50027);
    h.fake.injectError('POST /channels/:id/messages', { status: 403, code: 50013, message: 'Missing Permissions' });
    const user = h.fake.addUser(`closed-${randomUUID().slice(0, 4)}`);
    await h.command('research', { idea: 'A booking tool for shared allotment sheds', depth: 'essential' }, { user });
    const failed = await taskOf(user.id, (t) => t.status === 'failed', 'the task to fail');
    const doc = await jobs.tasks.getDoc(failed.id);
    expect(doc!.refunded).toBe(doc!.cost);
    expect(doc!.error?.userMessage).toMatch(/could not post its messages in this channel/);
    expect(doc!.error?.detail).toMatch(
      /webhook is gone \(50027 Invalid Webhook Token\).*cannot post in channel.*50013/,
    );
  }, 60_000);
});
