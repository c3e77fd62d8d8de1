// End to end on Discord: the real discord.js bot and the real job layer (Agenda on FerretDB, Redis), the
// real ledger (PostgreSQL), the research engine on the sandbox providers, and the Discord delivery — all
// against the fake Discord.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { REST } from 'discord.js';
import { createDiscordDelivery } from '../../bot/discord/delivery.js';
import { cancelCustomId } from '../../bot/discord/render.js';
import { CreditLedger } from '../../core/credits/index.js';
import { createJobs, createResearchWorker, type Jobs, type ResearchWorker } from '../../core/jobs/index.js';
import { TEST_JOBS_ENV } from '../helpers/jobs-fixtures.js';
import { testTuning } from '../helpers/jobs-harness.js';
import { createLogger } from '../../core/observability/logger.js';
import { startSandbox, type Sandbox } from '../../core/sandbox/index.js';
import type { Db, Mongo, Redis } from '../../core/storage/index.js';
import type { DiscordOrigin, Task } from '../../core/tasks/types.js';
import type { FakeMessage } from '../fakes/discord/index.js';
import { startDiscordHarness, type DiscordHarness } from '../helpers/discord-bot.js';
import { sandboxEngine } from '../helpers/research.js';
import { borrowedStorage, testMongo, testPostgres, testRedis, uniquePrefix } from '../helpers/storage.js';

const IDEA = 'A marketplace that matches dog owners with vetted neighbourhood sitters';

describe('Discord end to end', () => {
  let pg: Db;
  let mongo: Mongo;
  let redis: Redis;
  let sandbox: Sandbox;
  let ledger: CreditLedger;
  let submitter: Jobs;
  let worker: ResearchWorker;
  let h: DiscordHarness;
  const logger = createLogger('discord-flow-test', process.env.DISCORD_TEST_LOG ?? 'silent');
  let makeWorker: () => ResearchWorker;

  beforeAll(async () => {
    pg = testPostgres(10);
    mongo = await testMongo('discord_flow');
    redis = testRedis();
    sandbox = await startSandbox({ latencyMs: { search: 20, extract: 20, llm: 40 } });
    ledger = new CreditLedger(pg);
    const storage = borrowedStorage({ pg, mongo, redis });
    const engine = sandboxEngine(sandbox, redis, pg, { cachePrefix: uniquePrefix('discord-flow-cache') });
    const tuning = testTuning('discord_flow');
    // Chosen after the harness exists: the delivery needs the fake's URL and token.
    const delivery: { current?: ReturnType<typeof createDiscordDelivery> } = {};
    const deliveries = (t: Task) => (t.origin.platform === 'discord' ? delivery.current : undefined);
    // A lock longer than any test research: this file tests Discord, not lock takeover.
    const options = {
      env: { ...TEST_JOBS_ENV, JOB_LOCK_LIFETIME_MS: 60_000 },
      storage,
      ledger,
      deliveries,
      logger,
      tuning,
    };
    // The bot process only submits; workers are separate instances (processes, as far as the queue knows).
    submitter = createJobs(options);
    makeWorker = () => createResearchWorker({ ...options, engine });
    h = await startDiscordHarness({ ledger, jobs: submitter, redis });
    delivery.current = createDiscordDelivery({ rest: new REST({ api: h.fake.apiUrl }).setToken(h.fake.token), logger });
    worker = makeWorker();
    await worker.startWorker();
  });

  afterAll(async () => {
    await Promise.allSettled([worker.stop(), submitter.stop()]);
    await h.close();
    await sandbox.close();
    await mongo.client.close();
    redis.disconnect();
    await pg.destroy();
  });

  async function research(idea: string, depth = 'essential') {
    const user = h.fake.addUser(`u-${randomUUID().slice(0, 4)}`);
    const { payload, callback } = await h.command('research', { idea, depth }, { user });
    return { user, payload, callback };
  }

  async function taskOf(userId: string): Promise<Task> {
    for (let i = 0; i < 200; i++) {
      const found = (
        await submitter.tasks.search({
          workspaceId: (await ledger.findWorkspace('discord', h.guild.id))?.id ?? 'none',
          pageSize: 50,
        })
      ).items.find((t) => t.requester.id === userId && (t.origin as DiscordOrigin).statusMessageId);
      if (found) return found;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no task for ${userId}`);
  }

  async function settled(taskId: string, timeoutMs = 150_000): Promise<Task> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const t = await submitter.tasks.get(taskId);
      // A success counts `delivered`; a failure or cancel is final once its notice is in the thread.
      if (t?.status === 'succeeded' && t.checkpoints.some((c) => c.id === 'delivered')) return t;
      if (
        (t?.status === 'failed' || t?.status === 'cancelled') &&
        h.fake.channelMessages((t.origin as DiscordOrigin).threadId ?? '').some((m) => m.content.includes('returned'))
      )
        return t;
      if (Date.now() > deadline) {
        if (process.env.DISCORD_TEST_LOG)
          console.log(
            JSON.stringify({ task: t, requests: h.fake.requests.slice(-15).map((r) => [r.route, r.status]) }, null, 1),
          );
        throw new Error(`task ${taskId} did not settle (status ${t?.status})`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The N/17 counts a status message showed, edit by edit. */
  function shownCounts(status: FakeMessage): number[] {
    return status.history
      .map((e) => Number(/(\d+)\/17/.exec(JSON.stringify(e.body))?.[1] ?? NaN))
      .filter((n) => !Number.isNaN(n));
  }

  it('a research that waited in the queue past the 15-minute token life still completes through channel messages', async () => {
    // No worker running: the research waits in the queue while the interaction token expires.
    await worker.stop();
    const { user, payload, callback } = await research(`${IDEA} (queued)`);
    expect(callback.type).toBe(5);
    const queued = await taskOf(user.id);
    expect(queued.status).toBe('queued');
    h.fake.advanceClock(16 * 60_000);
    const before = h.fake.requests.length;
    worker = makeWorker();
    await worker.startWorker();
    const done = await settled(queued.id);
    expect(done.status).toBe('succeeded');
    const origin = done.origin as DiscordOrigin;
    const report = h.fake.channelMessages(origin.threadId!).find((m) => m.attachments.length);
    expect(report?.attachments[0]?.filename).toBe(`pmf-${done.id}.md`);
    expect(JSON.stringify(h.fake.originalMessage(payload.id)!.embeds)).toMatch(/PMF \d+\/100/);
    const after = h.fake.requests.slice(before);
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((r) => r.auth === 'bot' && r.status < 400)).toBe(true);
  }, 180_000);

  it('the whole flow: deferred, thread, status edits in checkpoint order, report attached, summary, reply updated, credits captured', async () => {
    const { user, payload, callback } = await research(IDEA, 'standard');
    expect(callback.type).toBe(5);
    const task = await taskOf(user.id);
    const done = await settled(task.id);
    expect(done.status).toBe('succeeded');
    const origin = done.origin as DiscordOrigin;
    const reply = h.fake.originalMessage(payload.id)!;
    expect(reply.threadId).toBe(origin.threadId);
    expect(reply.content).toContain('Standard · 12 credits');

    const status = h.fake.message(origin.statusMessageId!);
    const counts = shownCounts(status);
    expect(counts.length).toBeGreaterThan(2);
    expect([...counts].sort((a, b) => a - b)).toEqual(counts);
    expect(counts.at(-1)).toBe(17);
    expect(status.components).toEqual([]);

    const thread = h.fake.channelMessages(origin.threadId!);
    const report = thread.find((m) => m.attachments.length)!;
    expect(report.attachments[0]!.filename).toBe(`pmf-${done.id}.md`);
    expect(report.attachments[0]!.data.toString()).toBe(done.report!.markdown);
    const summary = JSON.stringify(report.embeds);
    expect(summary).toContain(`PMF ${done.report!.json.score.total}/100`);
    expect(summary).toContain('12 credits');
    expect(JSON.stringify(reply.embeds)).toContain(`PMF ${done.report!.json.score.total}/100`);

    const hold = await ledger.getHold(done.id);
    expect(hold?.status).toBe('captured');
    for (const m of [...thread, reply]) expect(m.allowed_mentions).toEqual({ parse: [] });
  }, 180_000);

  it('a gateway reconnect mid-job loses no update, and interactions sent meanwhile are replayed', async () => {
    const { user } = await research(`${IDEA} (reconnect)`);
    const task = await taskOf(user.id);
    const status = () => h.fake.message((task.origin as DiscordOrigin).statusMessageId!);
    await h.fake.waitFor(() => shownCounts(status()).some((n) => n >= 4), 60_000, 'the job to start');
    const resumesBefore = h.fake.gatewayStats.resumes;
    h.fake.dropGateway();
    const asked = h.fake.slashCommand(h.fake.context({ channel: h.channel, user }), 'status', { id: task.id });
    const answered = h.fake.dispatchInteraction(asked);
    const done = await settled(task.id);
    expect((await answered).type).toBe(5);
    expect(await h.privateText(asked)).toContain(task.id);
    expect(h.fake.gatewayStats.resumes).toBe(resumesBefore + 1);
    expect(done.status).toBe('succeeded');
    const counts = shownCounts(status());
    expect([...counts].sort((a, b) => a - b)).toEqual(counts);
    expect(counts.at(-1)).toBe(17);
    expect(
      h.fake.channelMessages((done.origin as DiscordOrigin).threadId!).filter((m) => m.attachments.length),
    ).toHaveLength(1);
  }, 180_000);

  it('the Cancel button stops a running research and returns its credits', async () => {
    sandbox.setLatency({ llm: 400 });
    try {
      const { user } = await research(`${IDEA} (cancel)`);
      const task = await taskOf(user.id);
      const origin = task.origin as DiscordOrigin;
      await h.fake.waitFor(
        () => shownCounts(h.fake.message(origin.statusMessageId!)).some((n) => n >= 4),
        60_000,
        'the job to start',
      );
      const click = h.fake.button(
        h.fake.context({ channel: h.fake.channel(origin.threadId!), user }),
        cancelCustomId(task.id),
        origin.statusMessageId!,
      );
      await h.fake.dispatchInteraction(click);
      expect(await h.privateText(click)).toContain('Cancelling');
      const done = await settled(task.id);
      expect(done.status).toBe('cancelled');
      expect(done.refunded).toBe(6);
      expect((await ledger.getHold(task.id))?.status).toBe('released');
      const notice = h.fake
        .channelMessages(origin.threadId!)
        .map((m) => m.content)
        .join('\n');
      expect(notice).toContain('6 credits returned');
    } finally {
      sandbox.setLatency({ llm: 40 });
    }
  }, 180_000);

  it('when the status message cannot be posted, the hold is released and the reply says nothing was charged', async () => {
    const user = h.fake.addUser(`u-${randomUUID().slice(0, 4)}`);
    h.fake.injectError('POST /channels/:id/messages', { status: 403, code: 50013, message: 'Missing Permissions' });
    const { payload } = await h.command('research', { idea: `${IDEA} (no status)`, depth: 'essential' }, { user });
    const reply = await h.fake.waitFor(
      () => {
        const m = h.fake.originalMessage(payload.id);
        return m?.content.includes('could not start') ? m : undefined;
      },
      30_000,
      'the reply to say the research did not start',
    );
    expect(reply.content).toContain('Nothing was charged');
    // Discord's refusal in plain words, naming who fixes it (decision 059).
    expect(reply.content).toContain("I'm missing a permission in this channel: a server admin needs to give PMF Scout");
    const ws = (await ledger.findWorkspace('discord', h.guild.id))!;
    const task = (await submitter.tasks.search({ workspaceId: ws.id, pageSize: 100 })).items.find(
      (t) => t.requester.id === user.id,
    )!;
    expect(task.status).toBe('failed');
    expect((await ledger.getHold(task.id))?.status).toBe('released');
  }, 60_000);
});
