// The work thread's metrics reach the bot's /metrics: credits it reserved are recorded in the thread's own
// module copies, and WorkThread.metrics() brings them to the main thread (decision 081).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { SlashCommand } from '@slack/bolt';
import { parseEnv } from '../core/config/index.js';
import { createLogger } from '../core/observability/logger.js';
import { DEFAULT_TOKEN, startFakeSlack, type FakeSlack } from '../test/fakes/slack/server.js';
import { uniquePrefix } from '../test/helpers/storage.js';
import { parseCommand } from './commands/parse.js';
import { WorkThread } from './work-thread.js';

let fake: FakeSlack;
let thread: WorkThread;
const mongoUrl = new URL(process.env.MONGO_URL!);
mongoUrl.pathname = `/t_work_metrics_${randomUUID().slice(0, 8)}`;
const prefix = uniquePrefix('work_metrics');

beforeAll(async () => {
  fake = await startFakeSlack();
  thread = await WorkThread.start(
    {
      env: parseEnv({ ...process.env, MONGO_URL: mongoUrl.href, SLACK_API_URL: fake.apiUrl, LOG_LEVEL: 'silent' }),
      slackKeyPrefix: prefix,
      jobsTuning: { collection: 'agendaJobs', channel: `${prefix}agenda`, progressPrefix: `${prefix}progress:` },
    },
    createLogger('test', 'silent'),
  );
});
afterAll(async () => {
  await thread.finish(1_000, 1_000);
  await fake.close();
});

describe('WorkThread.metrics', () => {
  it("returns the thread's pmf_* series, with the credits it reserved, and no process metrics", async () => {
    const text = 'essential dog sitters matched by neighbourhood';
    const parsed = parseCommand(text);
    if (!parsed.ok) throw new Error(parsed.message);
    const responseId = randomUUID();
    const teamId = `TWM${randomUUID().slice(0, 8).toUpperCase()}`;
    const command: SlashCommand = {
      token: 'verification-token',
      command: '/pmf',
      text,
      response_url: fake.responseUrl(responseId),
      trigger_id: `${randomUUID()}.trigger`,
      user_id: 'UWM1',
      user_name: 'uwm1',
      team_id: teamId,
      team_domain: teamId.toLowerCase(),
      channel_id: 'CWM',
      channel_name: 'metrics',
      api_app_id: 'AWM',
    };
    thread.dispatch({
      platform: 'slack',
      work: { kind: 'command', command, parsed: parsed.command, botToken: DEFAULT_TOKEN },
    });
    const until = Date.now() + 30_000;
    while (!fake.responses.some((r) => r.id === responseId) && Date.now() < until)
      await new Promise((r) => setTimeout(r, 50));
    expect(fake.responses.find((r) => r.id === responseId)?.body.text).toMatch(/R-[A-Z0-9]+/);

    const snapshot = await thread.metrics();
    const credits = snapshot.find((m) => m.name === 'pmf_credits_total');
    expect(credits?.values.find((v) => v.labels.type === 'reserve')?.value).toBeGreaterThanOrEqual(6);
    expect(snapshot.every((m) => m.name.startsWith('pmf_'))).toBe(true);
  }, 60_000);
});
