// How a running research shows itself in Discord. Everything here uses the BOT token on channel messages:
// the interaction token dies 15 minutes after the command, and a research that waited in the queue must
// still update. discord.js REST queues per route bucket and honours X-RateLimit-* and 429 retry_after, so
// nothing here hard-codes a rate; the job layer already coalesces progress to at most one edit a second.
import { DiscordAPIError, REST, Routes } from 'discord.js';
import type { Env } from '../../core/config/index.js';
import { metrics } from '../../core/observability/metrics.js';
import { count429s } from './rate-limits.js';
import type { Logger } from '../../core/observability/logger.js';
import type { ResearchResult } from '../../core/research/contract.js';
import { PermanentDeliveryError, type Delivery } from '../../core/tasks/delivery.js';
import type { DiscordOrigin, Task } from '../../core/tasks/types.js';
import {
  failureMessage,
  reportFileName,
  reportTextParts,
  reportTooLargeNote,
  threadUnreachableNote,
  requestMessage,
  statusMessage,
  summaryMessage,
  type MessageBody,
} from './render.js';

export type DiscordDeliveryOptions = {
  /** A REST client with the bot token (`createDiscordRest`), or a logged-in Client's `rest`. */
  rest: REST;
  logger: Logger;
  now?: () => Date;
};

/** Unknown Channel, Missing Access, Missing Permissions: retrying cannot help (channel gone, bot removed). */
const PERMANENT_CODES = new Set([10003, 50001, 50013]);
/** Unknown Message: someone deleted the message we would edit; the rest of the delivery still goes on. */
const UNKNOWN_MESSAGE = 10008;
/** The thread cannot take the report: gone, no access, no permission, archived, or locked. */
const THREAD_UNREACHABLE = new Set([10003, 50001, 50013, 50083, 160005]);
/** Request entity too large: the attachment is over the guild's upload limit. */
const TOO_LARGE = 40005;

function discordCode(err: unknown): number | undefined {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    if (e instanceof DiscordAPIError) return typeof e.code === 'number' ? e.code : undefined;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
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
export const DISCORD_REST_BUDGET = {
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

  /**
   * The report with its summary, where it can go (decision 056): the file in the thread; over the upload limit
   * (40005 / 413), the report as messages and a note; a thread that is gone, archived or out of reach, the same
   * in the channel under the request message, saying why. Each post has its own nonce: a retry posts once.
   */
  async function postReport(task: Task, w: Where, done: Task, result: ResearchResult): Promise<'thread' | 'channel'> {
    const summary = summaryMessage(done, result);
    const file = { name: reportFileName(task.id), data: Buffer.from(result.markdown, 'utf8') };
    const into = async (target: Where, tag: string) => {
      try {
        await post(task, target, 'report.post', `rpt-${task.id}${tag}`, summary, [file]);
      } catch (err) {
        if (!tooLarge(err)) throw err;
        logger.warn({ taskId: task.id }, 'discord: report over the upload limit; posting it as messages');
        for (const [i, part] of reportTextParts(result.markdown).entries())
          await post(task, target, 'report.part', `rpt-${task.id}${tag}p${i}`, part);
        await post(task, target, 'report.summary', `rpt-${task.id}${tag}s`, {
          ...summary,
          content: reportTooLargeNote(task),
        });
      }
    };
    try {
      await into(w, '');
      return 'thread';
    } catch (err) {
      const code = discordCode(err);
      if (!w.threaded || code === undefined || !THREAD_UNREACHABLE.has(code)) throw err;
      logger.warn({ taskId: task.id, code }, 'discord thread unreachable: posting the report in the channel');
    }
    const inChannel: Where = { ...w, statusChannelId: w.origin.channelId, threaded: false };
    await post(task, inChannel, 'report.note', `rpt-${task.id}cn`, {
      ...summary,
      content: threadUnreachableNote(task),
      embeds: [],
    });
    await into(inChannel, 'c');
    return 'channel';
  }

  return {
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
      // A thread that could not take the report cannot be edited either; the report reached the channel.
      await edit(task, 'status.final', w.statusChannelId, w.origin.statusMessageId, statusMessage(done, now())).catch(
        (err: unknown) => {
          if (posted === 'thread' || !(err instanceof PermanentDeliveryError)) throw err;
        },
      );
      const score = { total: result.report.score.total, band: result.report.score.band };
      await edit(
        task,
        'reply.final',
        w.origin.channelId,
        w.origin.replyMessageId,
        requestMessage({ ...done, score }, { threaded: w.threaded }),
      );
      logger.info({ taskId: task.id, threaded: w.threaded }, 'discord delivery: report posted');
    },

    async failed(task) {
      const w = where(task);
      if (!w) return;
      const status = task.status === 'cancelled' ? 'cancelled' : 'failed';
      const done: Task = { ...task, status };
      await post(task, w, 'failure.post', `end-${task.id}`, failureMessage(done));
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
