// Runs the real Discord bot (createDiscordBot, real discord.js) against the fake Discord, with the real
// ledger (PostgreSQL) and rate limits (Redis). Tests dispatch interactions and read what the fake recorded.
import { randomUUID } from 'node:crypto';
import { REST, type Client } from 'discord.js';
import type { Limiter } from '../../bot/limiter.js';
import { createDiscordBot, startDiscordBot } from '../../bot/discord/app.js';
import { createDiscordWork, type BotJobs, type BotLedger } from '../../bot/discord/work.js';
import { createLogger } from '../../core/observability/logger.js';
import type { Redis } from '../../core/storage/index.js';
import { newTaskId } from '../../core/tasks/ids.js';
import type { Task } from '../../core/tasks/types.js';
import type { SubmitOptions, SubmitRequest, SubmitResult } from '../../core/jobs/index.js';
import { DEPTH_PROFILES } from '../../core/research/depth.js';
import {
  startFakeDiscord,
  type CallbackRecord,
  type FakeChannel,
  type FakeDiscord,
  type FakeDiscordOptions,
  type FakeGuild,
  type FakeUser,
  type InteractionPayload,
} from '../fakes/discord/index.js';
import { uniquePrefix } from './storage.js';

/**
 * The Discord front door with its work in the same process (the bot process puts the work on its work
 * thread; bot/work-thread.test.ts covers that hand-over).
 */
export function inProcessDiscordBot(
  fake: FakeDiscord,
  deps: {
    ledger: BotLedger;
    jobs: BotJobs;
    redis: Redis;
    env?: { RATE_LIMIT_USER_PER_HOUR?: number; RATE_LIMIT_WORKSPACE_PER_HOUR?: number };
    now?: () => Date;
    submissions?: Limiter;
    replies?: Limiter;
  },
  rateLimitPrefix: string,
  loggerName: string,
): Client {
  const logger = createLogger(loggerName, process.env.DISCORD_TEST_LOG ?? 'silent');
  const work = createDiscordWork({
    env: {
      RATE_LIMIT_USER_PER_HOUR: deps.env?.RATE_LIMIT_USER_PER_HOUR ?? 100,
      RATE_LIMIT_WORKSPACE_PER_HOUR: deps.env?.RATE_LIMIT_WORKSPACE_PER_HOUR ?? 1000,
    },
    ledger: deps.ledger,
    jobs: deps.jobs,
    redis: deps.redis,
    logger,
    rest: new REST({ api: fake.apiUrl }).setToken(fake.token),
    rateLimitPrefix,
    ...(deps.now ? { now: deps.now } : {}),
    ...(deps.submissions ? { limiter: deps.submissions } : {}),
    ...(deps.replies ? { replies: deps.replies } : {}),
  });
  return createDiscordBot({ env: { DISCORD_API_URL: fake.apiUrl }, logger, dispatch: (w) => void work(w) });
}

export type DiscordHarness = {
  fake: FakeDiscord;
  guild: FakeGuild;
  channel: FakeChannel;
  client: Client;
  /** Dispatches `/pmf <sub>` from `user` (in the guild channel unless `channel` says otherwise). */
  command(
    sub: string,
    options?: Record<string, string | undefined>,
    as?: { user?: FakeUser; channel?: FakeChannel; memberPermissions?: bigint },
  ): Promise<{ payload: InteractionPayload; callback: CallbackRecord }>;
  /** The ephemeral text the bot ended up showing for an interaction (reply, deferred edit or followup). */
  privateText(payload: InteractionPayload): Promise<string>;
  close(): Promise<void>;
};

export async function startDiscordHarness(deps: {
  ledger: BotLedger;
  jobs: BotJobs;
  redis: Redis;
  fake?: FakeDiscordOptions;
  env?: { RATE_LIMIT_USER_PER_HOUR?: number; RATE_LIMIT_WORKSPACE_PER_HOUR?: number };
  now?: () => Date;
  /** The bot's lines of research submissions and of private answers (shutdown tests hold on to them). */
  submissions?: Limiter;
  replies?: Limiter;
}): Promise<DiscordHarness> {
  const fake = await startFakeDiscord({ heartbeatIntervalMs: 1000, ...deps.fake });
  const guild = fake.addGuild(`Guild ${randomUUID().slice(0, 6)}`);
  const channel = fake.channel(guild.channelId);
  const client = inProcessDiscordBot(fake, deps, uniquePrefix('discord-rl'), 'discord-test');
  await startDiscordBot(client, fake.token);
  const defaultUser = fake.addUser('maria');

  return {
    fake,
    guild,
    channel,
    client,
    async command(sub, options = {}, as = {}) {
      const ctx = fake.context({
        channel: as.channel ?? channel,
        user: as.user ?? defaultUser,
        ...(as.memberPermissions !== undefined ? { memberPermissions: as.memberPermissions } : {}),
      });
      const payload = fake.slashCommand(ctx, sub, options);
      const callback = await fake.dispatchInteraction(payload);
      return { payload, callback };
    },
    async privateText(payload) {
      return fake.waitFor(
        () => {
          const cb = fake.interactions.get(payload.id)?.callback;
          if (!cb) return undefined;
          const followup = fake.followups(payload.id).find((m) => (m.flags & 64) !== 0);
          if (followup) return followup.content;
          const original = fake.originalMessage(payload.id);
          if (original && (original.flags & 64) !== 0 && original.content) return original.content;
          return undefined;
        },
        10_000,
        `a private answer to ${payload.id}`,
      );
    },
    async close() {
      await client.destroy();
      await fake.close();
    },
  };
}

/**
 * A stand-in for core/jobs with the same contract for the bot's side (requestKey dedup, real ledger
 * reserve, announce, cancel): lets the bot's own behaviour be tested apart from the worker.
 */
export class MemoryJobs implements BotJobs {
  readonly byId = new Map<string, Task>();
  private readonly byKey = new Map<string, string>();
  readonly cancelled: { taskId: string; actor: { id: string; isAdmin: boolean } }[] = [];
  /** The next submission throws this before anything is reserved (an outage of the task store, say). */
  failNext?: Error;

  constructor(
    private readonly ledger: {
      reserve(a: { workspaceId: string; cost: number; taskId: string; actor: string }): Promise<unknown>;
    },
  ) {}

  readonly tasks = {
    get: async (id: string) => this.byId.get(id),
    listByWorkspace: async (workspaceId: string, limit = 10) =>
      [...this.byId.values()]
        .filter((t) => t.workspaceId === workspaceId)
        .slice(-limit)
        .reverse(),
  } as BotJobs['tasks'];

  async submitResearch(req: SubmitRequest, opts: SubmitOptions = {}): Promise<SubmitResult> {
    const failure = this.failNext;
    this.failNext = undefined;
    if (failure) throw failure;
    const existing = this.byKey.get(req.requestKey);
    if (existing) return { task: this.byId.get(existing)!, created: false };
    // The test database keeps every hold of every earlier run: a 4-symbol id would now and then meet one of
    // them (the real job layer then draws another; this stand-in draws one too long to meet any).
    const id = newTaskId(8);
    const now = new Date();
    this.byKey.set(req.requestKey, id);
    let task: Task = {
      id,
      workspaceId: req.workspaceId,
      requester: req.requester,
      origin: req.origin,
      idea: req.idea,
      depth: req.depth,
      cost: DEPTH_PROFILES[req.depth].credits,
      status: 'queued',
      checkpoints: [{ id: 'received', at: now }],
      createdAt: now,
    };
    this.byId.set(id, task);
    try {
      await this.ledger.reserve({
        workspaceId: req.workspaceId,
        cost: task.cost,
        taskId: id,
        actor: `discord:${req.requester.id}`,
      });
    } catch (err) {
      this.byId.delete(id);
      this.byKey.delete(req.requestKey);
      throw err;
    }
    task = { ...task, checkpoints: [...task.checkpoints, { id: 'credits_reserved', at: new Date() }] };
    const refs = opts.announce ? await opts.announce(task) : {};
    task = {
      ...task,
      origin: { ...task.origin, ...refs } as Task['origin'],
      checkpoints: [...task.checkpoints, { id: 'queued', at: new Date() }],
    };
    this.byId.set(id, task);
    return { task, created: true };
  }

  async cancelResearch(taskId: string, actor: { id: string; isAdmin: boolean }): Promise<Task> {
    this.cancelled.push({ taskId, actor });
    const task = { ...this.byId.get(taskId)!, cancelRequested: { by: actor.id, at: new Date() } };
    this.byId.set(taskId, task);
    return task;
  }
}
