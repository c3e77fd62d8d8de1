// One research worker (its job layer, not started) on the real test servers, isolated by its own Mongo
// database, Redis channel names and a fresh workspace. Used by the jobs tests and the benchmark.
import { randomUUID } from 'node:crypto';
import { CreditLedger } from '../../core/credits/index.js';
import { createLogger } from '../../core/observability/logger.js';
import type { ResearchEngine, ResearchHooks, ResearchInput } from '../../core/research/contract.js';
import {
  connectMongo,
  createPostgres,
  createRedis,
  type Db,
  type Mongo,
  type Redis,
  type Storage,
} from '../../core/storage/index.js';
import type { DeliveryResolver } from '../../core/tasks/delivery.js';
import { createResearchWorker } from '../../core/jobs/index.js';
import type { Collection } from 'mongodb';
import { FakeEngine, RecordingDelivery, TEST_JOBS_ENV, type DeliveryCall } from './jobs-fixtures.js';
import { borrowedStorage } from './storage.js';
import type { JobsEnv, JobsTuning, LedgerPort, ResearchWorker } from '../../core/jobs/types.js';

/** Routes each run to the engine registered for its idea (so a late retry of one test's task cannot
 *  consume another test's scripted failure), or to the default. */
export class SwitchableEngine implements ResearchEngine {
  private readonly byIdea = new Map<string, ResearchEngine>();
  constructor(public impl: ResearchEngine = new FakeEngine()) {}
  forIdea(idea: string, engine: ResearchEngine): string {
    this.byIdea.set(idea, engine);
    return idea;
  }
  run(input: ResearchInput, hooks?: ResearchHooks) {
    return (this.byIdea.get(input.idea) ?? this.impl).run(input, hooks);
  }
  async forget(runId: string): Promise<void> {
    await Promise.all([this.impl, ...this.byIdea.values()].map((e) => e.forget?.(runId)));
  }
}

export type Harness = {
  storage: Storage;
  ledger: CreditLedger;
  workspaceId: string;
  engine: SwitchableEngine;
  delivery: RecordingDelivery;
  jobs: ResearchWorker;
  tuning: Partial<JobsTuning>;
  env: JobsEnv;
  /** Another worker on the same queue (another process, as far as the queue can tell). */
  another(over?: {
    engine?: ResearchEngine;
    deliveries?: DeliveryResolver;
    tuning?: Partial<JobsTuning>;
    /** A ledger standing in for the real one (to script its answers). */
    ledger?: LedgerPort;
  }): ResearchWorker;
  close(): Promise<void>;
};

export function testTuning(label: string): Partial<JobsTuning> {
  const prefix = `test:${label}:${randomUUID().slice(0, 8)}:`;
  return {
    processEveryMs: 500,
    channel: `${prefix}agenda`,
    progressPrefix: `${prefix}progress:`,
    retryBaseMs: 100,
    progressIntervalMs: 200,
    cancelPollMs: 300,
    deliveryAttempts: 3,
  };
}

export async function openHarness(
  label: string,
  opts: {
    mongo?: Mongo;
    redis?: Redis;
    pg?: Db;
    env?: Partial<JobsEnv>;
    tuning?: Partial<JobsTuning>;
    engine?: ResearchEngine;
    allowance?: number;
    deliverySink?: Collection<DeliveryCall>;
  } = {},
): Promise<Harness> {
  const mongo = opts.mongo ?? (await connectMongo(process.env.MONGO_URL!, `t_${label}_${randomUUID().slice(0, 8)}`));
  const redis = opts.redis ?? createRedis(process.env.REDIS_URL!, 'test');
  const pg = opts.pg ?? createPostgres(process.env.DATABASE_URL!, { max: 10 });
  const storage = borrowedStorage({ pg, mongo, redis });
  const ledger = new CreditLedger(pg, { defaultAllowance: opts.allowance ?? 1000 });
  const ws = await ledger.ensureWorkspace({
    platform: 'slack',
    externalId: `T-${randomUUID()}`,
    name: `jobs ${label}`,
  });
  const engine = new SwitchableEngine(opts.engine);
  const delivery = new RecordingDelivery(opts.deliverySink);
  const env = { ...TEST_JOBS_ENV, ...opts.env };
  const tuning = { ...testTuning(label), ...opts.tuning };
  const logger = createLogger('jobs-test', process.env.JOBS_TEST_LOG ?? 'silent');
  const instances: ResearchWorker[] = [];
  const make = (
    over: {
      engine?: ResearchEngine;
      deliveries?: DeliveryResolver;
      tuning?: Partial<JobsTuning>;
      ledger?: LedgerPort;
    } = {},
  ) => {
    const jobs = createResearchWorker({
      env,
      storage,
      ledger: over.ledger ?? ledger,
      engine: over.engine ?? engine,
      deliveries: over.deliveries ?? (() => delivery),
      logger,
      tuning: { ...tuning, ...over.tuning },
    });
    instances.push(jobs);
    return jobs;
  };
  const jobs = make();
  return {
    storage,
    ledger,
    workspaceId: ws.id,
    engine,
    delivery,
    jobs,
    tuning,
    env,
    another: make,
    async close() {
      await Promise.allSettled(instances.map((j) => j.stop()));
      // Never dropped (FerretDB 1.24 can crash dropping a database under live connections): `services up` clears it.
      if (!opts.mongo) await mongo.client.close();
      if (!opts.redis) redis.disconnect();
      if (!opts.pg) await pg.destroy();
    },
  };
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 60_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
