// The Discord bot: a discord.js client that answers `/pmf` and the Cancel button. Every interaction is
// acknowledged first (Discord allows 3 s), then the work is done; refusals are ephemeral, cost nothing and
// say what to do. After the first reply everything uses the bot token on channel messages, because the
// interaction token dies after 15 minutes and a queued research may outlive it (see delivery.ts).
import {
  Client,
  DiscordAPIError,
  Events,
  GatewayIntentBits,
  MessageFlags,
  PermissionFlagsBits,
  Routes,
  type APIMessage,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type Interaction,
  type RESTPostAPIChannelThreadsResult,
} from 'discord.js';
import type { Env } from '../../core/config/index.js';
import type { CreditLedger } from '../../core/credits/index.js';
import type { Jobs } from '../../core/jobs/index.js';
import { checkResearchRateLimit } from '../../core/limits/rate-limit.js';
import type { Logger } from '../../core/observability/logger.js';
import { DEFAULT_DEPTH, isDepth, type Depth } from '../../core/research/depth.js';
import { checkIdea } from '../../core/research/idea.js';
import type { Redis } from '../../core/storage/index.js';
import { normalizeTaskId } from '../../core/tasks/ids.js';
import type { DiscordOrigin, Task } from '../../core/tasks/types.js';
import { COMMAND_NAME } from './commands.js';
import { Limiter, LimiterClosedError, RESTARTING_TEXT } from '../limiter.js';
import { channelCapabilities } from './permissions.js';
import {
  NO_PINGS,
  alreadyFinishedText,
  balanceText,
  cancelRefusedText,
  cancelRequestedText,
  dmText,
  notStartedMessage,
  fit,
  helpText,
  insufficientText,
  internalErrorText,
  listText,
  missingPermissionsText,
  notFoundText,
  parseCancelId,
  rateLimitedText,
  requestMessage,
  statusMessage,
  statusText,
  suspendedText,
  type MessageBody,
} from './render.js';

export type BotLedger = Pick<CreditLedger, 'ensureWorkspace' | 'balance'>;
export type BotJobs = Pick<Jobs, 'submitResearch' | 'cancelResearch'> & {
  tasks: Pick<Jobs['tasks'], 'get' | 'listByWorkspace'>;
};

export type DiscordBotOptions = {
  env: Pick<Env, 'DISCORD_API_URL' | 'RATE_LIMIT_USER_PER_HOUR' | 'RATE_LIMIT_WORKSPACE_PER_HOUR'>;
  ledger: BotLedger;
  jobs: BotJobs;
  redis: Redis;
  logger: Logger;
  now?: () => Date;
  /** Redis key prefix of the research rate limits (tests isolate with their own). */
  rateLimitPrefix?: string;
  /**
   * Research submissions worked on at once in this process, the rest waiting their turn (decision 065; 8 by
   * default). The process drains it on shutdown.
   */
  submissions?: Limiter;
};

/** Research submissions worked on at once after their deferrals, by default (decision 065). */
export const DISCORD_SUBMISSIONS_AT_ONCE = 8;

/** How the research is shown: a thread on the reply, or (threads not possible) everything under the reply. */
export type Placement = { threadId?: string; statusChannelId: string };

const EPHEMERAL = MessageFlags.Ephemeral;

/** Discord error codes meaning "the thread could not be made here"; the research goes on without one. */
const NO_THREAD_CODES = new Set([50001, 50013, 50024, 160004]);

/** Interactions handled recently by this process: Discord may replay one after a resume. */
class RecentIds {
  private readonly ids = new Set<string>();
  constructor(private readonly max = 5000) {}
  /** True the first time `id` is seen. */
  add(id: string): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > this.max) this.ids.delete(this.ids.values().next().value!);
    return true;
  }
}

export function createDiscordBot(opts: DiscordBotOptions): Client {
  const client = new Client({
    intents: [GatewayIntentBits.Guilds],
    ...(opts.env.DISCORD_API_URL ? { rest: { api: opts.env.DISCORD_API_URL } } : {}),
  });
  const handler = new InteractionHandler(client, opts);
  client.on(Events.InteractionCreate, (interaction) => void handler.handle(interaction));
  client.on(Events.Error, (err) => opts.logger.error({ err }, 'discord client error'));
  client.on(Events.ShardResume, (id, replayed) => opts.logger.info({ shard: id, replayed }, 'discord gateway resumed'));
  return client;
}

/** Logs in and resolves once the client is ready (guilds received). */
export async function startDiscordBot(client: Client, token: string): Promise<Client> {
  const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
  await client.login(token);
  await ready;
  return client;
}

function ledgerCode(err: unknown): string | undefined {
  return err && typeof err === 'object' && 'code' in err && typeof (err as { code: unknown }).code === 'string'
    ? (err as { code: string }).code
    : undefined;
}

function isAlreadyAcknowledged(err: unknown): boolean {
  return err instanceof DiscordAPIError && (err.code === 40060 || err.code === 10062);
}

class InteractionHandler {
  private readonly recent = new RecentIds();
  private readonly workspaces = new Map<string, string>();
  private readonly now: () => Date;
  private readonly submissions: Limiter;

  constructor(
    private readonly client: Client,
    private readonly opts: DiscordBotOptions,
  ) {
    this.now = opts.now ?? (() => new Date());
    this.submissions = opts.submissions ?? new Limiter(DISCORD_SUBMISSIONS_AT_ONCE);
  }

  async handle(interaction: Interaction): Promise<void> {
    if (!this.recent.add(interaction.id)) return;
    const log = this.opts.logger.child({ interactionId: interaction.id, guildId: interaction.guildId ?? undefined });
    try {
      if (interaction.isChatInputCommand() && interaction.commandName === COMMAND_NAME)
        await this.command(interaction, log);
      else if (interaction.isButton() && parseCancelId(interaction.customId)) await this.cancelButton(interaction, log);
    } catch (err) {
      if (isAlreadyAcknowledged(err)) {
        log.info('interaction already acknowledged elsewhere; ignoring the duplicate');
        return;
      }
      log.error({ err }, 'discord interaction failed');
      await this.sayPrivately(interaction, internalErrorText()).catch((e: unknown) =>
        log.warn({ err: e }, 'could not report the failure'),
      );
    }
  }

  private async command(i: ChatInputCommandInteraction, log: Logger): Promise<void> {
    const sub = i.options.getSubcommand(false) ?? 'help';
    if (!i.inGuild()) return this.replyNow(i, dmText());
    if (sub === 'help') return this.replyNow(i, helpText());
    if (sub !== 'research') {
      await i.deferReply({ flags: EPHEMERAL });
      const workspaceId = await this.workspace(i);
      const text = await this.readOnly(sub, i, workspaceId);
      await i.editReply({ content: fit(text, 2000), allowedMentions: NO_PINGS });
      return;
    }
    // Everything that can be refused without I/O is refused before acknowledging, so it can be ephemeral.
    const idea = checkIdea(i.options.getString('idea') ?? '');
    if (!idea.ok) return this.replyNow(i, `${idea.message} Nothing was charged.`);
    const rawDepth = i.options.getString('depth') ?? DEFAULT_DEPTH;
    const depth: Depth = isDepth(rawDepth) ? rawDepth : DEFAULT_DEPTH;
    const caps = channelCapabilities(i.appPermissions.bitfield, i.channel?.type);
    if (caps.missing.length) return this.replyNow(i, missingPermissionsText(caps.missing));

    await i.deferReply();
    try {
      await this.submissions.run(() => this.research(i, idea.idea, depth, caps.threads, log));
    } catch (err) {
      if (!(err instanceof LimiterClosedError)) throw err;
      await this.refuseAfterDefer(i, RESTARTING_TEXT);
    }
  }

  private async research(
    i: ChatInputCommandInteraction<'cached' | 'raw'>,
    idea: string,
    depth: Depth,
    threads: boolean,
    log: Logger,
  ): Promise<void> {
    const limit = await checkResearchRateLimit(
      this.opts.redis,
      this.opts.env,
      { platform: 'discord', workspace: i.guildId, user: i.user.id },
      this.opts.rateLimitPrefix,
    );
    if (!limit.allowed) return this.refuseAfterDefer(i, rateLimitedText(limit));
    const workspaceId = await this.workspace(i);
    const origin: DiscordOrigin = {
      platform: 'discord',
      guildId: i.guildId,
      channelId: i.channelId,
      userId: i.user.id,
      applicationId: i.applicationId,
    };
    // Once the reply shows the request, a failure must be shown there too (not as a vanishing ephemeral).
    const progress = { replyEdited: false };
    try {
      const { task, created } = await this.opts.jobs.submitResearch(
        {
          requestKey: `discord:${i.id}`,
          workspaceId,
          requester: { id: i.user.id, name: i.user.username },
          origin,
          idea,
          depth,
        },
        { announce: (t) => this.announce(i, t, threads, progress) },
      );
      log.info({ taskId: task.id, created }, 'research submitted');
      if (!created) await this.refuseAfterDefer(i, `That request already started research \`${task.id}\`.`);
    } catch (err) {
      const code = ledgerCode(err);
      if (code === 'insufficient_credits' && err instanceof Error && 'remaining' in err) {
        const e = err as Error & { balance: number; cost: number; remaining: Record<Depth, number> };
        return this.refuseAfterDefer(i, insufficientText(e, depth));
      }
      if (code === 'workspace_suspended') return this.refuseAfterDefer(i, suspendedText());
      if (!progress.replyEdited) throw err;
      log.error({ err }, 'research could not start after its request was shown');
      await this.editOriginal(i, notStartedMessage());
    }
  }

  /** Turns the deferred reply into the request message, opens its thread and posts the status there. */
  private async announce(
    i: ChatInputCommandInteraction<'cached' | 'raw'>,
    task: Task,
    threads: boolean,
    progress: { replyEdited: boolean },
  ): Promise<Partial<DiscordOrigin>> {
    const reply = await this.editOriginal(i, requestMessage(task, { threaded: threads }));
    progress.replyEdited = true;
    let threadId: string | undefined;
    if (threads) {
      try {
        const thread = (await this.client.rest.post(Routes.threads(i.channelId, reply.id), {
          body: { name: fit(`PMF ${task.id} · ${task.idea}`, 100), auto_archive_duration: 1440 },
        })) as RESTPostAPIChannelThreadsResult;
        threadId = thread.id;
      } catch (err) {
        if (!(err instanceof DiscordAPIError && typeof err.code === 'number' && NO_THREAD_CODES.has(err.code)))
          throw err;
        this.opts.logger.warn(
          { taskId: task.id, code: err.code },
          'no thread possible here; delivering under the reply',
        );
        await this.editOriginal(i, requestMessage(task, { threaded: false }));
      }
    }
    const status = statusMessage(task, this.now());
    const posted = (await this.client.rest.post(Routes.channelMessages(threadId ?? i.channelId), {
      body: threadId ? status : { ...status, message_reference: { message_id: reply.id, fail_if_not_exists: false } },
    })) as APIMessage;
    return {
      replyMessageId: reply.id,
      statusMessageId: posted.id,
      interactionToken: i.token,
      applicationId: i.applicationId,
      ...(threadId ? { threadId } : {}),
    };
  }

  private async editOriginal(i: ChatInputCommandInteraction, body: MessageBody): Promise<APIMessage> {
    return (await this.client.rest.patch(Routes.webhookMessage(i.applicationId, i.token), {
      body,
      auth: false,
    })) as APIMessage;
  }

  private async readOnly(
    sub: string,
    i: ChatInputCommandInteraction<'cached' | 'raw'>,
    workspaceId: string,
  ): Promise<string> {
    switch (sub) {
      case 'balance':
        return balanceText(await this.opts.ledger.balance(workspaceId));
      case 'list':
        return listText(await this.opts.jobs.tasks.listByWorkspace(workspaceId, 10));
      case 'status': {
        const task = await this.findTask(i.options.getString('id') ?? '', workspaceId);
        return task ? statusText(task, this.now()) : notFoundText(i.options.getString('id') ?? '');
      }
      case 'cancel':
        return this.cancel(
          i.options.getString('id') ?? '',
          workspaceId,
          i.user.id,
          i.memberPermissions.has(PermissionFlagsBits.ManageGuild),
        );
      default:
        return helpText();
    }
  }

  private async cancelButton(i: ButtonInteraction, log: Logger): Promise<void> {
    await i.deferReply({ flags: EPHEMERAL });
    if (!i.inGuild()) return void (await i.editReply({ content: dmText(), allowedMentions: NO_PINGS }));
    const workspaceId = await this.workspace(i);
    const text = await this.cancel(
      parseCancelId(i.customId)!,
      workspaceId,
      i.user.id,
      i.memberPermissions.has(PermissionFlagsBits.ManageGuild),
    );
    log.info({ taskId: parseCancelId(i.customId) }, 'cancel button');
    await i.editReply({ content: text, allowedMentions: NO_PINGS });
  }

  private async cancel(rawId: string, workspaceId: string, userId: string, isAdmin: boolean): Promise<string> {
    const task = await this.findTask(rawId, workspaceId);
    if (!task) return notFoundText(rawId);
    if (task.requester.id !== userId && !isAdmin) return cancelRefusedText(task.requester.id);
    if (task.status === 'succeeded' || task.status === 'failed' || task.status === 'cancelled')
      return alreadyFinishedText(task);
    try {
      const updated = await this.opts.jobs.cancelResearch(task.id, { id: userId, isAdmin });
      return cancelRequestedText(updated);
    } catch (err) {
      if (err instanceof Error && err.name === 'JobsError') return `${err.message}`;
      throw err;
    }
  }

  private async findTask(rawId: string, workspaceId: string): Promise<Task | undefined> {
    const id = normalizeTaskId(rawId);
    if (!id) return undefined;
    const task = await this.opts.jobs.tasks.get(id);
    return task && task.workspaceId === workspaceId ? task : undefined;
  }

  /** The workspace of the guild, created on first use (Workspace = guild; see decision 061). */
  private async workspace(
    i: ChatInputCommandInteraction<'cached' | 'raw'> | ButtonInteraction<'cached' | 'raw'>,
  ): Promise<string> {
    const known = this.workspaces.get(i.guildId);
    if (known) return known;
    const ws = await this.opts.ledger.ensureWorkspace({
      platform: 'discord',
      externalId: i.guildId,
      name: i.guild?.name ?? `Discord server ${i.guildId}`,
    });
    this.workspaces.set(i.guildId, ws.id);
    return ws.id;
  }

  private async replyNow(i: ChatInputCommandInteraction, content: string): Promise<void> {
    await i.reply({ content: fit(content, 2000), flags: EPHEMERAL, allowedMentions: NO_PINGS });
  }

  /** A refusal after a public deferral: drop the "thinking…" message and answer privately. */
  private async refuseAfterDefer(i: ChatInputCommandInteraction, content: string): Promise<void> {
    await i.deleteReply().catch(() => undefined);
    await i.followUp({ content: fit(content, 2000), flags: EPHEMERAL, allowedMentions: NO_PINGS });
  }

  private async sayPrivately(i: Interaction, content: string): Promise<void> {
    if (!i.isRepliable()) return;
    // A public "thinking…" placeholder must not stay behind an error.
    if (i.deferred && !i.ephemeral) await i.deleteReply().catch(() => undefined);
    if (i.deferred || i.replied) await i.followUp({ content, flags: EPHEMERAL, allowedMentions: NO_PINGS });
    else await i.reply({ content, flags: EPHEMERAL, allowedMentions: NO_PINGS });
  }
}
