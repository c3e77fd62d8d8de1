// 30 researches at once in one workspace: the shared chat.update budget keeps the fake Slack's Tier-3 limit
// from ever answering 429, and every research still ends with its final state shown.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FakeEngine } from '../../test/helpers/jobs-fixtures.js';
import type { Task } from '../../core/tasks/types.js';
import { startSlackHarness, type SlackHarness } from '../../test/fakes/slack/harness.js';

let h: SlackHarness;
const N = 30;

beforeAll(async () => {
  h = await startSlackHarness({
    label: 'slack_concurrency',
    engine: new FakeEngine({ stepMs: () => 40 + Math.floor(Math.random() * 80) }),
    workerConcurrency: N,
    // Slack's Tier 3 scaled down in time: 20 edits per 3 s per workspace, and our budget just under it.
    fake: { updateLimit: { limit: 20, windowMs: 3000 } },
    updateBudget: { limit: 18, windowMs: 3000 },
  });
});
afterAll(async () => {
  await h.close();
});

describe('30 concurrent researches in one workspace', () => {
  it('never draws a 429 and shows every final state', async () => {
    const { teamId, workspaceId } = await h.newTeam();
    const sent = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        h.command({
          teamId,
          channelId: 'CBUSY',
          userId: `U0USER${i}`,
          text: `essential idea number ${i} for busy teams`,
        }),
      ),
    );
    expect(sent.every((r) => r.status === 200)).toBe(true);
    const ids = await Promise.all(
      sent.map(async (r) => {
        const [reply] = await h.waitFor(
          'ack',
          () => (h.responsesFor(r.responseId).length ? h.responsesFor(r.responseId) : undefined),
          60_000,
          200,
        );
        return /`(R-[A-Z0-9]+)`/.exec(reply!)![1]!;
      }),
    );
    const tasks = await h.waitFor(
      'every research delivered',
      async () => {
        const docs = await Promise.all(ids.map((id) => h.jobs.tasks.getDoc(id)));
        return docs.every((d) => d?.deliveredAt)
          ? ((await Promise.all(ids.map((id) => h.jobs.tasks.get(id)))) as Task[])
          : undefined;
      },
      120_000,
      1000,
    );

    expect(h.fake.rateLimited['chat.update'] ?? 0).toBe(0);
    expect(h.fake.calls.filter((c) => c.status === 429)).toHaveLength(0);
    for (const task of tasks) {
      expect(task.status).toBe('succeeded');
      expect(task.delivery?.failedPermanently).toBeUndefined();
      if (task.origin.platform !== 'slack') throw new Error('not slack');
      const status = h.fake.message('CBUSY', task.origin.statusTs!)!;
      expect(JSON.stringify(status.edits.at(-1)?.blocks)).toContain('*17/17*');
      expect(JSON.stringify(status.edits.at(-1)?.blocks)).toContain('✅ done');
      const parent = h.fake.message('CBUSY', task.origin.parentTs!)!;
      expect(JSON.stringify(parent.edits.at(-1)?.blocks)).toContain('✅ *PMF 64/100*');
      const thread = h.fake.thread('CBUSY', task.origin.parentTs!);
      expect(thread.filter((m) => m.file?.filename === `pmf-${task.id}.md`)).toHaveLength(1);
      expect(thread.filter((m) => JSON.stringify(m.blocks).includes('PMF 64/100'))).toHaveLength(1);
    }
    expect((await h.ledger.balance(workspaceId)).balance).toBe(1000 - N * 6);
  }, 200_000);
});
