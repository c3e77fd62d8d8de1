// Console server-side latency: the report search loader with 100,000 reports (a Mongo database of its own),
// queried a letter at a time as a person types, and a workspace page whose ledger holds 50,000
// transactions (a PostgreSQL database of its own, created, migrated and dropped here). Loaders are called
// directly with Request objects, so the figures are server time without the network or the browser.
import type { AppLoadContext, LoaderFunctionArgs } from '@remix-run/node';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { CreditLedger } from '../core/credits/index.js';
import type { Depth } from '../core/research/depth.js';
import { connectMongo, createPostgres, createRedis, migrateLatest, type Db } from '../core/storage/index.js';
import { keywordsOf } from '../core/tasks/keywords.js';
import type { TaskDoc } from '../core/tasks/doc.js';
import { TaskStore } from '../core/tasks/store.js';
import type { TaskStatus } from '../core/tasks/types.js';
import { LOCAL_URLS } from '../test/local-services.js';
import type { ConsoleServices } from '../console/app/lib/ports.server.js';
import { createSession } from '../console/app/lib/session.server.js';
import { TaskIndex } from '../console/app/lib/task-index.server.js';
import { createUser } from '../console/app/lib/users.server.js';
import * as reportsRoute from '../console/app/routes/reports._index.js';
import * as workspaceRoute from '../console/app/routes/workspaces.$id.js';

// `--reports N --transactions N` for a quick trial run; the defaults are the figures the targets are for.
const { values: args } = parseArgs({
  options: { reports: { type: 'string', default: '100000' }, transactions: { type: 'string', default: '50000' } },
});
const REPORTS = Number(args.reports);
const TRANSACTIONS = Number(args.transactions);
const ORIGIN = 'http://console.bench';
const run = randomUUID().slice(0, 8);
const PG_DB = `pmf_bench_console_${run}`;
const MONGO_DB = `bench_console_${run}`;

const databaseUrl = process.env.DATABASE_URL ?? LOCAL_URLS.DATABASE_URL;
const mongoUrl = process.env.MONGO_URL ?? LOCAL_URLS.MONGO_URL;
const redisUrl = process.env.REDIS_URL ?? LOCAL_URLS.REDIS_URL;

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const round = (n: number) => Math.round(n * 10) / 10;

// A small deterministic corpus: ideas built from parts, so prefixes hit realistic numbers of documents.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
const PRODUCTS =
  'marketplace app platform service subscription tool assistant tracker network studio marketplace copilot dashboard kiosk delivery rental exchange club coach planner'.split(
    ' ',
  );
const WHAT =
  'dog sitting,meal prep,invoicing,language tutoring,bike repair,plant care,home cleaning,tax filing,wedding planning,music lessons,elder care,car sharing,coworking desks,vintage clothing,3d printing,solar panels,beekeeping,podcast editing,recipe boxes,furniture flipping,yoga classes,pet insurance,tool lending,event tickets,board games,coffee roasting,kids coding,resume review,moving help,garden design'.split(
    ',',
  );
const WHO =
  'freelancers,students,retirees,new parents,small restaurants,landlords,nurses,truck drivers,remote teams,artists,farmers,dentists,gamers,runners,expats,teachers,photographers,startups,nonprofits,hotels'.split(
    ',',
  );
const WHERE =
  'in rural towns,in big cities,across europe,near campuses,in suburbs,on weekends,at night,for busy families,with ai matching,with verified reviews'.split(
    ',',
  );
const DEPTH_LIST: Depth[] = ['essential', 'standard', 'deep'];
const STATUS_LIST: TaskStatus[] = ['succeeded', 'succeeded', 'succeeded', 'succeeded', 'failed', 'cancelled'];

function reportDoc(i: number, r: () => number, workspaces: string[]): TaskDoc {
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
  const idea = `A ${pick(PRODUCTS)} for ${pick(WHAT)} aimed at ${pick(WHO)} ${pick(WHERE)}`;
  const status = pick(STATUS_LIST);
  const total = Math.floor(r() * 101);
  const title = `PMF: ${idea.slice(2, 80)}`;
  const summary = `Demand for ${pick(WHAT)} among ${pick(WHO)} looks ${total > 60 ? 'strong' : 'uneven'}; incumbents leave room ${pick(WHERE)}.`;
  const createdAt = new Date(Date.now() - Math.floor(r() * 365 * 86_400_000));
  const id = `B-${i.toString(36).toUpperCase().padStart(5, '0')}`;
  const depth = pick(DEPTH_LIST);
  return {
    _id: id,
    id,
    requestKey: `bench:${id}`,
    workspaceId: pick(workspaces),
    requester: { id: 'U1', name: 'bench' },
    origin: { platform: 'slack', teamId: 'T1', channelId: 'C1', userId: 'U1' },
    idea,
    depth,
    cost: { essential: 6, standard: 12, deep: 18 }[depth],
    status,
    checkpoints: [{ id: 'received', at: createdAt }],
    keywords: keywordsOf(
      idea,
      status === 'succeeded' ? title : undefined,
      status === 'succeeded' ? summary : undefined,
    ),
    ...(status === 'succeeded'
      ? {
          score: total,
          report: {
            markdown: `# ${title}\n\n${summary}\n`,
            json: {
              title,
              summary,
              idea,
              depth,
              sandbox: true,
              score: {
                total,
                band: total >= 60 ? 'strong' : total >= 40 ? 'moderate' : 'weak',
                confidence: 'medium',
                subScores: [],
              },
            },
          },
        }
      : {}),
    attempts: 1,
    createdAt,
  } as TaskDoc;
}

async function timeLoader(
  fn: (args: LoaderFunctionArgs) => Promise<unknown>,
  request: Request,
  context: AppLoadContext,
  params: Record<string, string> = {},
): Promise<number> {
  const t0 = performance.now();
  const res = (await fn({ request, context, params })) as Response;
  await res.text();
  const ms = performance.now() - t0;
  if (res.status !== 200) throw new Error(`${request.url} answered ${res.status}`);
  return ms;
}

function typed(phrase: string): string[] {
  return Array.from({ length: phrase.length }, (_, i) => phrase.slice(0, i + 1)).filter((q) => q.trim() !== '');
}

async function main(): Promise<void> {
  const admin = createPostgres(withDatabase(databaseUrl, 'postgres'), { max: 1 });
  await admin.raw(`CREATE DATABASE ${PG_DB}`);
  let db: Db | undefined;
  const mongo = await connectMongo(mongoUrl, MONGO_DB);
  const redis = createRedis(redisUrl, 'bench-console');
  try {
    db = createPostgres(withDatabase(databaseUrl, PG_DB), { max: 10 });
    await migrateLatest(db);
    const ledger = new CreditLedger(db);
    const tasks = new TaskStore(mongo);
    await tasks.ensureIndexes();
    const services: ConsoleServices = {
      db,
      redis,
      mongo,
      ledger,
      tasks,
      origin: ORIGIN,
      sandbox: false,
      now: () => new Date(),
    };
    const context: AppLoadContext = { services, clientIp: '127.0.0.1' };
    const user = await createUser(db, { email: 'bench@console.bench', password: `pw-${randomUUID()}`, role: 'admin' });
    const cookie = (await createSession(db, new Request(`${ORIGIN}/login`), context, user)).split(';')[0]!;
    const get = (path: string) => new Request(`${ORIGIN}${path}`, { headers: { cookie } });

    // --- seed -------------------------------------------------------------------------------------
    const workspaces: string[] = [];
    for (let i = 0; i < 50; i++)
      workspaces.push(
        (await ledger.ensureWorkspace({ platform: 'slack', externalId: `T-B${i}`, name: `Bench ${i}` })).id,
      );
    let t0 = performance.now();
    const r = rng(42);
    const BATCH = 2000;
    // The console's read model (decision 075) is filled from the same documents as they are written, the
    // way the live console hears them on the progress channel. A full scan back out of FerretDB would only
    // add minutes of load on a server other engineers share.
    const taskIndex = new TaskIndex();
    const corpus: TaskDoc[] = [];
    let indexMs = 0;
    for (let i = 0; i < REPORTS; i += BATCH) {
      const docs = Array.from({ length: Math.min(BATCH, REPORTS - i) }, (_, j) => reportDoc(i + j, r, workspaces));
      await mongo.db.collection<TaskDoc>('tasks').insertMany(docs, { ordered: false });
      corpus.push(...docs);
    }
    const ti = performance.now();
    taskIndex.fill(corpus);
    indexMs = performance.now() - ti;
    services.taskIndex = taskIndex;
    const indexBuildMs = indexMs;
    process.stderr.write(
      `seeded ${REPORTS} reports in ${Math.round(performance.now() - t0)} ms (indexing them: ${Math.round(indexMs)} ms)\n`,
    );

    t0 = performance.now();
    const big = workspaces[0]!;
    await ledger.balance(big);
    await ledger.grant({
      workspaceId: big,
      amount: 10,
      actor: 'bench',
      reason: 'open the month',
      idempotencyKey: randomUUID(),
    });
    const month = (await ledger.balance(big)).month;
    const base = (await ledger.balance(big)).balance;
    // Grants of 3 and adjustments of -1, alternating, with the balance_after chain the invariant checks.
    await db.raw(
      `INSERT INTO transactions (workspace_id, month, type, amount, balance_after, actor, reason, idempotency_key, payload_hash, created_at)
       SELECT :ws, :month, CASE WHEN i % 2 = 0 THEN 'grant' ELSE 'adjust' END, CASE WHEN i % 2 = 0 THEN 3 ELSE -1 END,
              :base + sum(CASE WHEN i % 2 = 0 THEN 3 ELSE -1 END) OVER (ORDER BY i), 'console:bench@console.bench', 'bench row ' || i,
              'bench-' || i, 'h', now() - ((:n - i) * interval '30 seconds')
       FROM generate_series(1, :n) AS i ORDER BY i`,
      { ws: big, month, base, n: TRANSACTIONS },
    );
    await db('balances')
      .where({ workspace_id: big, month })
      .update({ balance: base + TRANSACTIONS });
    const inv = await ledger.checkInvariant(big);
    if (!inv.ok) throw new Error(`seeded ledger is inconsistent: ${inv.problems.join('; ')}`);
    process.stderr.write(`seeded ${TRANSACTIONS} transactions in ${Math.round(performance.now() - t0)} ms\n`);

    // --- measure ------------------------------------------------------------------------------------
    const phrases = [
      'dog sitting for freelancers',
      'marketplace invoicing',
      'solar panels in rural towns',
      'yoga classes',
      'kids coding teachers',
      'beekeeping',
      'coffee roasting',
    ];
    const queries = phrases.flatMap(typed);
    for (const q of queries.slice(0, 10))
      await timeLoader(reportsRoute.loader, get(`/reports?q=${encodeURIComponent(q)}`), context); // warm-up
    const searchMs: number[] = [];
    for (let round_ = 0; round_ < 2; round_++) {
      for (const q of queries)
        searchMs.push(await timeLoader(reportsRoute.loader, get(`/reports?q=${encodeURIComponent(q)}`), context));
    }
    searchMs.sort((a, b) => a - b);

    const ledgerPaths = [
      `/workspaces/${big}`,
      `/workspaces/${big}?page=2`,
      `/workspaces/${big}?type=grant`,
      `/workspaces/${big}?page=500`,
      `/workspaces/${big}?type=adjust&page=100`,
    ];
    for (const p of ledgerPaths) await timeLoader(workspaceRoute.loader, get(p), context, { id: big }); // warm-up
    const ledgerMs: number[] = [];
    for (let i = 0; i < 60; i++) {
      const p = ledgerPaths[i % ledgerPaths.length]!;
      ledgerMs.push(await timeLoader(workspaceRoute.loader, get(p), context, { id: big }));
    }
    ledgerMs.sort((a, b) => a - b);

    console.log(`task index: ${taskIndex.size} reports indexed in ${Math.round(indexBuildMs)} ms`);
    console.log(
      `report search (${REPORTS} reports, ${searchMs.length} prefix queries): p50 ${round(percentile(searchMs, 50))} ms, p95 ${round(percentile(searchMs, 95))} ms, max ${round(searchMs.at(-1) ?? 0)} ms`,
    );
    console.log(
      `workspace ledger page (${TRANSACTIONS} transactions, ${ledgerMs.length} loads): p50 ${round(percentile(ledgerMs, 50))} ms, p95 ${round(percentile(ledgerMs, 95))} ms, max ${round(ledgerMs.at(-1) ?? 0)} ms`,
    );
    console.log(
      JSON.stringify({
        index_build_ms: Math.round(indexBuildMs),
        search_p50_ms: round(percentile(searchMs, 50)),
        search_p95_ms: round(percentile(searchMs, 95)),
        ledger_p50_ms: round(percentile(ledgerMs, 50)),
        ledger_p95_ms: round(percentile(ledgerMs, 95)),
      }),
    );
  } finally {
    await db?.destroy();
    // Only the collection: dropping a database crashes FerretDB 1.24 (see scripts/local-servers.mjs).
    await mongo.db
      .collection('tasks')
      .drop()
      .catch(() => undefined);
    await mongo.client.close();
    await redis.quit();
    await admin.raw(`DROP DATABASE IF EXISTS ${PG_DB}`).catch(() => undefined);
    await admin.destroy();
  }
}

await main();
