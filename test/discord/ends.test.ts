// Every end of a research shows in its Discord thread, whichever process settled it (decision 055): the
// bot's job layer and the console's have no Discord delivery; only the worker posts.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { REST, Routes, type APIChannel, type APIMessage } from 'discord.js';
import { createDiscordDelivery } from '../../bot/discord/delivery.js';
import { cancelCustomId, requestMessage, statusMessage } from '../../bot/discord/render.js';
import { CreditLedger } from '../../core/credits/index.js';
import {
  createJobs,
  createResearchWorker,
  type CreateJobsOptions,
  type Jobs,
  type JobsTuning,
  type ResearchWorker,
} from '../../core/jobs/index.js';
import { FakeEngine, TEST_JOBS_ENV } from '../helpers/jobs-fixtures.js';
import { SwitchableEngine, testTuning } from '../helpers/jobs-harness.js';
import { createLogger } from '../../core/observability/logger.js';
import { ResearchError } from '../../core/research/contract.js';
import type { Db, Mongo, Redis } from '../../core/storage/index.js';
import type { DiscordOrigin, Task } from '../../core/tasks/types.js';
import { PERMISSIONS, type FakeMessage } from '../fakes/discord/index.js';
import { startDiscordHarness, type DiscordHarness } from '../helpers/discord-bot.js';
import { borrowedStorage, testMongo, testPostgres, testRedis } from '../helpers/storage.js';

const IDEA = 'A marketplace that matches dog owners with vetted neighbourhood sitters';
const SLOW = 'A slow research that only a cancel ends';
const FAILING = 'A research whose provider refuses it for good';
/** Long enough for a test to break the channel after the research started. */
const UNHURRIED = 'A research that takes a couple of seconds';

describe('Discord: every end is posted in the thread, whoever settles it', () => {
  let pg: Db;
  let mongo: Mongo;
  let redis: Redis;
  let ledger: CreditLedger;
  let bot: Jobs;
  let worker: ResearchWorker;
  let h: DiscordHarness;
  /** A worker's job layer (not started); `submitSide` is the job layer of the bot or the console. */
  let make: (withDelivery: boolean, extra?: Partial<JobsTuning>) => ResearchWorker;
  let submitSide: () => Jobs;
  const made: Jobs[] = [];
  const logger = createLogger('discord-ends-test', process.env.DISCORD_TEST_LOG ?? 'silent');
  const engine = new SwitchableEngine(new FakeEngine({ stepMs: 5 }));
  engine.forIdea(SLOW, new FakeEngine({ stepMs: 60_000 }));
  engine.forIdea(UNHURRIED, new FakeEngine({ stepMs: 150 }));
  engine.forIdea(
    FAILING,
    new FakeEngine({ failures: [new ResearchError('The search provider refused the key.', 'x', false)] }),
  );

  beforeAll(async () => {
    pg = testPostgres(10);
    mongo = await testMongo('discord_ends');
    redis = testRedis();
    ledger = new CreditLedger(pg);
    const storage = borrowedStorage({ pg, mongo, redis });
    const tuning = testTuning('discord_ends');
    const delivery: { current?: ReturnType<typeof createDiscordDelivery> } = {};
    const options = (withDelivery: boolean, extra: Partial<JobsTuning> = {}): CreateJobsOptions => ({
      // One research slot: a second research stays queued behind a slow one.
      env: { ...TEST_JOBS_ENV, WORKER_CONCURRENCY: 1, JOB_LOCK_LIFETIME_MS: 60_000 },
      storage,
      ledger,
      deliveries: (t: Task) => (withDelivery && t.origin.platform === 'discord' ? delivery.current : undefined),
      logger,
      tuning: { ...tuning, ...extra },
    });
    make = (withDelivery, extra = {}) => {
      const jobs = createResearchWorker({ ...options(withDelivery, extra), engine });
      made.push(jobs);
      return jobs;
    };
    submitSide = () => {
      const jobs = createJobs(options(false));
      made.push(jobs);
      return jobs;
    };
    bot = submitSide();
    h = await startDiscordHarness({ ledger, jobs: bot, redis });
    delivery.current = createDiscordDelivery({ rest: new REST({ api: h.fake.apiUrl }).setToken(h.fake.token), logger });
    worker = make(true);
    await worker.startWorker();
  });

  afterAll(async () => {
    await Promise.allSettled(made.map((j) => j.stop()));
    await h.close();
    await mongo.client.close();
    redis.disconnect();
    await pg.destroy();
  });

  async function research(idea: string) {
    const user = h.fake.addUser(`u-${randomUUID().slice(0, 4)}`);
    await h.command('research', { idea, depth: 'essential' }, { user });
    for (let i = 0; i < 200; i++) {
      const ws = await ledger.findWorkspace('discord', h.guild.id);
      const found = (await bot.tasks.search({ workspaceId: ws?.id ?? 'none', pageSize: 50 })).items.find(
        (t) => t.requester.id === user.id && (t.origin as DiscordOrigin).statusMessageId,
      );
      if (found) return { user, task: found };
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no task for ${user.id}`);
  }

  const lastBody = (m: FakeMessage) => JSON.stringify(m.history.at(-1)?.body ?? {});

  /** Waits for the end in the thread: the status and the request edited, no Cancel button, one notice. */
  async function endShown(task: Task, marker: string) {
    const origin = task.origin as DiscordOrigin;
    const status = await h.fake.waitFor(
      () => {
        const m = h.fake.message(origin.statusMessageId!);
        return lastBody(m).includes(marker) ? m : undefined;
      },
      20_000,
      `the status of ${task.id} to show ${marker}`,
    );
    expect(status.components).toEqual([]);
    const reply = await h.fake.waitFor(
      () => {
        const m = h.fake.message(origin.replyMessageId!);
        return lastBody(m).includes('running…') ? undefined : m;
      },
      10_000,
      'the request message edited',
    );
    const notices = h.fake.channelMessages(origin.threadId!).filter((m) => m.content.includes('returned'));
    expect(notices).toHaveLength(1);
    return { status, reply, notice: notices[0]! };
  }

  const running = (task: Task) =>
    h.fake.waitFor(async () => (await bot.tasks.get(task.id))?.status === 'running', 20_000, 'the job to start');

  it('the Cancel button on a running research', async () => {
    const { user, task } = await research(SLOW);
    await running(task);
    const origin = task.origin as DiscordOrigin;
    const click = h.fake.button(
      h.fake.context({ channel: h.fake.channel(origin.threadId!), user }),
      cancelCustomId(task.id),
      origin.statusMessageId!,
    );
    await h.fake.dispatchInteraction(click);
    expect(await h.privateText(click)).toContain('Cancelling');
    const { reply, notice } = await endShown(task, '🛑 cancelled');
    expect(notice.content).toContain('6 credits returned');
    expect(lastBody(reply)).toContain('cancelled · 6 credits returned');
    expect((await ledger.getHold(task.id))?.status).toBe('released');
  });

  it('/pmf cancel on a research queued behind another', async () => {
    const blocker = await research(SLOW);
    await running(blocker.task);
    const { user, task } = await research(`${IDEA} (queued)`);
    expect((await bot.tasks.get(task.id))?.status).toBe('queued');
    const { payload } = await h.command('cancel', { id: task.id }, { user });
    expect(await h.privateText(payload)).toContain('Cancelling');
    await endShown(task, '🛑 cancelled');
    expect((await ledger.getHold(task.id))?.status).toBe('released');
    await bot.cancelResearch(blocker.task.id, { id: blocker.user.id, isAdmin: false });
    await endShown(blocker.task, '🛑 cancelled');
  });

  it("the console's cancel", async () => {
    const { task } = await research(SLOW);
    await running(task);
    const console = submitSide();
    await console.cancelResearch(task.id, { id: 'console:ops@example.com', isAdmin: true });
    await endShown(task, '🛑 cancelled');
    expect((await ledger.getHold(task.id))?.status).toBe('released');
  });

  /** Runs an unhurried research with its channel hidden from the bot once it runs, until its hold closes. */
  async function unreachable(arrange: (user: { id: string }) => void, undo: (user: { id: string }) => void) {
    const { user, task } = await research(UNHURRIED);
    await running(task);
    const perms = h.fake.channel(h.channel.id).botPermissions;
    h.fake.setBotPermissions(h.channel.id, perms & ~PERMISSIONS.VIEW_CHANNEL);
    arrange(user);
    try {
      // The fake's waitFor takes a synchronous predicate: the stores are polled here.
      for (let i = 0; i < 400; i++) {
        const doc = await bot.tasks.getStored(task.id);
        const t =
          doc?.deliveredAt && (doc.credits?.captured || doc.credits?.released)
            ? await bot.tasks.get(task.id)
            : undefined;
        if (t) return { user, task: t };
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`${task.id} did not end`);
    } finally {
      h.fake.setBotPermissions(h.channel.id, perms);
      undo(user);
    }
  }

  it('neither thread nor channel takes the report: the requester gets it by DM, and it is charged', async () => {
    const { user, task } = await unreachable(
      () => undefined,
      () => undefined,
    );
    const dm = h.fake.channelMessages(h.fake.dmChannelOf(user.id)!.id);
    const report = dm.find((m) => m.attachments.length)!;
    expect(report.content).toContain(`Your PMF report \`${task.id}\` is here`);
    expect(report.content).toContain('**View Channel**');
    expect(task.checkpoints.map((c) => c.id)).toContain('delivered');
    expect((await ledger.getHold(task.id))?.status).toBe('captured');
  });

  it('DMs refused too: the report comes as the command follow-up while its token lives', async () => {
    const { task } = await unreachable(
      (user) => h.fake.refusesDms.add(user.id),
      (user) => h.fake.refusesDms.delete(user.id),
    );
    const followup = [...h.fake.messages.values()].find(
      (m) => m.history[0]?.via === 'followup' && m.content.includes(`Your PMF report \`${task.id}\``),
    );
    expect(followup?.flags).toBe(64);
    expect(followup?.attachments).toHaveLength(1);
    expect((await ledger.getHold(task.id))?.status).toBe('captured');
  });

  it('DMs refused and the command token dead: nothing charged, and the task says why', async () => {
    const { task } = await unreachable(
      (user) => {
        h.fake.refusesDms.add(user.id);
        h.fake.setDeadWebhooks(50027);
      },
      (user) => {
        h.fake.refusesDms.delete(user.id);
        h.fake.setDeadWebhooks(undefined);
      },
    );
    expect(task.delivery?.failedPermanently).toContain('50027');
    expect((await ledger.getHold(task.id))?.status).toBe('released');
  });

  it('a failure', async () => {
    const { task } = await research(FAILING);
    const { notice } = await endShown(task, '❌');
    expect(notice.content).toContain('The search provider refused the key.');
    expect((await ledger.getHold(task.id))?.status).toBe('released');
  });

  it('an orphan sweep, by a process with no Discord client', async () => {
    // What submitResearch does up to the job's save (the request message, its thread and the status), and
    // then the process died.
    const ws = await ledger.ensureWorkspace({ platform: 'discord', externalId: h.guild.id, name: 'guild' });
    const { task: made } = await bot.tasks.create({
      requestKey: `orphan:${randomUUID()}`,
      workspaceId: ws.id,
      requester: { id: '100000000000000001', name: 'maria' },
      origin: { platform: 'discord', guildId: h.guild.id, channelId: h.channel.id, userId: '100000000000000001' },
      idea: IDEA,
      depth: 'essential',
      cost: 6,
    });
    await ledger.reserve({ workspaceId: ws.id, cost: 6, taskId: made.id, actor: 'maria' });
    const reserved = (await bot.tasks.addCheckpoint(made.id, 'credits_reserved'))!;
    const rest = new REST({ api: h.fake.apiUrl }).setToken(h.fake.token);
    const reply = (await rest.post(Routes.channelMessages(h.channel.id), {
      body: requestMessage(reserved, { threaded: true }),
    })) as APIMessage;
    const thread = (await rest.post(Routes.threads(h.channel.id, reply.id), {
      body: { name: `PMF ${made.id}`, auto_archive_duration: 1440 },
    })) as APIChannel;
    const status = (await rest.post(Routes.channelMessages(thread.id), {
      body: statusMessage(reserved, new Date()),
    })) as APIMessage;
    const task = (await bot.tasks.setOriginRefs(made.id, {
      replyMessageId: reply.id,
      threadId: thread.id,
      statusMessageId: status.id,
    }))!;

    const sweeper = make(false, { orphanAfterMs: 0 });
    expect(await sweeper.sweepOrphans()).toBeGreaterThanOrEqual(1);
    const { notice } = await endShown(task, '❌');
    expect(notice.content).toContain('interrupted before it could be queued');
    expect((await ledger.getHold(task.id))?.status).toBe('released');
  });
});
