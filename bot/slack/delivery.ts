// Shows a running research in its Slack thread: edits the status reply as checkpoints pass, and on the end
// uploads the report, posts the summary and marks the parent. See docs/decisions/052-slack-update-budget.md.
//
// Each edit first takes a slot of the workspace's chat.update budget (delivery-calls.ts). Progress for one
// task is latest-wins: while an edit waits for a slot, newer snapshots replace the one waiting. A 429 that
// still happens is waited out (Retry-After) and the call repeated, never dropped.
import { WebClient, type WebClientOptions } from '@slack/web-api';
import type { Env } from '../../core/config/index.js';
import type { Logger } from '../../core/observability/logger.js';
import type { ResearchResult } from '../../core/research/contract.js';
import type { Redis } from '../../core/storage/index.js';
import { PermanentDeliveryError, type Delivery } from '../../core/tasks/delivery.js';
import type { SlackOrigin, Task } from '../../core/tasks/types.js';
import { boundedClientOptions, postToResponseUrl } from './client.js';
import {
  INSTALLATION_GONE,
  THREAD_UNREACHABLE,
  notSharedReason,
  problemOf,
  slackErrorCode,
  slackNeededScope,
  slackProblemText,
} from './errors.js';
import { parentMessage, reportFileName, statusMessage, summaryMessage, type SlackMessage } from './render.js';
import { endNotShownText, fileNotSharedText, reportByDmText, reportMessages } from './render-fallback.js';
import { deliveryCall, updateBudget } from './delivery-calls.js';

export type SlackDeliveryOptions = {
  env: Pick<Env, 'SLACK_API_URL' | 'SLACK_UPDATES_PER_MINUTE'>;
  redis: Redis;
  logger: Logger;
  /** The bot token for a task's workspace (single-token mode or the installation store). */
  tokenFor: (origin: SlackOrigin) => Promise<string>;
  /** chat.update budget per workspace; defaults to SLACK_UPDATES_PER_MINUTE a minute. */
  updateBudget?: { limit: number; windowMs: number };
  /** Share of the budget progress edits may use; the rest is kept for final states. */
  progressShare?: number;
  keyPrefix?: string;
  now?: () => Date;
  clientOptions?: WebClientOptions;
  /** Slack said the workspace's token is revoked or invalid: mark the installation (OAuth mode). */
  onInstallationGone?: (origin: SlackOrigin, code: string) => Promise<void>;
};

type Waiter = { resolve: () => void; reject: (e: unknown) => void };
type ProgressSlot = { next?: Task; signal?: AbortSignal; waiters: Waiter[]; running?: Promise<void> };

/** Slack accepts a command's response_url for 30 minutes; a minute of margin for clocks and the trip. */
const RESPONSE_URL_LIFETIME_MS = 29 * 60_000;

export function createSlackDelivery(opts: SlackDeliveryOptions): Delivery & { close(): void } {
  const { redis, logger } = opts;
  const prefix = opts.keyPrefix ?? 'pmf:slack:';
  const now = opts.now ?? (() => new Date());
  const updateSlots = updateBudget(redis, {
    key: (teamId) => `${prefix}updates:${teamId}`,
    ...(opts.updateBudget ?? { limit: opts.env.SLACK_UPDATES_PER_MINUTE, windowMs: 60_000 }),
    progressShare: opts.progressShare ?? 0.8,
  });
  const clients = new Map<string, WebClient>();
  const slots = new Map<string, ProgressSlot>();
  /** Tasks whose final state is being delivered: pending progress for them is dropped. */
  const finishing = new Set<string>();

  async function clientFor(origin: SlackOrigin): Promise<WebClient> {
    const token = await opts.tokenFor(origin);
    let client = clients.get(token);
    if (!client) {
      // A few tries within seconds (decision 057); 429s come back to `call`, which waits them out so they
      // are counted and never turn into a failed delivery.
      client = new WebClient(token, { ...boundedClientOptions(opts.env.SLACK_API_URL), ...opts.clientOptions });
      clients.set(token, client);
    }
    return client;
  }

  const call = deliveryCall(logger);

  async function update(
    origin: SlackOrigin,
    ts: string,
    message: { text: string; blocks: unknown[] },
    final: boolean,
    stillWanted: () => boolean = () => true,
  ) {
    const done = await updateSlots.take(origin.teamId, final, stillWanted);
    if (!done) return;
    const client = await clientFor(origin);
    try {
      await call('chat.update', () =>
        client.chat.update({ channel: origin.channelId, ts, text: message.text, blocks: message.blocks as never }),
      );
    } catch (error) {
      // Someone deleted the message: nothing to edit, and nothing worth failing the research over.
      if (slackErrorCode(error) === 'message_not_found')
        logger.warn({ channel: origin.channelId, ts }, 'slack message to edit is gone');
      else throw error;
    } finally {
      await done();
    }
  }

  const slackOrigin = (task: Task): SlackOrigin | undefined =>
    task.origin.platform === 'slack' ? task.origin : undefined;

  async function flushProgress(taskId: string, slot: ProgressSlot): Promise<void> {
    while (slot.next) {
      const task = slot.next;
      const signal = slot.signal;
      const waiters = slot.waiters;
      slot.next = undefined;
      slot.waiters = [];
      try {
        const origin = slackOrigin(task);
        if (origin?.statusTs) {
          await update(
            origin,
            origin.statusTs,
            statusMessage(task, now()),
            false,
            () => !finishing.has(taskId) && !signal?.aborted && slot.next === undefined,
          );
        }
        waiters.forEach((w) => w.resolve());
      } catch (error) {
        waiters.forEach((w) => w.reject(error));
      }
    }
    slots.delete(taskId);
  }

  /** Done-once steps of a final delivery, so a retried delivery never uploads or posts twice. */
  async function once(task: Task, step: string, fn: () => Promise<void>): Promise<void> {
    // A task's outcome is decided once (a retry is a new task), so task and outcome name the message; not
    // `finishedAt`, which a run resuming another's delivery may not see as it was.
    const key = `${prefix}delivered:${task.id}:${task.status}:${step}`;
    if (await redis.exists(key)) return;
    await fn();
    await redis.set(key, '1', 'EX', 7 * 24 * 3600);
  }

  /** Lets an edit already on the wire finish and drops any waiting one, so the final state is the last edit. */
  async function settleProgress(taskId: string): Promise<void> {
    finishing.add(taskId);
    await slots.get(taskId)?.running?.catch(() => undefined);
  }

  const post = async (client: WebClient, channel: string, message: SlackMessage, threadTs?: string) => {
    await call('chat.postMessage', () =>
      client.chat.postMessage({
        channel,
        ...(threadTs ? { thread_ts: threadTs } : {}),
        text: message.text,
        blocks: message.blocks,
        unfurl_links: false,
        unfurl_media: false,
      }),
    );
  };

  /** Joins a public channel the bot is not in (scope `channels:join`); false when Slack will not let it. */
  async function join(client: WebClient, channel: string): Promise<boolean> {
    try {
      await call('conversations.join', () => client.conversations.join({ channel }));
      return true;
    } catch (error) {
      logger.warn({ channel, code: slackErrorCode(error) }, 'slack: could not join the channel to share a file');
      return false;
    }
  }

  /**
   * The report file in the thread. A file can only be shared by a channel member: on `not_in_channel` the bot
   * joins the (public) channel and tries again; if it still cannot, the report goes into the thread as
   * messages, with a notice of what happened and how to fix it (decision 056).
   */
  async function shareReport(client: WebClient, task: Task, origin: SlackOrigin, parentTs: string, markdown: string) {
    const upload = () =>
      call('files.uploadV2', () =>
        client.files.uploadV2({
          channel_id: origin.channelId,
          thread_ts: parentTs,
          filename: reportFileName(task.id),
          title: `PMF report ${task.id}`,
          file: Buffer.from(markdown, 'utf8'),
        }),
      );
    const cannotShare = (error: unknown) => {
      const code = slackErrorCode(error);
      // `missing_scope` here is files:write: the thread itself may still take messages.
      if (code !== 'not_in_channel' && code !== 'missing_scope') throw error;
      return code;
    };
    let code: string;
    try {
      await upload();
      return;
    } catch (error) {
      code = cannotShare(error);
    }
    if (code === 'not_in_channel' && (await join(client, origin.channelId))) {
      try {
        await upload();
        return;
      } catch (error) {
        code = cannotShare(error);
      }
    }
    const parts = reportMessages(task.id, markdown);
    for (const [i, part] of parts.entries())
      await once(task, `report-part-${i}`, () => post(client, origin.channelId, part, parentTs));
    await once(task, 'file-notice', () =>
      post(client, origin.channelId, fileNotSharedText(notSharedReason(code)), parentTs),
    );
  }

  /** The whole report in a DM to the requester, saying why; a PermanentDeliveryError when even that fails. */
  async function reportByDm(
    client: WebClient,
    task: Task,
    origin: SlackOrigin,
    markdown: string,
    summary: SlackMessage,
    problem: string | undefined,
  ) {
    const intro = reportByDmText(task.id, origin.channelId, problem ?? '');
    // Posting to a user id posts in the app's DM with that person (chat:write is enough).
    const dm = async (step: string, message: SlackMessage) =>
      once(task, step, () => post(client, origin.userId, message));
    await dm('dm-intro', intro);
    for (const [i, part] of reportMessages(task.id, markdown).entries()) await dm(`dm-part-${i}`, part);
    await dm('dm-summary', summary);
  }

  /** Reports an installation Slack no longer accepts, once per error; never fails the delivery over it. */
  async function noticeGone(origin: SlackOrigin, error: unknown): Promise<void> {
    const code = slackErrorCode(error);
    if (!code || !INSTALLATION_GONE.has(code) || !opts.onInstallationGone) return;
    await opts.onInstallationGone(origin, code).catch((err: unknown) => {
      logger.warn({ team: origin.teamId, err: String(err) }, 'could not mark the Slack installation revoked');
    });
  }

  /** An ephemeral answer through the command's response_url; false once it has expired or Slack refuses it. */
  async function respond(task: Task, origin: SlackOrigin, message: SlackMessage): Promise<boolean> {
    const url = origin.responseUrl;
    if (!url || now().getTime() - new Date(task.createdAt).getTime() > RESPONSE_URL_LIFETIME_MS) return false;
    try {
      await once(task, 'response-url', () =>
        postToResponseUrl(url, { response_type: 'ephemeral', replace_original: false, ...message }),
      );
      return true;
    } catch (err) {
      logger.warn({ taskId: task.id, err: String(err) }, 'slack response_url did not take the notice');
      return false;
    }
  }

  /**
   * The thread took nothing of the task's end: the requester hears it alone, through the command's
   * response_url while it lives (it works even with a revoked token), else by DM (decision 059). Best effort:
   * the caller still fails the delivery for good, which releases a success's credits.
   */
  async function tellRequester(task: Task, origin: SlackOrigin, problem: string): Promise<void> {
    const notice = endNotShownText(task, origin.channelId, problem);
    if (await respond(task, origin, notice)) return;
    try {
      const client = await clientFor(origin);
      await once(task, 'dm-notice', () => post(client, origin.userId, notice));
    } catch (err) {
      logger.warn({ taskId: task.id, err: String(err) }, 'slack: the requester could not be told the end either');
    }
  }

  return {
    progress(task: Task, signal?: AbortSignal): Promise<void> {
      // A finished task's status reply is edited by succeeded/failed, which the job layer always calls.
      const live = task.status === 'queued' || task.status === 'running';
      if (!live || signal?.aborted || finishing.has(task.id) || !slackOrigin(task)?.statusTs) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        let slot = slots.get(task.id);
        if (!slot) {
          slot = { waiters: [] };
          slots.set(task.id, slot);
        }
        slot.next = task;
        slot.signal = signal;
        slot.waiters.push({ resolve, reject });
        if (!slot.running) {
          const s = slot;
          s.running = flushProgress(task.id, s).finally(() => {
            s.running = undefined;
          });
        }
      });
    },

    async succeeded(task: Task, result: ResearchResult): Promise<void> {
      const origin = slackOrigin(task);
      if (!origin?.parentTs) return;
      const parentTs = origin.parentTs;
      await settleProgress(task.id);
      /** The report reached the requester (thread or DM): a later refusal must not say it did not. */
      let reached = false;
      try {
        const client = await clientFor(origin);
        const summary = summaryMessage(task, result);
        let inThread = true;
        try {
          await once(task, 'file', () => shareReport(client, task, origin, parentTs, result.markdown));
          await once(task, 'summary', () => post(client, origin.channelId, summary, parentTs));
          reached = true;
        } catch (error) {
          const code = slackErrorCode(error);
          if (!code || !THREAD_UNREACHABLE.has(code)) throw error;
          // The thread takes nothing at all: the requester still gets the report, in a DM (decision 056).
          logger.warn({ taskId: task.id, code }, 'slack thread unreachable: delivering the report by DM');
          inThread = false;
          await reportByDm(
            client,
            task,
            origin,
            result.markdown,
            summary,
            slackProblemText(code, slackNeededScope(error)),
          );
          reached = true;
        }
        // After a DM the thread's messages may not be editable either; the report reached its reader all the same.
        const edit = async (step: string, ts: string, message: SlackMessage) => {
          try {
            await once(task, step, () => update(origin, ts, message, true));
          } catch (error) {
            if (inThread || !(error instanceof PermanentDeliveryError)) throw error;
            logger.warn({ taskId: task.id, step, err: error.message }, 'slack thread not edited after a DM delivery');
          }
        };
        await edit('parent', parentTs, parentMessage({ ...task, score: result.report.score }));
        if (origin.statusTs) await edit('status', origin.statusTs, statusMessage(task, now()));
      } catch (error) {
        await noticeGone(origin, error);
        if (!reached && error instanceof PermanentDeliveryError) await tellRequester(task, origin, problemOf(error));
        throw error;
      } finally {
        finishing.delete(task.id);
      }
    },

    async failed(task: Task): Promise<void> {
      const origin = slackOrigin(task);
      if (!origin?.parentTs) return;
      const parentTs = origin.parentTs;
      await settleProgress(task.id);
      try {
        if (origin.statusTs)
          await once(task, 'status', () => update(origin, origin.statusTs!, statusMessage(task, now()), true));
        await once(task, 'parent', () => update(origin, parentTs, parentMessage(task), true));
      } catch (error) {
        await noticeGone(origin, error);
        if (error instanceof PermanentDeliveryError) await tellRequester(task, origin, problemOf(error));
        throw error;
      } finally {
        finishing.delete(task.id);
      }
    },

    async undelivered(task: Task): Promise<void> {
      const origin = slackOrigin(task);
      if (!origin) return;
      await tellRequester(
        task,
        origin,
        'Slack kept failing when I posted there, so I stopped trying. If it keeps happening, tell the PMF Scout operators.',
      );
    },

    close() {
      clients.clear();
    },
  };
}
