// The work after a Slack acknowledgement: rate limits, the ledger, the task store and the Slack Web API.
// The front door (app.ts) acks and hands each command over as plain data (SlackWork), so this can run on
// another thread than the acks (bot/work-thread.ts) or, in tests, in the same one. Answers go to the
// command's response_url and through a Web API client for the token the front door authorized.
import { createHash } from 'node:crypto';
import type { SlashCommand } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { Env } from '../../core/config/index.js';
import type { CreditLedger } from '../../core/credits/index.js';
import type { Jobs } from '../../core/jobs/index.js';
import { checkResearchRateLimit } from '../../core/limits/rate-limit.js';
import type { Logger } from '../../core/observability/logger.js';
import type { Redis } from '../../core/storage/index.js';
import type { SlackOrigin, Task } from '../../core/tasks/types.js';
import { answer, cancel as cancelCommand, refusalText as commandRefusalText, type Asker } from '../commands/flow.js';
import type { Command, ResearchCommand } from '../commands/parse.js';
import { Limiter, LimiterClosedError, RESTARTING_TEXT } from '../limiter.js';
import { boundedWebClient, postToResponseUrl, withRateLimitBudget } from './client.js';
import { INSTALLATION_GONE, slackErrorCode, slackNeededScope, slackProblemText } from './errors.js';
import {
  ackText,
  errorText,
  internalErrorText,
  notInChannelText,
  parentMessage,
  rateLimitedText,
  slackUnavailableText,
  slackWords,
  statusMessage,
} from './render.js';

/** A command or a Cancel press, acknowledged, as plain data (it may cross to another thread). */
export type SlackWork =
  | { kind: 'command'; command: SlashCommand; parsed: Command; retryNum?: number; botToken: string }
  | {
      kind: 'cancel';
      taskId: string;
      teamId: string;
      userId: string;
      channelId?: string;
      threadTs?: string;
      botToken: string;
    };

export type SlackWorkDeps = {
  env: Pick<Env, 'SLACK_API_URL' | 'RATE_LIMIT_USER_PER_HOUR' | 'RATE_LIMIT_WORKSPACE_PER_HOUR'>;
  ledger: Pick<CreditLedger, 'ensureWorkspace' | 'balance'>;
  jobs: Pick<Jobs, 'submitResearch' | 'cancelResearch' | 'tasks'>;
  redis: Redis;
  logger: Logger;
  /** Redis key prefix for rate limits and duplicate detection (tests isolate with their own). */
  keyPrefix?: string;
  now?: () => Date;
  /**
   * Research commands worked on at once (SLACK_WORK_AT_ONCE by default), the rest waiting in line: a burst of
   * commands must not put hundreds of storage calls in flight at once (decision 051). Drained on shutdown.
   */
  limiter?: Limiter;
  /**
   * Everything else (help, balance, list, status, cancel, a bad command, a Cancel press) worked on at once,
   * SLACK_REPLIES_AT_ONCE by default. A line of its own, so an answer never waits behind a backlog of
   * research commands; drained on shutdown too.
   */
  replies?: Limiter;
  /** Slack said the workspace's token is revoked or invalid: mark the installation (OAuth mode, decision 058). */
  onInstallationGone?: (where: { teamId: string; enterpriseId?: string }, code: string) => Promise<void>;
};

/**
 * Research commands worked on at once, by default (decision 051). 4 was sized for SQLite's single writer; on
 * FerretDB's PostgreSQL handler 16 lets a burst of 2,000 commands be queued within the drain window (045).
 */
export const SLACK_WORK_AT_ONCE = 16;
/** Other answers worked on at once, by default: each is a read or two. */
export const SLACK_REPLIES_AT_ONCE = 16;
/**
 * Research commands of one workspace in its line at once: a workspace whose Slack calls fail or hang cannot
 * take every slot while they time out (decision 057).
 */
export const SLACK_RESEARCH_PER_WORKSPACE = 8;
/** Other answers of one workspace at once. */
export const SLACK_REPLIES_PER_WORKSPACE = 6;

/** How long an identical command from the same person in the same channel counts as a double submission. */
const DOUBLE_SUBMIT_SECONDS = 15;
/** Web API clients kept, one per bot token (one per installation in OAuth mode). */
const MAX_CLIENTS = 1000;

/**
 * Does acknowledged Slack work in line, and never rejects: a failure is logged and the user is told, and a
 * command that arrives after a shutdown began is told to try again (nothing was charged).
 */
export function createSlackWork(deps: SlackWorkDeps): (work: SlackWork) => Promise<void> {
  const handlers = createHandlers(deps);
  const limiter = deps.limiter ?? new Limiter(SLACK_WORK_AT_ONCE, undefined, SLACK_RESEARCH_PER_WORKSPACE);
  const replies = deps.replies ?? new Limiter(SLACK_REPLIES_AT_ONCE, undefined, SLACK_REPLIES_PER_WORKSPACE);
  const clients = new Map<string, WebClient>();
  const clientFor = (token: string): WebClient => {
    let client = clients.get(token);
    if (!client) {
      if (clients.size >= MAX_CLIENTS) clients.clear();
      client = boundedWebClient(token, deps.env.SLACK_API_URL);
      clients.set(token, client);
    }
    return client;
  };

  return async (work) => {
    const client = clientFor(work.botToken);
    if (work.kind === 'command') {
      const respond = respondTo(work.command.response_url);
      const research = work.parsed.kind === 'research';
      await (research ? limiter : replies)
        .run(
          () => handlers.command(work.parsed, { command: work.command, respond, client, retryNum: work.retryNum }),
          work.command.team_id,
        )
        .catch(async (error: unknown) => {
          const restarting = error instanceof LimiterClosedError;
          if (!restarting) deps.logger.error({ err: error, team: work.command.team_id }, 'slack command failed');
          const text = restarting ? RESTARTING_TEXT : internalErrorText();
          await respond({ response_type: 'ephemeral', text }).catch(() => undefined);
        });
      return;
    }
    const { channelId, userId, threadTs } = work;
    const tell = async (text: string) => {
      if (channelId)
        await withRateLimitBudget(() =>
          client.chat.postEphemeral({ channel: channelId, user: userId, text, thread_ts: threadTs }),
        );
    };
    await replies
      .run(async () => tell(await handlers.cancel(work.taskId, { teamId: work.teamId, userId, client })), work.teamId)
      .catch(async (error: unknown) => {
        if (error instanceof LimiterClosedError)
          return tell('PMF Scout is restarting: please press Cancel again in a minute.').catch(() => undefined);
        deps.logger.error({ err: error, team: work.teamId }, 'slack cancel failed');
        await tell(internalErrorText()).catch(() => undefined);
      });
  };
}

/** Answers through the command's response_url. */
function respondTo(responseUrl: string): Respond {
  return (message) => postToResponseUrl(responseUrl, message);
}

type Respond = (message: { response_type: 'ephemeral'; text: string }) => Promise<unknown>;
type CommandContext = { command: SlashCommand; respond: Respond; client: WebClient; retryNum?: number };

/** One function per subcommand; createSlackWork runs them in line and reports their failures. */
function createHandlers(deps: SlackWorkDeps) {
  const { ledger, jobs, redis, logger } = deps;
  const prefix = deps.keyPrefix ?? 'pmf:slack:';
  const now = deps.now ?? (() => new Date());
  // Slack team -> ledger workspace id. A workspace row never changes id, so caching it saves a PG write per command.
  const workspaceIds = new Map<string, string>();

  async function workspaceOf(
    command: SlashCommand | { team_id: string; team_domain?: string; enterprise_id?: string },
  ): Promise<string> {
    const externalId = command.team_id;
    const known = workspaceIds.get(externalId);
    if (known) return known;
    const ws = await ledger.ensureWorkspace({ platform: 'slack', externalId, name: command.team_domain ?? externalId });
    workspaceIds.set(externalId, ws.id);
    return ws.id;
  }

  const ephemeral = (respond: Respond, text: string) => respond({ response_type: 'ephemeral', text });

  async function research(cmd: ResearchCommand, { command, respond, client, retryNum }: CommandContext) {
    // The first delivery of a command claims it; Slack's retries and a quick identical resubmission share its key.
    const fingerprint = createHash('sha256')
      .update([command.team_id, command.channel_id, command.user_id, cmd.depth, cmd.idea].join('\u0000'))
      .digest('hex');
    const claimKey = `${prefix}cmd:${fingerprint}`;
    const earlier = (await redis.call(
      'SET',
      claimKey,
      command.trigger_id,
      'NX',
      'GET',
      'EX',
      String(DOUBLE_SUBMIT_SECONDS),
    )) as string | null;
    if (earlier !== null && earlier === command.trigger_id && retryNum !== undefined) {
      logger.info({ team: command.team_id, retryNum }, 'slack retry of a command already being handled: ignored');
      return;
    }
    const requestKey = `slack:${command.team_id}:${earlier ?? command.trigger_id}`;
    const unclaim = () => (earlier === null ? redis.del(claimKey) : Promise.resolve(0));

    const workspaceId = await workspaceOf(command);
    if (earlier === null) {
      const limit = await checkResearchRateLimit(
        redis,
        deps.env,
        { platform: 'slack', workspace: command.team_id, user: command.user_id },
        `${prefix}rl:`,
      );
      if (!limit.allowed) {
        await unclaim();
        return ephemeral(respond, rateLimitedText(limit));
      }
    }
    const origin: SlackOrigin = {
      platform: 'slack',
      teamId: command.team_id,
      enterpriseId: command.enterprise_id || undefined,
      channelId: command.channel_id,
      userId: command.user_id,
      // The final delivery's last way to the requester when the thread and the token fail (decision 059).
      responseUrl: command.response_url,
    };
    try {
      const { task, created } = await jobs.submitResearch(
        {
          requestKey,
          workspaceId,
          requester: { id: command.user_id, name: command.user_name },
          origin,
          idea: cmd.idea,
          depth: cmd.depth,
        },
        { announce: (t) => announce(client, t) },
      );
      if (!created) {
        if (earlier !== command.trigger_id)
          await ephemeral(
            respond,
            `That research is already under way as \`${task.id}\`; I did not start (or charge) a second one.`,
          );
        return;
      }
      const balance = await ledger.balance(workspaceId).catch(() => undefined);
      await ephemeral(
        respond,
        ackText({
          taskId: task.id,
          idea: task.idea,
          depth: task.depth,
          cost: task.cost,
          balanceAfter: balance?.balance,
        }),
      );
    } catch (error) {
      await unclaim();
      const code = slackErrorCode(error);
      if (code && INSTALLATION_GONE.has(code))
        await deps
          .onInstallationGone?.({ teamId: command.team_id, enterpriseId: command.enterprise_id || undefined }, code)
          .catch((err: unknown) => logger.warn({ err: String(err) }, 'could not mark the Slack installation revoked'));
      const text = refusalText(error, cmd);
      if (!text) throw error;
      logger.info(
        { team: command.team_id, reason: error instanceof Error ? error.name : 'unknown' },
        'slack research refused',
      );
      await ephemeral(respond, text);
    }
  }

  /** Posts the parent message and the threaded status reply; their timestamps go on the task origin. */
  async function announce(client: WebClient, task: Task): Promise<Partial<SlackOrigin>> {
    if (task.origin.platform !== 'slack') throw new Error('announce: not a Slack task');
    const channel = task.origin.channelId;
    const parent = await withRateLimitBudget(() =>
      client.chat.postMessage({ channel, ...parentMessage(task), unfurl_links: false, unfurl_media: false }),
    );
    const parentTs = parent.ts!;
    try {
      const status = await withRateLimitBudget(() =>
        client.chat.postMessage({ channel, thread_ts: parentTs, ...statusMessage(task, now()) }),
      );
      return { parentTs, statusTs: status.ts! };
    } catch (error) {
      // The research will not start: a parent left saying "running…" would never change. Best effort.
      await client.chat.delete({ channel, ts: parentTs }).catch(() => undefined);
      throw error;
    }
  }

  function refusalText(error: unknown, cmd: ResearchCommand): string | undefined {
    const ours = commandRefusalText(error, cmd.depth, slackWords);
    if (ours) return ours;
    const code = slackErrorCode(error);
    if (code === 'not_in_channel') return notInChannelText();
    const problem = code ? slackProblemText(code, slackNeededScope(error)) : undefined;
    if (problem) return errorText(problem);
    if (slackUnavailable(error)) return slackUnavailableText();
    return undefined;
  }

  /** Who pressed or typed: their Slack team is their workspace; admins and owners may cancel anything. */
  function askerOf(
    team: { team_id: string; team_domain?: string; enterprise_id?: string },
    userId: string,
    client: WebClient,
  ): Asker {
    return {
      userId,
      workspaceId: () => workspaceOf(team),
      // Another workspace's research does not exist, as far as this one can tell.
      owns: (task) => task.origin.platform === 'slack' && task.origin.teamId === team.team_id,
      isAdmin: async () => {
        const info = await withRateLimitBudget(() => client.users.info({ user: userId }));
        return Boolean(info.user?.is_admin || info.user?.is_owner);
      },
    };
  }

  const cancel = (typedId: string, ctx: { teamId: string; userId: string; client: WebClient }) =>
    cancelCommand(typedId, askerOf({ team_id: ctx.teamId }, ctx.userId, ctx.client), deps, slackWords);

  async function command(cmd: Command, ctx: CommandContext): Promise<unknown> {
    if (cmd.kind === 'research') return research(cmd, ctx);
    const { command: c, respond, client } = ctx;
    return ephemeral(respond, await answer(cmd, askerOf(c, c.user_id, client), deps, slackWords, now()));
  }

  return { command, cancel };
}

/** Slack answered 5xx, timed out, kept rate-limiting or could not be reached within our budget. */
function slackUnavailable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (
      code === 'slack_webapi_http_error' ||
      code === 'slack_webapi_request_error' ||
      code === 'slack_webapi_rate_limited_error'
    )
      return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
