// Builds the console's services on the real test servers and calls loaders/actions with plain Request
// objects, as Remix would. Each harness has its own Mongo database and its own users and workspaces.
import { randomInt, randomUUID } from 'node:crypto';
import type { AppLoadContext } from '@remix-run/node';
import { CreditLedger } from '../../core/credits/index.js';
import type { Mongo } from '../../core/storage/index.js';
import { TaskStore } from '../../core/tasks/store.js';
import { testMongo, testPostgres, testRedis } from '../../test/helpers/storage.js';
import { CONSOLE_WORKSPACE } from '../app/lib/jobs.server.js';
import type { ConsoleServices, JobsPort } from '../app/lib/ports.server.js';
import { createSession } from '../app/lib/session.server.js';
import { createUser, type ConsoleUser, type Role } from '../app/lib/users.server.js';

export const ORIGIN = 'http://console.test';

/**
 * Tops the playground workspace up to `atLeast` credits this month. It is one workspace shared by every run
 * on the same servers (tests never drop a database), so runs would otherwise spend its allowance down.
 */
export async function fundPlayground(ledger: CreditLedger, atLeast = 200): Promise<void> {
  const workspace = await ledger.ensureWorkspace(CONSOLE_WORKSPACE);
  const { balance } = await ledger.balance(workspace.id);
  if (balance >= atLeast) return;
  await ledger.grant({
    workspaceId: workspace.id,
    amount: atLeast - balance,
    actor: 'test',
    reason: 'test runs share the playground workspace',
    idempotencyKey: randomUUID(),
  });
}

export type Harness = {
  services: ConsoleServices;
  context: AppLoadContext;
  mongo: Mongo;
  tasks: TaskStore;
  ledger: CreditLedger;
  user(role: Role): Promise<{ user: ConsoleUser; cookie: string; password: string }>;
  get(path: string, cookie?: string): Request;
  post(path: string, form: Record<string, string>, opts?: { cookie?: string; origin?: string | null }): Request;
  close(): Promise<void>;
};

export async function createHarness(label: string, opts: { jobs?: JobsPort } = {}): Promise<Harness> {
  const db = testPostgres(5);
  const redis = testRedis();
  const mongo = await testMongo(label);
  const ledger = new CreditLedger(db, { defaultAllowance: 100 });
  const tasks = new TaskStore(mongo);
  await tasks.ensureIndexes();
  const services: ConsoleServices = {
    db,
    redis,
    mongo,
    ledger,
    tasks,
    jobs: opts.jobs,
    origin: ORIGIN,
    sandbox: true,
    now: () => new Date(),
  };
  // A client address of its own, so login failures of earlier runs do not rate-limit this one.
  const context: AppLoadContext = { services, clientIp: `10.${randomInt(256)}.${randomInt(256)}.${randomInt(256)}` };
  return {
    services,
    context,
    mongo,
    tasks,
    ledger,
    async user(role) {
      const password = `pw-${randomUUID()}`;
      const user = await createUser(db, {
        email: `${role}-${randomUUID().slice(0, 8)}@${label.replace(/[^a-z0-9]/gi, '-')}.test`,
        password,
        role,
      });
      const setCookie = await createSession(db, new Request(`${ORIGIN}/login`), context, user);
      return { user, cookie: setCookie.split(';')[0]!, password };
    },
    get(path, cookie) {
      return new Request(`${ORIGIN}${path}`, { headers: cookie ? { cookie } : {} });
    },
    post(path, form, o = {}) {
      const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
      if (o.cookie) headers.cookie = o.cookie;
      if (o.origin !== null) headers.origin = o.origin ?? ORIGIN;
      return new Request(`${ORIGIN}${path}`, { method: 'POST', headers, body: new URLSearchParams(form).toString() });
    },
    async close() {
      await mongo.client.close();
      await redis.quit();
      await db.destroy();
    },
  };
}

/** Runs a loader or action and returns its Response, whether it was returned or thrown. */
export async function respond(fn: () => Promise<unknown>): Promise<Response> {
  try {
    const out = await fn();
    if (out instanceof Response) return out;
    throw new Error(`expected a Response, got ${typeof out}`);
  } catch (err) {
    if (err instanceof Response) return err;
    throw err;
  }
}
