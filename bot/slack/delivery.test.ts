// The Slack delivery against the fake Slack Web API and real Redis: the shared chat.update budget, 429s
// waited out, permanent errors, and final deliveries that never repeat a step.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { WebClient } from '@slack/web-api';
import { createLogger } from '../../core/observability/logger.js';
import { CHECKPOINTS } from '../../core/research/checkpoints.js';
import { PermanentDeliveryError } from '../../core/tasks/delivery.js';
import type { Task } from '../../core/tasks/types.js';
import { makeResult, makeTask } from '../../test/fakes/slack/fixtures.js';
import { DEFAULT_TOKEN, startFakeSlack, type FakeSlack } from '../../test/fakes/slack/server.js';
import { testRedis, uniquePrefix } from '../../test/helpers/storage.js';
import { createSlackDelivery } from './delivery.js';
import { singleTokenResolver } from './installation-store.js';

const redis = testRedis();
const logger = createLogger('slack-delivery-test', 'silent');
let fake: FakeSlack;
let client: WebClient;

beforeAll(async () => {
  fake = await startFakeSlack({ updateLimit: { limit: 20, windowMs: 3000 } });
  client = new WebClient(DEFAULT_TOKEN, { slackApiUrl: fake.apiUrl });
});
afterAll(async () => {
  await fake.close();
  redis.disconnect();
});

function delivery(budget = { limit: 18, windowMs: 3000 }) {
  return createSlackDelivery({
    env: { SLACK_API_URL: fake.apiUrl, SLACK_UPDATES_PER_MINUTE: 45 },
    redis,
    logger,
    tokenFor: singleTokenResolver(DEFAULT_TOKEN),
    updateBudget: budget,
    keyPrefix: uniquePrefix('slack_delivery'),
  });
}

let seq = 0;
/** A task whose parent and status reply exist in the fake, as after announce. */
async function postedTask(channel: string, over: Partial<Task> = {}): Promise<Task> {
  const parent = await client.chat.postMessage({ channel, text: 'parent' });
  const status = await client.chat.postMessage({ channel, text: 'status', thread_ts: parent.ts });
  return makeTask({
    id: `R-T${++seq}`,
    origin: {
      platform: 'slack',
      teamId: 'T1',
      channelId: channel,
      userId: 'U0MARIA',
      parentTs: parent.ts,
      statusTs: status.ts,
    },
    ...over,
  });
}

const withCheckpoints = (t: Task, n: number): Task => ({
  ...t,
  checkpoints: CHECKPOINTS.slice(0, n).map((id) => ({ id, at: new Date() })),
});
const lastBlocks = (channel: string, ts: string) =>
  JSON.stringify(fake.message(channel, ts)?.edits.at(-1)?.blocks ?? null);

describe('createSlackDelivery', () => {
  it('keeps 30 concurrent researches in one workspace under the chat.update limit and shows every final state', async () => {
    const d = delivery();
    const tasks = await Promise.all(Array.from({ length: 30 }, () => postedTask('CMANY')));
    const before = fake.rateLimited['chat.update'] ?? 0;
    await Promise.all(
      tasks.map(async (task) => {
        // What the job layer does: progress at most every 100 ms here, one at a time, then the final state.
        for (let n = 4; n <= 16; n += 4) {
          await d.progress(withCheckpoints(task, n));
          await new Promise((r) => setTimeout(r, 100));
        }
        await d.succeeded({ ...withCheckpoints(task, 16), status: 'succeeded', finishedAt: new Date() }, makeResult());
      }),
    );
    expect((fake.rateLimited['chat.update'] ?? 0) - before).toBe(0);
    for (const task of tasks) {
      if (task.origin.platform !== 'slack') throw new Error('not slack');
      expect(lastBlocks('CMANY', task.origin.statusTs!)).toContain('*17/17*');
      expect(lastBlocks('CMANY', task.origin.statusTs!)).toContain('✅ done');
      expect(lastBlocks('CMANY', task.origin.parentTs!)).toContain('✅ *PMF 68/100*');
      const thread = fake.thread('CMANY', task.origin.parentTs!);
      expect(thread.filter((m) => m.file?.filename === `pmf-${task.id}.md`)).toHaveLength(1);
      expect(thread.filter((m) => m.file)[0]?.file?.content).toBe('# PMF report\n\nBody.');
      expect(thread.filter((m) => JSON.stringify(m.blocks).includes('PMF 68/100'))).toHaveLength(1);
    }
  }, 120_000);

  it('waits out a 429 per Retry-After instead of dropping the edit', async () => {
    const d = delivery();
    const task = await postedTask('C429');
    fake.failNext('chat.update', { retryAfter: 1 }, 1);
    const started = Date.now();
    await d.failed({
      ...task,
      status: 'failed',
      error: { userMessage: 'The search provider failed.', detail: 'x' },
      refunded: 12,
      finishedAt: new Date(),
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    if (task.origin.platform !== 'slack') throw new Error('not slack');
    expect(lastBlocks('C429', task.origin.statusTs!)).toContain('❌ The search provider failed. · 12 credits returned');
    expect(lastBlocks('C429', task.origin.parentTs!)).toContain('failed · 12 credits returned');
  });

  it('sends only the newest of the progress states that queued up behind the budget', async () => {
    const d = delivery({ limit: 2, windowMs: 1500 });
    const task = await postedTask('CLATEST');
    if (task.origin.platform !== 'slack') throw new Error('not slack');
    const updates = () =>
      fake
        .callsOf('chat.update')
        .filter((c) => c.args.ts === (task.origin as { statusTs: string }).statusTs && c.status === 200);
    // progress may use 80% of a budget of 2, so one edit per window: the rest wait, newest wins.
    await Promise.all([4, 5, 6, 7, 8].map((n) => d.progress(withCheckpoints(task, n))));
    const seen = updates().map((c) => Number(/\*(\d+)\/17\*/.exec(JSON.stringify(c.args.blocks))?.[1]));
    expect(seen[0]).toBe(4);
    expect(seen.at(-1)).toBe(8);
    expect(seen.length).toBeLessThanOrEqual(3);
  });

  it.each(['account_inactive', 'token_revoked'])('gives up for good on %s', async (error) => {
    const gone: string[] = [];
    const d = createSlackDelivery({
      env: { SLACK_API_URL: fake.apiUrl, SLACK_UPDATES_PER_MINUTE: 45 },
      redis,
      logger,
      tokenFor: singleTokenResolver(DEFAULT_TOKEN),
      updateBudget: { limit: 18, windowMs: 3000 },
      keyPrefix: uniquePrefix('slack_delivery'),
      onInstallationGone: async (origin, code) => {
        gone.push(`${origin.teamId}:${code}`);
      },
    });
    const task = await postedTask(`CGONE${error}`);
    fake.setChannelError(`CGONE${error}`, error);
    fake.setChannelError('U0MARIA', error);
    try {
      await expect(d.succeeded({ ...task, status: 'succeeded' }, makeResult())).rejects.toBeInstanceOf(
        PermanentDeliveryError,
      );
      await expect(d.failed({ ...task, status: 'failed', refunded: 12 })).rejects.toBeInstanceOf(
        PermanentDeliveryError,
      );
      // The installation is reported, so the console can say "reinstall the app".
      expect(gone).toEqual([`T1:${error}`, `T1:${error}`]);
    } finally {
      fake.setChannelError('U0MARIA', undefined);
    }
  });

  it.each(['channel_not_found', 'is_archived'])(
    'sends the report to the requester by DM when the thread takes nothing (%s), saying why',
    async (error) => {
      const d = delivery();
      const channel = error === 'is_archived' ? 'CDMARCHIVED' : 'CDMGONE';
      const task = await postedTask(channel);
      fake.setChannelError(channel, error);
      await d.succeeded({ ...task, status: 'succeeded' }, makeResult());
      const dm = fake.messages.filter((m) => m.channel === 'U0MARIA' && m.text.includes(task.id));
      expect(dm[0]!.text).toContain(`I couldn't post it in <#${channel}>`);
      expect(JSON.stringify(dm[0]!.blocks)).toContain(error === 'is_archived' ? 'archived' : 'Invite me');
      const parts = fake.messages.filter((m) => m.channel === 'U0MARIA' && m.text.startsWith(`PMF report ${task.id}`));
      expect(parts.length).toBeGreaterThanOrEqual(1);
      expect(JSON.stringify(parts[0]!.blocks)).toContain('"type":"markdown"');
      // The failure of a thread-less research is still a permanent problem: there is nobody to tell in the thread.
      await expect(d.failed({ ...task, status: 'failed', refunded: 12 })).rejects.toBeInstanceOf(
        PermanentDeliveryError,
      );
    },
  );

  it('joins a public channel it is not in to share the file (not_in_channel), then shares it', async () => {
    const d = delivery();
    const task = await postedTask('CJOIN');
    fake.setChannel('CJOIN', { member: false });
    await d.succeeded({ ...task, status: 'succeeded' }, makeResult());
    if (task.origin.platform !== 'slack') throw new Error('not slack');
    expect(fake.joined).toContain('CJOIN');
    const thread = fake.thread('CJOIN', task.origin.parentTs!);
    expect(thread.filter((m) => m.file)).toHaveLength(1);
    expect(
      fake
        .callsOf('files.completeUploadExternal')
        .filter((c) => c.args.channel_id === 'CJOIN')
        .map((c) => c.error),
    ).toEqual(['not_in_channel', undefined]);
  });

  it('without channels:join, posts the report in the thread as messages and says how to get files', async () => {
    const d = delivery();
    const task = await postedTask('CNOJOIN');
    fake.setChannel('CNOJOIN', { member: false });
    fake.setScopes(DEFAULT_TOKEN, ['chat:write', 'chat:write.public', 'files:write', 'commands', 'users:read']);
    const markdown = `# Report\n${'A line of the report with a <!channel> in it.\n'.repeat(400)}`;
    try {
      await d.succeeded({ ...task, status: 'succeeded' }, { ...makeResult(), markdown });
      await d.succeeded({ ...task, status: 'succeeded' }, { ...makeResult(), markdown }); // a retried delivery
    } finally {
      fake.setScopes(DEFAULT_TOKEN, undefined);
    }
    if (task.origin.platform !== 'slack') throw new Error('not slack');
    const thread = fake.thread('CNOJOIN', task.origin.parentTs!);
    expect(thread.filter((m) => m.file)).toHaveLength(0);
    const parts = thread.filter((m) => m.text.startsWith(`PMF report ${task.id}`));
    expect(parts.map((m) => m.text)).toEqual([
      `PMF report ${task.id} (part 1 of 2)`,
      `PMF report ${task.id} (part 2 of 2)`,
    ]);
    const texts = parts.map((m) => (m.blocks[0] as { type: string; text: string }).text);
    expect(texts.every((t) => t.length <= 11_000)).toBe(true);
    expect(
      texts
        .join('\n')
        .replace(/\u2060/g, '')
        .trimEnd(),
    ).toBe(markdown.trimEnd());
    expect(texts.join('')).not.toContain('<!channel>');
    const notice = thread.find((m) => m.text.includes("couldn't attach the report file"));
    expect(notice?.text).toContain('/invite @PMF Scout');
    expect(thread.filter((m) => m.text.includes("couldn't attach the report file"))).toHaveLength(1);
    expect(lastBlocks('CNOJOIN', task.origin.parentTs!)).toContain('PMF 68/100');
  });

  it('does not upload or post twice when a final delivery is retried', async () => {
    const d = delivery();
    const task = await postedTask('CRETRY');
    const done = { ...task, status: 'succeeded' as const, finishedAt: new Date() };
    fake.failNext('chat.postMessage', 'internal_error', 1);
    await expect(d.succeeded(done, makeResult())).rejects.toThrow();
    await d.succeeded(done, makeResult());
    if (task.origin.platform !== 'slack') throw new Error('not slack');
    const thread = fake.thread('CRETRY', task.origin.parentTs!);
    expect(thread.filter((m) => m.file)).toHaveLength(1);
    expect(thread.filter((m) => JSON.stringify(m.blocks).includes('PMF 68/100'))).toHaveLength(1);
    expect(lastBlocks('CRETRY', task.origin.parentTs!)).toContain('PMF 68/100');
  });

  it('ignores a task with no status reply yet and a message someone deleted', async () => {
    const d = delivery();
    await d.progress(makeTask({ origin: { platform: 'slack', teamId: 'T1', channelId: 'C1', userId: 'U1' } }));
    const task = await postedTask('CDEL');
    await d.progress({
      ...withCheckpoints(task, 5),
      origin: { ...(task.origin as object), statusTs: '1.999' } as Task['origin'],
    });
  });

  /** A task as the command path records it: made just now, with the command's response_url (decision 059). */
  async function commandTask(channel: string, createdAt = new Date()): Promise<{ task: Task; responseId: string }> {
    const base = await postedTask(channel);
    const responseId = `resp-${randomUUID()}`;
    if (base.origin.platform !== 'slack') throw new Error('not slack');
    return {
      task: { ...base, createdAt, origin: { ...base.origin, responseUrl: fake.responseUrl(responseId) } },
      responseId,
    };
  }
  const responsesTo = (id: string) => fake.responses.filter((r) => r.id === id).map((r) => String(r.body.text));

  it('a token Slack no longer takes: the report reaches nobody, and the requester hears it through the response_url once', async () => {
    const revoked = createSlackDelivery({
      env: { SLACK_API_URL: fake.apiUrl, SLACK_UPDATES_PER_MINUTE: 45 },
      redis,
      logger,
      tokenFor: singleTokenResolver(`xoxb-revoked-${randomUUID()}`),
      keyPrefix: uniquePrefix('slack_delivery'),
    });
    const { task, responseId } = await commandTask('CREVOKED');
    const done = { ...task, status: 'succeeded' as const };
    await expect(revoked.succeeded(done, makeResult())).rejects.toBeInstanceOf(PermanentDeliveryError);
    await expect(revoked.succeeded(done, makeResult())).rejects.toBeInstanceOf(PermanentDeliveryError); // a retry
    const told = responsesTo(responseId);
    expect(told).toHaveLength(1);
    expect(told[0]).toContain(`Your research \`${task.id}\` finished, but I couldn't deliver its report`);
    expect(told[0]).toContain('Your 12 credits were returned; nothing was charged.');
    expect(told[0]).toContain('a workspace admin needs to reinstall the app');
    expect(fake.responses.find((r) => r.id === responseId)?.body.response_type).toBe('ephemeral');
  });

  it('a failure the archived thread cannot show: told through the response_url while it lives, else by DM', async () => {
    const d = delivery();
    const fresh = await commandTask('CENDARCH');
    const stale = await commandTask('CENDARCH', new Date(Date.now() - 40 * 60_000));
    fake.setChannelError('CENDARCH', 'is_archived');
    try {
      for (const { task } of [fresh, stale])
        await expect(
          d.failed({
            ...task,
            status: 'failed',
            refunded: 12,
            error: { userMessage: 'The research could not be finished. Your 12 credits were returned.', detail: 'x' },
          }),
        ).rejects.toBeInstanceOf(PermanentDeliveryError);
    } finally {
      fake.setChannelError('CENDARCH', undefined);
    }
    const told = responsesTo(fresh.responseId);
    expect(told).toHaveLength(1);
    expect(told[0]).toContain(`I couldn't post the end of your research \`${fresh.task.id}\` in <#CENDARCH>`);
    expect(told[0]).toContain('Your 12 credits were returned.');
    expect(told[0]).toContain('unarchive it');
    expect(fake.messages.filter((m) => m.channel === 'U0MARIA' && m.text.includes(fresh.task.id))).toHaveLength(0);
    // Past Slack's 30 minutes the response_url is not tried: the notice goes by DM.
    expect(responsesTo(stale.responseId)).toHaveLength(0);
    const dm = fake.messages.filter((m) => m.channel === 'U0MARIA' && m.text.includes(stale.task.id));
    expect(dm.map((m) => m.text)).toEqual([expect.stringContaining("I couldn't post the end of your research")]);
  });

  it('a final delivery whose retries ran out: the job layer calls undelivered and the requester hears it once', async () => {
    const d = delivery();
    const { task, responseId } = await commandTask('CFLAKY');
    const done = { ...task, status: 'succeeded' as const };
    await d.undelivered!(done, 'gave up after 3 attempts: HTTP 500');
    await d.undelivered!(done, 'gave up after 3 attempts: HTTP 500');
    const told = responsesTo(responseId);
    expect(told).toHaveLength(1);
    expect(told[0]).toContain('Your 12 credits were returned; nothing was charged.');
    expect(told[0]).toContain('Slack kept failing when I posted there');
  });
});
