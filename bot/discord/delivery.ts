// How a running research shows itself in Discord. Everything here uses the BOT token on channel messages:
// the interaction token dies 15 minutes after the command, and a research that waited in the queue must
// still update. discord.js REST queues per route bucket and honours X-RateLimit-* and 429 retry_after, so
// nothing here hard-codes a rate; the job layer already coalesces progress to at most one edit a second.
import { DiscordAPIError, REST, Routes } from 'discord.js';
import type { Env } from '../../core/config/index.js';
import { metrics } from '../../core/observability/metrics.js';
import { count429s } from './rate-limits.js';
import { DISCORD_CODES, discordErrorCode, discordProblemText, type DiscordPermission } from './errors.js';
import type { Logger } from '../../core/observability/logger.js';
import type { ResearchResult } from '../../core/research/contract.js';
import { PermanentDeliveryError, type Delivery } from '../../core/tasks/delivery.js';
import type { DiscordOrigin, Task } from '../../core/tasks/types.js';
import {
  failureMessage,
  reportFileName,
  requestMessage,
  statusMessage,
  summaryMessage,
  type MessageBody,
} from './render.js';
import {
  endNotShownNote,
  reportTextParts,
  reportToRequesterNote,
  reportTooLargeNote,
  threadUnreachableNote,
} from './render-fallback.js';

export type DiscordDeliveryOptions = {
  /** A REST client with the bot token (`createDiscordRest`), or a logged-in Client's `rest`. */
  rest: REST;
  logger: Logger;
  now?: () => Date;
};

/**
 * Retrying cannot help: the channel is gone, the bot lost access or a permission, the thread is archived or
 * locked, the requester refuses DMs, or we sent a malformed body (our bug).
 */
const PERMANENT_CODES: ReadonlySet<number> = new Set([
  DISCORD_CODES.unknownChannel,
  DISCORD_CODES.missingAccess,
  DISCORD_CODES.missingPermissions,
  DISCORD_CODES.archivedThread,
  DISCORD_CODES.lockedThread,
  DISCORD_CODES.cannotMessageUser,
  DISCORD_CODES.invalidFormBody,
  DISCORD_CODES.unknownWebhook,
  DISCORD_CODES.invalidWebhookToken,
]);
/** Unknown Message: someone deleted the message we would edit; the rest of the delivery still goes on. */
const UNKNOWN_MESSAGE = DISCORD_CODES.unknownMessage;
/** The thread (or channel) cannot take the report: gone, no access, no permission, archived, or locked. */
const UNREACHABLE: ReadonlySet<number> = new Set([
  DISCORD_CODES.unknownChannel,
  DISCORD_CODES.missingAccess,
  DISCORD_CODES.missingPermissions,
  DISCORD_CODES.archivedThread,
  DISCORD_CODES.lockedThread,
]);
/** Request entity too large: the attachment is over the guild's upload limit. */
const TOO_LARGE = DISCORD_CODES.tooLarge;
/** An interaction token lives 15 minutes; a minute of margin for clocks and the trip. */
const INTERACTION_TOKEN_LIFETIME_MS = 14 * 60_000;

const discordCode = discordErrorCode;

const unreachable = (err: unknown) => {
  const code = discordCode(err);
  return code !== undefined && UNREACHABLE.has(code);
};

/** Why a post was refused, for the requester; `permission` is what that post needed (50013 does not say). */
function problemOf(err: unknown, permission?: DiscordPermission): string {
  const code = discordCode(err);
  return (
    (code !== undefined && discordProblemText(code, permission)) ||
    `Discord refused my messages there (${code ?? 'no answer'}); if it keeps happening, tell the PMF Scout operators.`
  );
}

function tooLarge(err: unknown): boolean {
  if (discordCode(err) === TOO_LARGE) return true;
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    if ((e as { status?: unknown }).status === 413) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * Our retry budget for Discord REST (decision 057): discord.js retries a 5xx or a timeout 3 times with a 15 s
 * timeout each (a minute per call); ours tries 3 times with 5 s each. A rate limit longer than 10 s is
 * answered with an error instead of a silent wait (`rejectOnRateLimit`), so a flooded route fails a call
 * within seconds and the requester is told; shorter ones are waited out per bucket, as Discord asks.
 */
const DISCORD_REST_BUDGET = {
  retries: 2,
  timeout: 5000,
  rejectOnRateLimit: (limit: { timeToReset: number }) => limit.timeToReset > 10_000,
};

/** A REST client for `token` within DISCORD_REST_BUDGET, pointed at DISCORD_API_URL when set. */
export function boundedDiscordRest(apiUrl: string | undefined, token: string): REST {
  return new REST({ ...DISCORD_REST_BUDGET, ...(apiUrl ? { api: apiUrl } : {}) }).setToken(token);
}

export function createDiscordRest(env: Pick<Env, 'DISCORD_TOKEN' | 'DISCORD_API_URL'>): REST {
  if (!env.DISCORD_TOKEN) throw new Error('DISCORD_TOKEN is not set: the Discord delivery needs the bot token');
  return count429s(boundedDiscordRest(env.DISCORD_API_URL, env.DISCORD_TOKEN));
}

type Where = { origin: DiscordOrigin; statusChannelId: string; threaded: boolean };

function where(task: Task): Where | undefined {
  if (task.origin.platform !== 'discord') return undefined;
  const origin = task.origin;
  return { origin, statusChannelId: origin.threadId ?? origin.channelId, threaded: Boolean(origin.threadId) };
}

/** The status as of delivery: the final state counts `delivered`, which the job records only afterwards. */
function finalTask(task: Task, status: Task['status']): Task {
  const delivered = task.checkpoints.some((c) => c.id === 'delivered');
  return {
    ...task,
    status,
    checkpoints: delivered
      ? task.checkpoints
      : [...task.checkpoints, { id: 'delivered', at: task.finishedAt ?? new Date() }],
  };
}

export function createDiscordDelivery(opts: DiscordDeliveryOptions): Delivery {
  const now = opts.now ?? (() => new Date());
  const { rest, logger } = opts;

  async function call<T>(task: Task, what: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof DiscordAPIError)) throw err;
      metrics.platformApiErrors.inc({ platform: 'discord', method: what, code: String(err.code) });
      if (typeof err.code === 'number' && PERMANENT_CODES.has(err.code))
        throw Object.assign(new PermanentDeliveryError(`discord ${what} for ${task.id}: ${err.code} ${err.message}`), {
          cause: err,
        });
      if (err.code === UNKNOWN_MESSAGE) {
        logger.warn({ taskId: task.id, what }, 'discord message to edit is gone; skipping this edit');
        return undefined;
      }
      throw err;
    }
  }

  const edit = (task: Task, what: string, channelId: string, messageId: string | undefined, body: MessageBody) =>
    messageId
      ? call(task, what, () => rest.patch(Routes.channelMessage(channelId, messageId), { body }))
      : Promise.resolve(undefined);

  /** Posts in the thread, or (no thread) as a reply to the request message. A nonce makes a retry post once. */
  const post = (
    task: Task,
    w: Where,
    what: string,
    nonce: string,
    body: MessageBody,
    files: { name: string; data: Buffer }[] = [],
  ) =>
    call(task, what, () =>
      rest.post(Routes.channelMessages(w.statusChannelId), {
        body: {
          ...body,
          nonce,
          enforce_nonce: true,
          ...(files.length ? { attachments: files.map((f, id) => ({ id, filename: f.name })) } : {}),
          ...(!w.threaded && w.origin.replyMessageId
            ? { message_reference: { message_id: w.origin.replyMessageId, fail_if_not_exists: false } }
            : {}),
        },
        files,
      }),
    );

  /** The interaction's follow-up webhook takes messages while its token lives (15 minutes from the command). */
  const followupAlive = (task: Task, origin: DiscordOrigin) =>
    Boolean(origin.applicationId && origin.interactionToken) &&
    now().getTime() - new Date(task.createdAt).getTime() < INTERACTION_TOKEN_LIFETIME_MS;

  /**
   * An ephemeral follow-up to the command: only the requester sees it, and it needs no permission in the
   * channel. Webhooks take no nonce, so a retried call may show it twice (to that one person).
   */
  const followup = (
    task: Task,
    origin: DiscordOrigin,
    body: MessageBody,
    files: { name: string; data: Buffer }[] = [],
  ) =>
    call(task, 'followup.post', () =>
      rest.post(Routes.webhook(origin.applicationId!, origin.interactionToken!), {
        body: {
          ...body,
          components: [],
          flags: 64,
          ...(files.length ? { attachments: files.map((f, id) => ({ id, filename: f.name })) } : {}),
        },
        files,
        auth: false,
      }),
    );

  /** The requester's DM channel as a place to post (Discord answers with the existing one). */
  async function dmWhere(task: Task, origin: DiscordOrigin): Promise<Where> {
    const dm = (await call(task, 'dm.open', () =>
      rest.post(Routes.userChannels(), { body: { recipient_id: origin.userId } }),
    )) as { id: string };
    const { replyMessageId: _reply, ...withoutReply } = origin;
    return { origin: withoutReply, statusChannelId: dm.id, threaded: false };
  }

  /**
   * Tells the requester alone that the thread could not show the end: the follow-up while the token lives,
   * else a DM (decision 059). Best effort: false when neither takes it.
   */
  async function tellRequester(task: Task, origin: DiscordOrigin, body: MessageBody): Promise<boolean> {
    try {
      if (followupAlive(task, origin)) await followup(task, origin, body);
      else await post(task, await dmWhere(task, origin), 'end.dm', `endn-${task.id}`, body);
      return true;
    } catch (err) {
      logger.warn({ taskId: task.id, code: discordCode(err) }, 'discord: the requester could not be told the end');
      return false;
    }
  }

  /**
   * The report with its summary, where it can go (decisions 056, 059): the file in the thread; over the upload
   * limit (40005 / 413), the report as messages and a note; a thread that is gone, archived or out of reach,
   * the same in the channel under the request message, saying why; a channel that takes nothing either, the
   * requester alone: by DM (it lasts), else the command's ephemeral follow-up while its token lives. Each post
   * has its own nonce: a retry posts once.
   */
  async function postReport(
    task: Task,
    w: Where,
    done: Task,
    result: ResearchResult,
  ): Promise<'thread' | 'channel' | 'requester'> {
    const summary = summaryMessage(done, result);
    const file = { name: reportFileName(task.id), data: Buffer.from(result.markdown, 'utf8') };
    const into = async (target: Where, tag: string, content?: string) => {
      const withNote = content === undefined ? summary : { ...summary, content };
      try {
        await post(task, target, 'report.post', `rpt-${task.id}${tag}`, withNote, [file]);
      } catch (err) {
        if (!tooLarge(err)) throw err;
        logger.warn({ taskId: task.id }, 'discord: report over the upload limit; posting it as messages');
        for (const [i, part] of reportTextParts(result.markdown).entries())
          await post(task, target, 'report.part', `rpt-${task.id}${tag}p${i}`, part);
        await post(task, target, 'report.summary', `rpt-${task.id}${tag}s`, {
          ...summary,
          content: [content, reportTooLargeNote(task)].filter(Boolean).join('\n'),
        });
      }
    };
    let refusal: unknown;
    try {
      await into(w, '');
      return 'thread';
    } catch (err) {
      if (!unreachable(err)) throw err;
      refusal = err;
    }
    if (w.threaded) {
      logger.warn({ taskId: task.id, code: discordCode(refusal) }, 'discord thread unreachable: trying the channel');
      const inChannel: Where = { ...w, statusChannelId: w.origin.channelId, threaded: false };
      try {
        await post(task, inChannel, 'report.note', `rpt-${task.id}cn`, {
          ...summary,
          content: threadUnreachableNote(task, problemOf(refusal, 'Send Messages in Threads')),
          embeds: [],
        });
        await into(inChannel, 'c');
        return 'channel';
      } catch (err) {
        if (!unreachable(err)) throw err;
        refusal = err;
      }
    }
    logger.warn(
      { taskId: task.id, code: discordCode(refusal) },
      'discord channel unreachable: the report goes to the requester',
    );
    const note = reportToRequesterNote(task, problemOf(refusal, 'Send Messages'));
    try {
      await into(await dmWhere(task, w.origin), 'd', note);
    } catch (err) {
      if (!(err instanceof PermanentDeliveryError) || !followupAlive(task, w.origin)) throw err;
      // The requester refuses DMs (50007): the follow-up reaches them while the command's token lives.
      await followup(task, w.origin, { ...summary, content: note }, [file]);
    }
    return 'requester';
  }

  return {
    async undelivered(task) {
      const w = where(task);
      if (!w) return;
      await tellRequester(
        task,
        w.origin,
        endNotShownNote(
          task,
          'Discord kept failing when I posted there, so I stopped trying. If it keeps happening, tell the PMF Scout operators.',
        ),
      );
    },

    async progress(task, signal) {
      const w = where(task);
      if (!w || signal?.aborted) return;
      await edit(task, 'status.edit', w.statusChannelId, w.origin.statusMessageId, statusMessage(task, now()));
    },

    async succeeded(task, result: ResearchResult) {
      const w = where(task);
      if (!w) return;
      const done = finalTask(task, 'succeeded');
      const posted = await postReport(task, w, done, result);
      // Where the report could not go, the messages there cannot be edited either; it reached its reader.
      const bestEffort = (err: unknown) => {
        if (!(err instanceof PermanentDeliveryError)) throw err;
        logger.warn(
          { taskId: task.id, err: err.message },
          'discord: final edit refused after the report went elsewhere',
        );
      };
      await edit(task, 'status.final', w.statusChannelId, w.origin.statusMessageId, statusMessage(done, now())).catch(
        (err: unknown) => (posted === 'thread' ? Promise.reject(err) : bestEffort(err)),
      );
      const score = { total: result.report.score.total, band: result.report.score.band };
      await edit(
        task,
        'reply.final',
        w.origin.channelId,
        w.origin.replyMessageId,
        requestMessage({ ...done, score }, { threaded: w.threaded }),
      ).catch((err: unknown) => (posted === 'requester' ? bestEffort(err) : Promise.reject(err)));
      logger.info({ taskId: task.id, threaded: w.threaded, posted }, 'discord delivery: report posted');
    },

    async failed(task) {
      const w = where(task);
      if (!w) return;
      const status = task.status === 'cancelled' ? 'cancelled' : 'failed';
      const done: Task = { ...task, status };
      try {
        await post(task, w, 'failure.post', `end-${task.id}`, failureMessage(done));
      } catch (err) {
        if (!(err instanceof PermanentDeliveryError)) throw err;
        // Nobody can see the end in the thread: the requester hears it alone, then the delivery fails for good.
        await tellRequester(
          task,
          w.origin,
          endNotShownNote(done, problemOf(err, w.threaded ? 'Send Messages in Threads' : 'Send Messages')),
        );
        throw err;
      }
      await edit(task, 'status.final', w.statusChannelId, w.origin.statusMessageId, statusMessage(done, now()));
      await edit(
        task,
        'reply.final',
        w.origin.channelId,
        w.origin.replyMessageId,
        requestMessage(done, { threaded: w.threaded }),
      );
    },
  };
}
