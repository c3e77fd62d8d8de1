// The real Slack app in HTTP mode against the fake Slack Web API, on real PostgreSQL, Redis and MongoDB:
// ledger, jobs (Agenda), optionally a worker with a research engine, and the Slack delivery. Used by the
// Slack tests and bench/slack.ts.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import { CreditLedger } from '../../../core/credits/index.js';
import {
  createJobs,
  createResearchWorker,
  type CreateJobsOptions,
  type Jobs,
  type JobsTuning,
  type ResearchWorker,
} from '../../../core/jobs/index.js';
import { TEST_JOBS_ENV } from '../../helpers/jobs-fixtures.js';
import { createLogger, type Logger } from '../../../core/observability/logger.js';
import type { ResearchEngine } from '../../../core/research/contract.js';
import { startSandbox, type Sandbox } from '../../../core/sandbox/index.js';
import type { Db, Mongo, Redis } from '../../../core/storage/index.js';
import type { Delivery } from '../../../core/tasks/delivery.js';
import { Limiter } from '../../../bot/limiter.js';
import { createSlackApp, type SlackAppEnv } from '../../../bot/slack/app.js';
import {
  createSlackWork,
  SLACK_REPLIES_AT_ONCE,
  SLACK_REPLIES_PER_WORKSPACE,
  SLACK_RESEARCH_PER_WORKSPACE,
  SLACK_WORK_AT_ONCE,
  type SlackWorkDeps,
} from '../../../bot/slack/work.js';
import { createSlackDelivery } from '../../../bot/slack/delivery.js';
import { singleTokenResolver } from '../../../bot/slack/installation-store.js';
import { sandboxEngine } from '../../helpers/research.js';
import { borrowedStorage, testMongo, testPostgres, testRedis, uniquePrefix } from '../../helpers/storage.js';
import { DEFAULT_TOKEN, startFakeSlack, type FakeSlack, type FakeSlackOptions } from './server.js';
import { blockActionBody, sendSigned, slashCommandBody, type SlashCommand } from './signer.js';

export const SIGNING_SECRET = 'test-signing-secret';

export type HarnessOptions = {
  /** 'sandbox': the real engine on the sandbox providers; an engine: that one; undefined: no worker runs. */
  engine?: 'sandbox' | ResearchEngine;
  fake?: FakeSlackOptions;
  updateBudget?: { limit: number; windowMs: number };
  env?: Partial<SlackAppEnv & SlackWorkDeps['env']>;
  workerConcurrency?: number;
  allowance?: number;
  logger?: Logger;
  /** The app's line of work after its acks (tests of the shutdown drain hold on to it). */
  work?: Limiter;
  /** Share one storage (the bench runs the app and compares it in one process). */
  label?: string;
  /**
   * Arrange the processes as in production: the app's work settles through a job layer with no platform
   * delivery (the bot's work thread), and `jobs` is the worker, the only one with the Slack delivery.
   */
  split?: boolean;
  /** Extra tuning of the job layers (orphan sweeps, for instance). */
  tuning?: Partial<JobsTuning>;
};

export type SlackHarness = {
  fake: FakeSlack;
  eventsUrl: string;
  pg: Db;
  mongo: Mongo;
  redis: Redis;
  ledger: CreditLedger;
  /** The worker's job layer (with the Slack delivery); with no engine, a job layer that only submits. */
  jobs: Jobs;
  /** The job layer the app's work uses: `jobs` itself, or (split) one without any platform delivery. */
  front: Jobs;
  /** Another job layer without platform deliveries on the same queue (the console's, say). */
  another(tuning?: Partial<JobsTuning>): Jobs;
  /** Another worker without platform deliveries on the same queue, not started (to sweep orphans, say). */
  anotherWorker(tuning?: Partial<JobsTuning>): ResearchWorker;
  delivery: Delivery;
  prefix: string;
  sandbox?: Sandbox;
  /** A Slack team id no other test uses, with its ledger workspace. */
  newTeam(): Promise<{ teamId: string; workspaceId: string }>;
  command(
    c: Omit<SlashCommand, 'responseUrl'> & { responseId?: string },
    opts?: { retryNum?: number; timestamp?: number; signature?: string },
  ): Promise<{ status: number; text: string; ms: number; responseId: string }>;
  pressCancel(a: {
    teamId: string;
    userId: string;
    taskId: string;
    messageTs: string;
    threadTs?: string;
  }): Promise<{ status: number }>;
  /** Ephemeral replies posted to a command's response_url. */
  responsesFor(responseId: string): string[];
  waitFor<T>(
    what: string,
    fn: () => T | undefined | false | Promise<T | undefined | false>,
    timeoutMs?: number,
    everyMs?: number,
  ): Promise<T>;
  close(): Promise<void>;
};

export async function startSlackHarness(opts: HarnessOptions = {}): Promise<SlackHarness> {
  const label = opts.label ?? 'slack';
  const logger = opts.logger ?? createLogger('slack-test', process.env.LOG_LEVEL ?? 'silent');
  const fake = await startFakeSlack(opts.fake);
  const pg = testPostgres(10);
  const mongo = await testMongo(label);
  const redis = testRedis();
  const prefix = uniquePrefix(label);
  const storage = borrowedStorage({ pg, mongo, redis });
  const ledger = new CreditLedger(pg, { defaultAllowance: opts.allowance ?? 1000 });

  let sandbox: Sandbox | undefined;
  let engine: ResearchEngine | undefined;
  if (opts.engine === 'sandbox') {
    sandbox = await startSandbox({ port: 0 });
    engine = sandboxEngine(sandbox, redis, pg, { cachePrefix: `${prefix}cache:`, maxRetries: 2, timeoutMs: 20_000 });
  } else if (opts.engine) {
    engine = opts.engine;
  }

  const delivery = createSlackDelivery({
    env: { SLACK_API_URL: fake.apiUrl, SLACK_UPDATES_PER_MINUTE: 45 },
    redis,
    logger,
    tokenFor: singleTokenResolver(DEFAULT_TOKEN),
    updateBudget: opts.updateBudget,
    keyPrefix: `${prefix}slack:`,
  });
  const made: Jobs[] = [];
  const options = (withDelivery: boolean, extra: Partial<JobsTuning>): CreateJobsOptions => ({
    // A longer lock means fewer heartbeats: FerretDB on a busy 2-core machine is the bottleneck, not us.
    env: { ...TEST_JOBS_ENV, WORKER_CONCURRENCY: opts.workerConcurrency ?? 5, JOB_LOCK_LIFETIME_MS: 15_000 },
    storage,
    ledger,
    deliveries: (task) => (withDelivery && task.origin.platform === 'slack' ? delivery : undefined),
    logger,
    tuning: {
      collection: `agenda_${prefix.replace(/[^a-z0-9]/gi, '_')}`,
      channel: `${prefix}agenda`,
      progressPrefix: `${prefix}progress:`,
      processEveryMs: 1000,
      cancelPollMs: 2000,
      retryBaseMs: 200,
      progressIntervalMs: 200,
      ...opts.tuning,
      ...extra,
    },
  });
  const makeJobs = (withDelivery: boolean, extra: Partial<JobsTuning> = {}) => {
    const made1 = createJobs(options(withDelivery, extra));
    made.push(made1);
    return made1;
  };
  const makeWorker = (withDelivery: boolean, extra: Partial<JobsTuning> = {}) => {
    if (!engine) throw new Error('this Slack harness has no research engine: pass `engine` to have a worker');
    const made1 = createResearchWorker({ ...options(withDelivery, extra), engine });
    made.push(made1);
    return made1;
  };
  const worker = engine ? makeWorker(true) : undefined;
  const jobs = worker ?? makeJobs(true);
  const front = opts.split ? makeJobs(false) : jobs;
  await worker?.startWorker();

  const env: SlackAppEnv & SlackWorkDeps['env'] = {
    SLACK_BOT_TOKEN: DEFAULT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: fake.apiUrl,
    SLACK_MODE: 'http',
    SLACK_PORT: 0,
    SLACK_APP_TOKEN: undefined,
    SLACK_CLIENT_ID: undefined,
    SLACK_CLIENT_SECRET: undefined,
    SLACK_STATE_SECRET: undefined,
    RATE_LIMIT_USER_PER_HOUR: 1000,
    RATE_LIMIT_WORKSPACE_PER_HOUR: 10_000,
    ...opts.env,
  };
  // Kept here so that close() can wait for the work behind the acks: left running, it calls the fake Slack
  // after it closed, and the WebClient retries that for half an hour, keeping the jest worker alive.
  // The production lines, per-workspace caps included (decision 057).
  const limiter = opts.work ?? new Limiter(SLACK_WORK_AT_ONCE, undefined, SLACK_RESEARCH_PER_WORKSPACE);
  const replies = new Limiter(SLACK_REPLIES_AT_ONCE, undefined, SLACK_REPLIES_PER_WORKSPACE);
  const work = createSlackWork({
    env,
    ledger,
    jobs: front,
    redis,
    logger,
    keyPrefix: `${prefix}slack:`,
    limiter,
    replies,
  });
  const app = createSlackApp({ env, logger, dispatch: (w) => void work(w) });
  const server = (await app.start(0)) as Server;
  const eventsUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;

  const waitFor: SlackHarness['waitFor'] = async (what, fn, timeoutMs = 30_000, everyMs = 50) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await fn();
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, everyMs));
    }
  };

  return {
    fake,
    eventsUrl,
    pg,
    mongo,
    redis,
    ledger,
    jobs,
    front,
    another: (tuning) => makeJobs(false, tuning),
    anotherWorker: (tuning) => makeWorker(false, tuning),
    delivery,
    prefix,
    sandbox,
    async newTeam() {
      const teamId = `T${randomUUID().replace(/-/g, '').slice(0, 10).toUpperCase()}`;
      const ws = await ledger.ensureWorkspace({ platform: 'slack', externalId: teamId, name: `team ${teamId}` });
      return { teamId, workspaceId: ws.id };
    },
    async command(c, sendOpts = {}) {
      const responseId = c.responseId ?? randomUUID();
      const body = slashCommandBody({ ...c, responseUrl: fake.responseUrl(responseId) });
      const res = await sendSigned(eventsUrl, SIGNING_SECRET, body, sendOpts);
      return { ...res, responseId };
    },
    async pressCancel(a) {
      const body = blockActionBody({ ...a, responseUrl: fake.responseUrl(randomUUID()) });
      return sendSigned(eventsUrl, SIGNING_SECRET, body);
    },
    responsesFor: (responseId) =>
      fake.responses.filter((r) => r.id === responseId).map((r) => String(r.body.text ?? '')),
    waitFor,
    async close() {
      await app.stop().catch(() => undefined);
      await Promise.all([limiter.finish(15_000, 5_000), replies.finish(15_000, 5_000)]);
      await Promise.allSettled(made.map((j) => j.stop()));
      await sandbox?.close();
      await fake.close();
      await mongo.client.close();
      await pg.destroy();
      redis.disconnect();
    },
  };
}
