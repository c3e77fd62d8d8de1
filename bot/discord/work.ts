// The work after a Discord deferral: rate limits, the ledger, the task store, the reply, the thread and the
// status message. The front door (app.ts) defers and hands each interaction over as plain data
// (DiscordWork), so this can run on another thread than the gateway (bot/work-thread.ts) or, in tests, in
// the same one. It talks to Discord through a REST client: the interaction's webhook for the reply and its
// follow-ups, the bot token for the thread and the status message.
import {
  DiscordAPIError,
  MessageFlags,
  Routes,
  type APIMessage,
  type REST,
  type RESTPostAPIChannelThreadsResult,
} from 'discord.js';
import type { Env } from '../../core/config/index.js';
import type { CreditLedger } from '../../core/credits/index.js';
import type { Jobs } from '../../core/jobs/index.js';
import { checkResearchRateLimit } from '../../core/limits/rate-limit.js';
import type { Logger } from '../../core/observability/logger.js';
import type { Redis } from '../../core/storage/index.js';
import type { DiscordOrigin, Task } from '../../core/tasks/types.js';
import { answer, refusalText, type Asker } from '../commands/flow.js';
import type { ReplyCommand, ResearchCommand } from '../commands/parse.js';
import { Limiter, LimiterClosedError, RESTARTING_TEXT } from '../limiter.js';
import { discordErrorCode, discordProblemText } from './errors.js';
import {
  NO_PINGS,
  discordWords,
  notStartedMessage,
  fit,
  internalErrorText,
  rateLimitedText,
  requestMessage,
  statusMessage,
  type MessageBody,
} from './render.js';

export type BotLedger = Pick<CreditLedger, 'ensureWorkspace' | 'balance'>;
export type BotJobs = Pick<Jobs, 'submitResearch' | 'cancelResearch'> & {
  tasks: Pick<Jobs['tasks'], 'get' | 'listByWorkspace'>;
};

/** What the work needs of a deferred interaction; its token answers it for 15 minutes. */
export type DeferredInteraction = {
  id: string;
  applicationId: string;
  token: string;
  guildId: string;
  guildName?: string;
  channelId: string;
  userId: string;
  username: string;
  /** Manage Server: may cancel anyone's research. */
  isAdmin: boolean;
};

/** A deferred interaction and what to do with it, as plain data (it may cross to another thread). */
export type DiscordWork =
  /** `/pmf research`, deferred publicly: the reply becomes the request message. */
  | { kind: 'research'; interaction: DeferredInteraction; command: ResearchCommand; threads: boolean }
  /** `/pmf balance|list|status|cancel` or the Cancel button, deferred privately. */
  | { kind: 'private'; interaction: DeferredInteraction; command: ReplyCommand };

export type DiscordWorkDeps = {
  env: Pick<Env, 'RATE_LIMIT_USER_PER_HOUR' | 'RATE_LIMIT_WORKSPACE_PER_HOUR'>;
  ledger: BotLedger;
  jobs: BotJobs;
  redis: Redis;
  logger: Logger;
  /** A REST client with the bot token, pointed at Discord (or the fake). */
  rest: REST;
  now?: () => Date;
  /** Redis key prefix of the research rate limits (tests isolate with their own). */
  rateLimitPrefix?: string;
  /**
   * Research submissions worked on at once, the rest waiting their turn (decision 065;
   * DISCORD_SUBMISSIONS_AT_ONCE by default). Drained on shutdown.
   */
  limiter?: Limiter;
  /**
   * Private answers (balance, list, status, cancel) worked on at once, DISCORD_REPLIES_AT_ONCE by default. A
   * line of their own, so they never wait behind a backlog of submissions; drained on shutdown too.
   */
  replies?: Limiter;
};

/** Research submissions worked on at once after their deferrals, by default (decision 065). */
export const DISCORD_SUBMISSIONS_AT_ONCE = 8;
/** Private answers worked on at once, by default: each is a read or two. */
export const DISCORD_REPLIES_AT_ONCE = 16;
/** Submissions of one guild at once: a guild whose Discord calls fail cannot take every slot (decision 057). */
export const DISCORD_SUBMISSIONS_PER_GUILD = 4;
/** Private answers of one guild at once. */
export const DISCORD_REPLIES_PER_GUILD = 6;

const RESTARTING_REPLY_TEXT = 'PMF Scout is restarting: please try again in a minute.';

const EPHEMERAL = MessageFlags.Ephemeral;

/** Discord error codes meaning "the thread could not be made here"; the research goes on without one. */
const NO_THREAD_CODES = new Set([50001, 50013, 50024, 160004]);

/**
 * The interaction's webhook is gone: its token was revoked or expired (401, 50027 Invalid Webhook Token) or the
 * webhook is unknown (10015). Nothing sent with that token can arrive any more.
 */
function webhookGone(err: unknown): err is DiscordAPIError {
  return err instanceof DiscordAPIError && (err.status === 401 || err.code === 50027 || err.code === 10015);
}

/**
 * Does deferred Discord work, and never rejects: a failure is logged and the user is told privately, and a
 * research that arrives after a shutdown began is told to try again (nothing was charged).
 */
export function createDiscordWork(deps: DiscordWorkDeps): (work: DiscordWork) => Promise<void> {
  const { rest, logger } = deps;
  const now = deps.now ?? (() => new Date());
  const limiter = deps.limiter ?? new Limiter(DISCORD_SUBMISSIONS_AT_ONCE, undefined, DISCORD_SUBMISSIONS_PER_GUILD);
  const replies = deps.replies ?? new Limiter(DISCORD_REPLIES_AT_ONCE, undefined, DISCORD_REPLIES_PER_GUILD);
  const workspaces = new Map<string, string>();

  const editOriginal = async (
    i: DeferredInteraction,
    body: MessageBody | { content: string; allowed_mentions: typeof NO_PINGS },
  ) => (await rest.patch(Routes.webhookMessage(i.applicationId, i.token), { body, auth: false })) as APIMessage;
  const followUp = (i: DeferredInteraction, content: string) =>
    rest.post(Routes.webhook(i.applicationId, i.token), {
      body: { content: fit(content, 2000), flags: EPHEMERAL, allowed_mentions: NO_PINGS },
      auth: false,
    });
  /** A refusal after a public deferral: drop the "thinking…" message and answer privately. */
  const refuseAfterDefer = async (i: DeferredInteraction, content: string) => {
    await rest.delete(Routes.webhookMessage(i.applicationId, i.token), { auth: false }).catch(() => undefined);
    await followUp(i, content);
  };

  /** The workspace of the guild, created on first use (Workspace = guild; see decision 061). */
  async function workspace(i: DeferredInteraction): Promise<string> {
    const known = workspaces.get(i.guildId);
    if (known) return known;
    const ws = await deps.ledger.ensureWorkspace({
      platform: 'discord',
      externalId: i.guildId,
      name: i.guildName ?? `Discord server ${i.guildId}`,
    });
    workspaces.set(i.guildId, ws.id);
    return ws.id;
  }

  async function research(work: Extract<DiscordWork, { kind: 'research' }>, log: Logger): Promise<void> {
    const { interaction: i, threads } = work;
    const { idea, depth } = work.command;
    const limit = await checkResearchRateLimit(
      deps.redis,
      deps.env,
      { platform: 'discord', workspace: i.guildId, user: i.userId },
      deps.rateLimitPrefix,
    );
    if (!limit.allowed) return refuseAfterDefer(i, rateLimitedText(limit));
    const workspaceId = await workspace(i);
    const origin: DiscordOrigin = {
      platform: 'discord',
      guildId: i.guildId,
      channelId: i.channelId,
      userId: i.userId,
      applicationId: i.applicationId,
    };
    // Once the reply shows the request, a failure must be shown there too (not as a vanishing ephemeral).
    const progress = { replyEdited: false };
    try {
      const { task, created } = await deps.jobs.submitResearch(
        {
          requestKey: `discord:${i.id}`,
          workspaceId,
          requester: { id: i.userId, name: i.username },
          origin,
          idea,
          depth,
        },
        { announce: (t) => announce(i, t, threads, progress) },
      );
      log.info({ taskId: task.id, created }, 'research submitted');
      if (!created) await refuseAfterDefer(i, `That request already started research \`${task.id}\`.`);
    } catch (err) {
      const refusal = refusalText(err, depth, discordWords);
      if (refusal) return refuseAfterDefer(i, refusal);
      if (!progress.replyEdited) throw err;
      log.error({ err }, 'research could not start after its request was shown');
      const refused = discordErrorCode(err);
      await editOriginal(i, notStartedMessage(refused === undefined ? undefined : discordProblemText(refused)));
    }
  }

  /** Turns the deferred reply into the request message, opens its thread and posts the status there. */
  async function announce(
    i: DeferredInteraction,
    task: Task,
    threads: boolean,
    progress: { replyEdited: boolean },
  ): Promise<Partial<DiscordOrigin>> {
    const shown = await showRequest(i, task, threads);
    const reply = shown.message;
    progress.replyEdited = true;
    let threadId: string | undefined;
    if (threads) {
      try {
        const thread = (await rest.post(Routes.threads(i.channelId, reply.id), {
          body: { name: fit(`PMF ${task.id} · ${task.idea}`, 100), auto_archive_duration: 1440 },
        })) as RESTPostAPIChannelThreadsResult;
        threadId = thread.id;
      } catch (err) {
        if (!(err instanceof DiscordAPIError && typeof err.code === 'number' && NO_THREAD_CODES.has(err.code)))
          throw err;
        logger.warn({ taskId: task.id, code: err.code }, 'no thread possible here; delivering under the reply');
        await shown.edit(requestMessage(task, { threaded: false }));
      }
    }
    const status = statusMessage(task, now());
    const posted = (await rest.post(Routes.channelMessages(threadId ?? i.channelId), {
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

  /**
   * The deferred reply turned into the request message; when the interaction's webhook is already gone, the
   * request is posted in the channel with the bot token instead (pinging the requester, whose "thinking…" can
   * no longer change), so the research and its outcome are still seen. With neither, the error says why: it
   * becomes the task's failure detail on the console.
   */
  async function showRequest(
    i: DeferredInteraction,
    task: Task,
    threads: boolean,
  ): Promise<{ message: APIMessage; edit: (body: MessageBody) => Promise<unknown> }> {
    const body = requestMessage(task, { threaded: threads });
    try {
      return { message: await editOriginal(i, body), edit: (b) => editOriginal(i, b) };
    } catch (err) {
      if (!webhookGone(err)) throw err;
      logger.warn(
        { taskId: task.id, code: err.code, status: err.status },
        "the interaction's webhook is gone; posting the request in the channel with the bot token",
      );
      let message: APIMessage;
      try {
        message = (await rest.post(Routes.channelMessages(i.channelId), {
          body: { ...body, allowed_mentions: { parse: [], users: [i.userId] } },
        })) as APIMessage;
      } catch (postErr) {
        const why = postErr instanceof DiscordAPIError ? `${postErr.code} ${postErr.message}` : String(postErr);
        throw new Error(
          `the interaction's webhook is gone (${err.code} ${err.message}) and the bot cannot post in channel ${i.channelId} (${why}): nothing could be shown to the requester`,
          { cause: postErr },
        );
      }
      return {
        message,
        edit: (b) => rest.patch(Routes.channelMessage(i.channelId, message.id), { body: b }),
      };
    }
  }

  async function privately(work: Extract<DiscordWork, { kind: 'private' }>): Promise<string> {
    const { interaction: i, command } = work;
    const workspaceId = await workspace(i);
    const asker: Asker = {
      userId: i.userId,
      workspaceId: () => Promise.resolve(workspaceId),
      owns: (task) => task.workspaceId === workspaceId,
      isAdmin: () => Promise.resolve(i.isAdmin),
    };
    return answer(command, asker, deps, discordWords, now());
  }

  return async (work) => {
    const i = work.interaction;
    const log = logger.child({ interactionId: i.id, guildId: i.guildId });
    try {
      if (work.kind === 'private') {
        const text = await replies.run(() => privately(work), work.interaction.guildId);
        await editOriginal(i, { content: fit(text, 2000), allowed_mentions: NO_PINGS });
        return;
      }
      await limiter.run(() => research(work, log), work.interaction.guildId);
    } catch (err) {
      if (err instanceof LimiterClosedError) {
        const said =
          work.kind === 'research'
            ? refuseAfterDefer(i, RESTARTING_TEXT)
            : editOriginal(i, { content: RESTARTING_REPLY_TEXT, allowed_mentions: NO_PINGS });
        await said.catch(() => undefined);
        return;
      }
      log.error({ err }, 'discord interaction failed');
      const tell =
        work.kind === 'research' ? refuseAfterDefer(i, internalErrorText()) : followUp(i, internalErrorText());
      await tell.catch((e: unknown) => log.warn({ err: e }, 'could not report the failure'));
    }
  };
}
