// The bot's work thread for real: its own connections to PostgreSQL, MongoDB and Redis, the fake Slack, and
// commands handed over as the front door hands them (plain data through postMessage).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { SlashCommand } from '@slack/bolt';
import { parseEnv } from '../core/config/index.js';
import { CreditLedger } from '../core/credits/index.js';
import { createLogger } from '../core/observability/logger.js';
import { connectMongo } from '../core/storage/index.js';
import { TaskStore } from '../core/tasks/store.js';
import { DEFAULT_TOKEN, startFakeSlack, type FakeSlack } from '../test/fakes/slack/server.js';
import { testPostgres, uniquePrefix } from '../test/helpers/storage.js';
import { parseCommand } from './commands/parse.js';
import { RESTARTING_TEXT } from './limiter.js';
import type { SlackWork } from './slack/work.js';
import { WorkThread } from './work-thread.js';

let fake: FakeSlack;
const pg = testPostgres(2);
const ledger = new CreditLedger(pg);
// A database of its own: the thread connects by URL, the test reads back through the same one.
const mongoUrl = new URL(process.env.MONGO_URL!);
mongoUrl.pathname = `/t_work_thread_${randomUUID().slice(0, 8)}`;
const prefix = uniquePrefix('work_thread');
let thread: WorkThread;
const threadEnv = () =>
  parseEnv({ ...process.env, MONGO_URL: mongoUrl.href, SLACK_API_URL: fake.apiUrl, LOG_LEVEL: 'silent' });

beforeAll(async () => {
  fake = await startFakeSlack();
  thread = await WorkThread.start(
    {
      env: threadEnv(),
      slackKeyPrefix: prefix,
      jobsTuning: { collection: 'agendaJobs', channel: `${prefix}agenda`, progressPrefix: `${prefix}progress:` },
    },
    createLogger('test', 'silent'),
  );
});
afterAll(async () => {
  await thread.finish(1_000, 1_000);
  await fake.close();
  await pg.destroy();
});

function research(teamId: string, userId: string, idea: string) {
  const text = `essential ${idea}`;
  const parsed = parseCommand(text);
  if (!parsed.ok) throw new Error(parsed.message);
  const responseId = randomUUID();
  const command: SlashCommand = {
    token: 'verification-token',
    command: '/pmf',
    text,
    response_url: fake.responseUrl(responseId),
    trigger_id: `${randomUUID()}.trigger`,
    user_id: userId,
    user_name: userId.toLowerCase(),
    team_id: teamId,
    team_domain: teamId.toLowerCase(),
    channel_id: 'CWORK',
    channel_name: 'work',
    api_app_id: 'AWORK',
  };
  thread.dispatch({
    platform: 'slack',
    work: { kind: 'command', command, parsed: parsed.command, botToken: DEFAULT_TOKEN },
  });
  return responseId;
}

async function answerTo(responseId: string, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = fake.responses.find((r) => r.id === responseId);
    if (answer) return String(answer.body.text ?? '');
    if (Date.now() > deadline) throw new Error(`no answer at response_url ${responseId}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the work thread', () => {
  it('reserves, queues and answers the commands handed to it; on finish, those already handed over are done and later ones told to retry', async () => {
    const teamId = `TWT${randomUUID().slice(0, 8).toUpperCase()}`;
    const ideas = ['Dog sitters matched by neighbourhood', 'Invoices reconciled against freight contracts'];
    const handedOver = ideas.map((idea, n) => research(teamId, `UWT${n}`, idea));
    const finished = thread.finish(10_000, 1_000);
    const late = research(teamId, 'UWTLATE', 'Meal kits for people with type 2 diabetes');

    await expect(finished).resolves.toBe(true);
    const ids = await Promise.all(
      handedOver.map(async (id) => {
        const answer = await answerTo(id);
        const taskId = /`(R-[A-Z0-9]+)`/.exec(answer)?.[1];
        if (!taskId) throw new Error(`no research started: ${answer}`);
        return taskId;
      }),
    );
    expect(await answerTo(late)).toBe(RESTARTING_TEXT);

    const ws = await ledger.findWorkspace('slack', teamId);
    expect((await ledger.balance(ws!.id)).used).toBe(2 * 6);
    const mongo = await connectMongo(mongoUrl.href);
    const tasks = new TaskStore(mongo);
    for (const id of ids) expect((await tasks.get(id))?.status).toBe('queued');
    await mongo.client.close();
    expect(fake.callsOf('chat.postMessage').length).toBe(4);
  }, 60_000);

  it('reports a thread that died unasked, so the process can exit and be restarted instead of losing work silently', async () => {
    let died!: (code: number) => void;
    const diedWith = new Promise<number>((r) => (died = r));
    const doomed = await WorkThread.start(
      { env: threadEnv(), slackKeyPrefix: prefix, jobsTuning: { channel: `${prefix}doomed` } },
      createLogger('test', 'silent'),
      died,
    );
    // Work that is not what the front door sends: the handler throws and nothing catches it.
    doomed.dispatch({ platform: 'slack', work: null as unknown as SlackWork });
    await expect(diedWith).resolves.toBe(1);
  }, 30_000);
});
