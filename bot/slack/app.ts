// The Slack app: `/pmf` and the Cancel button on Bolt 5, in HTTP mode or Socket Mode.
// Every listener acks first, with nothing but parsing (Slack gives us 3 s and storage can be slow), then does
// its work and answers ephemerally. See docs/decisions/051-slack-ack-first.md.
import { createHash } from 'node:crypto';
import bolt from '@slack/bolt';
import type { App as BoltApp, AppOptions, InstallationStore, RespondFn, SlashCommand } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { Env } from '../../core/config/index.js';
import { InsufficientCreditsError, WorkspaceSuspendedError, type CreditLedger } from '../../core/credits/index.js';
import { JobsError, type Jobs } from '../../core/jobs/index.js';
import { checkResearchRateLimit } from '../../core/limits/rate-limit.js';
import type { Logger } from '../../core/observability/logger.js';
import type { Redis } from '../../core/storage/index.js';
import { normalizeTaskId } from '../../core/tasks/ids.js';
import type { SlackOrigin, Task } from '../../core/tasks/types.js';
import { parseCommand, type Command } from '../commands/parse.js';
import { Limiter, LimiterClosedError, RESTARTING_TEXT } from '../limiter.js';
import { slackErrorCode } from './errors.js';
import {
  CANCEL_ACTION_ID,
  ackText,
  balanceText,
  cancelRefusedText,
  cancelledText,
  errorText,
  helpText,
  insufficientText,
  internalErrorText,
  listText,
  notFoundText,
  notInChannelText,
  parentMessage,
  rateLimitedText,
  statusMessage,
  statusText,
  suspendedText,
} from './render.js';

const { App, LogLevel } = bolt;

export type SlackAppEnv = Pick<
  Env,
  | 'SLACK_BOT_TOKEN'
  | 'SLACK_APP_TOKEN'
  | 'SLACK_SIGNING_SECRET'
  | 'SLACK_CLIENT_ID'
  | 'SLACK_CLIENT_SECRET'
  | 'SLACK_STATE_SECRET'
  | 'SLACK_API_URL'
  | 'SLACK_MODE'
  | 'SLACK_PORT'
  | 'RATE_LIMIT_USER_PER_HOUR'
  | 'RATE_LIMIT_WORKSPACE_PER_HOUR'
>;

export type SlackAppDeps = {
  env: SlackAppEnv;
  ledger: Pick<CreditLedger, 'ensureWorkspace' | 'balance'>;
  jobs: Pick<Jobs, 'submitResearch' | 'cancelResearch' | 'tasks'>;
  redis: Redis;
  logger: Logger;
  /** OAuth distribution: where installations live (createPgInstallationStore). Unused in single-token mode. */
  installationStore?: InstallationStore;
  /** Redis key prefix for rate limits and duplicate detection (tests isolate with their own). */
  keyPrefix?: string;
  now?: () => Date;
  /**
   * Commands worked on at once after their acks (4 by default), the rest waiting in line. Every command worked
   * on puts callbacks on the event loop that new acks wait behind (decision 051 has the measurements). The
   * process drains it on shutdown.
   */
  work?: Limiter;
};

/** Commands worked on at once after their acks, by default (decision 051). */
export const SLACK_WORK_AT_ONCE = 4;

/** Channel errors that mean "the bot cannot post here": the requester can fix them with /invite. */
const CANNOT_POST = new Set([
  'not_in_channel',
  'channel_not_found',
  'is_archived',
  'restricted_action',
  'cannot_post_in_channel',
]);
/** How long an identical command from the same person in the same channel counts as a double submission. */
const DOUBLE_SUBMIT_SECONDS = 15;

export function slackMode(env: Pick<Env, 'SLACK_MODE' | 'SLACK_APP_TOKEN'>): 'socket' | 'http' {
  return env.SLACK_MODE ?? (env.SLACK_APP_TOKEN ? 'socket' : 'http');
}

/** Bolt options for the configured mode and installation style; pure so it can be checked without a server. */
export function boltOptions(env: SlackAppEnv, installationStore?: InstallationStore): AppOptions {
  const clientOptions = env.SLACK_API_URL ? { slackApiUrl: withSlash(env.SLACK_API_URL) } : {};
  const socket = slackMode(env) === 'socket';
  const options: AppOptions = { clientOptions, logLevel: LogLevel.ERROR };
  if (socket) {
    if (!env.SLACK_APP_TOKEN) throw new Error('Socket Mode needs SLACK_APP_TOKEN (xapp-…)');
    // The Socket Mode receiver builds its own client (apps.connections.open) from the installer's options.
    Object.assign(options, { socketMode: true, appToken: env.SLACK_APP_TOKEN, installerOptions: { clientOptions } });
  } else {
    if (!env.SLACK_SIGNING_SECRET) throw new Error('HTTP mode needs SLACK_SIGNING_SECRET');
    Object.assign(options, {
      signingSecret: env.SLACK_SIGNING_SECRET,
      endpoints: '/slack/events',
      port: env.SLACK_PORT,
    });
  }
  if (env.SLACK_BOT_TOKEN) {
    options.token = env.SLACK_BOT_TOKEN;
  } else if (env.SLACK_CLIENT_ID && env.SLACK_CLIENT_SECRET && installationStore) {
    Object.assign(options, {
      clientId: env.SLACK_CLIENT_ID,
      clientSecret: env.SLACK_CLIENT_SECRET,
      stateSecret: env.SLACK_STATE_SECRET,
      scopes: ['commands', 'chat:write', 'chat:write.public', 'files:write', 'users:read'],
      installationStore,
      installerOptions: { ...(options.installerOptions ?? {}), clientOptions, directInstall: true },
    });
  } else {
    throw new Error(
      'Slack needs SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID + SLACK_CLIENT_SECRET with an installation store (OAuth)',
    );
  }
  return options;
}

export function createSlackApp(deps: SlackAppDeps): BoltApp {
  const app = new App(boltOptions(deps.env, deps.installationStore));
  const handlers = createHandlers(deps);
  const work = deps.work ?? new Limiter(SLACK_WORK_AT_ONCE);

  app.command('/pmf', async ({ command, ack, respond, client, context }) => {
    const parsed = parseCommand(command.text);
    if (!parsed.ok) return ack({ response_type: 'ephemeral', text: errorText(parsed.message) });
    if (parsed.command.kind === 'help') return ack({ response_type: 'ephemeral', text: helpText() });
    await ack();
    const parsedCommand = parsed.command;
    await work
      .run(() => handlers.command(parsedCommand, { command, respond, client, retryNum: context.retryNum }))
      .catch(async (error: unknown) => {
        const restarting = error instanceof LimiterClosedError;
        if (!restarting) deps.logger.error({ err: error, team: command.team_id }, 'slack command failed');
        const text = restarting ? RESTARTING_TEXT : internalErrorText();
        await respond({ response_type: 'ephemeral', text }).catch(() => undefined);
      });
  });

  app.action(CANCEL_ACTION_ID, async ({ ack, body, action, client }) => {
    await ack();
    if (body.type !== 'block_actions' || action.type !== 'button' || !action.value) return;
    const channel = body.channel?.id;
    const tell = async (text: string) => {
      if (channel)
        await client.chat.postEphemeral({
          channel,
          user: body.user.id,
          text,
          thread_ts: body.container?.thread_ts as string | undefined,
        });
    };
    const teamId = body.team?.id ?? body.user.team_id ?? '';
    const taskId = action.value;
    await work
      .run(() => handlers.cancel(taskId, { teamId, userId: body.user.id, client, tell }))
      .catch(async (error: unknown) => {
        if (error instanceof LimiterClosedError)
          return tell('PMF Scout is restarting: please press Cancel again in a minute.').catch(() => undefined);
        deps.logger.error({ err: error, team: teamId }, 'slack cancel failed');
        await tell(internalErrorText()).catch(() => undefined);
      });
  });

  app.error(async (error) => {
    deps.logger.error({ err: error }, 'slack app error');
  });
  return app;
}

type CommandContext = { command: SlashCommand; respond: RespondFn; client: WebClient; retryNum?: number };

/** The work after the ack, one function per subcommand; exported through createSlackApp only. */
function createHandlers(deps: SlackAppDeps) {
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

  const ephemeral = (respond: RespondFn, text: string) => respond({ response_type: 'ephemeral', text });

  async function research(
    cmd: Extract<Command, { kind: 'research' }>,
    { command, respond, client, retryNum }: CommandContext,
  ) {
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
    const parent = await client.chat.postMessage({
      channel,
      ...parentMessage(task),
      unfurl_links: false,
      unfurl_media: false,
    });
    const parentTs = parent.ts!;
    const status = await client.chat.postMessage({ channel, thread_ts: parentTs, ...statusMessage(task, now()) });
    return { parentTs, statusTs: status.ts! };
  }

  function refusalText(error: unknown, cmd: Extract<Command, { kind: 'research' }>): string | undefined {
    if (error instanceof InsufficientCreditsError) return insufficientText(error, cmd.depth);
    if (error instanceof WorkspaceSuspendedError) return suspendedText();
    const code = slackErrorCode(error);
    if (code && CANNOT_POST.has(code)) return notInChannelText();
    if (error instanceof JobsError && error.code === 'invalid') return errorText(error.message);
    return undefined;
  }

  async function findTask(teamId: string, typedId: string): Promise<Task | undefined> {
    const id = normalizeTaskId(typedId);
    if (!id) return undefined;
    const task = await jobs.tasks.get(id);
    // Another workspace's research does not exist, as far as this one can tell.
    return task && task.origin.platform === 'slack' && task.origin.teamId === teamId ? task : undefined;
  }

  async function isAdmin(client: WebClient, userId: string): Promise<boolean> {
    const info = await client.users.info({ user: userId });
    return Boolean(info.user?.is_admin || info.user?.is_owner);
  }

  async function cancel(
    typedId: string,
    ctx: { teamId: string; userId: string; client: WebClient; tell: (text: string) => Promise<unknown> },
  ) {
    const task = await findTask(ctx.teamId, typedId);
    if (!task) return ctx.tell(notFoundText(typedId));
    const admin = task.requester.id === ctx.userId ? false : await isAdmin(ctx.client, ctx.userId);
    if (task.requester.id !== ctx.userId && !admin) return ctx.tell(cancelRefusedText(task.requester.id));
    try {
      const after = await jobs.cancelResearch(task.id, { id: ctx.userId, isAdmin: admin });
      return ctx.tell(cancelledText(after));
    } catch (error) {
      if (error instanceof JobsError && error.code === 'forbidden')
        return ctx.tell(cancelRefusedText(task.requester.id));
      if (error instanceof JobsError) return ctx.tell(`\`${task.id}\`: ${error.message}`);
      throw error;
    }
  }

  async function command(cmd: Command, ctx: CommandContext): Promise<unknown> {
    const { command: c, respond } = ctx;
    switch (cmd.kind) {
      case 'research':
        return research(cmd, ctx);
      case 'help':
        return ephemeral(respond, helpText());
      case 'balance':
        return ephemeral(respond, balanceText(await ledger.balance(await workspaceOf(c))));
      case 'list':
        return ephemeral(respond, listText(await jobs.tasks.listByWorkspace(await workspaceOf(c), 10)));
      case 'status': {
        const task = await findTask(c.team_id, cmd.taskId);
        return ephemeral(respond, task ? statusText(task, now()) : notFoundText(cmd.taskId));
      }
      case 'cancel':
        return cancel(cmd.taskId, {
          teamId: c.team_id,
          userId: c.user_id,
          client: ctx.client,
          tell: (text) => ephemeral(respond, text),
        });
    }
  }

  return { command, cancel };
}

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}
