// The whole Slack flow on the real research engine with the sandbox providers: signed /pmf, a worker,
// live edits of the status reply, the report file in the thread, the summary, the parent's final score,
// and the credits captured; and a failed research that says why and returns the credits.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CHECKPOINTS } from '../../core/research/checkpoints.js';
import type { Task } from '../../core/tasks/types.js';
import { startSlackHarness, type SlackHarness } from '../../test/fakes/slack/harness.js';
import type { FakeMessage } from '../../test/fakes/slack/server.js';

let h: SlackHarness;

beforeAll(async () => {
  h = await startSlackHarness({ label: 'slack_flow', engine: 'sandbox' });
});
afterAll(async () => {
  await h.close();
});

const IDEA = 'An app that matches dog owners with vetted sitters in their neighbourhood';

async function run(teamId: string, channelId: string, text: string): Promise<Task> {
  const res = await h.command({ teamId, channelId, userId: 'U0MARIA', text });
  expect(res.status).toBe(200);
  expect(res.ms).toBeLessThan(3000);
  const [reply] = await h.waitFor('ack', () =>
    h.responsesFor(res.responseId).length ? h.responsesFor(res.responseId) : undefined,
  );
  const id = /`(R-[A-Z0-9]+)`/.exec(reply!)![1]!;
  return h.waitFor(
    'the research to finish and be delivered',
    async () => {
      const task = await h.jobs.tasks.getDoc(id);
      return task && task.deliveredAt ? ((await h.jobs.tasks.get(id)) as Task) : undefined;
    },
    120_000,
  );
}

/** "n/17" of every version of the status reply, first post included. */
function counts(status: FakeMessage): number[] {
  return [status.blocks, ...status.edits.map((e) => e.blocks)].map((b) =>
    Number(/\*(\d+)\/17\*/.exec(JSON.stringify(b))?.[1] ?? -1),
  );
}

describe('a research in Slack, end to end', () => {
  it('edits the status in checkpoint order, uploads the report in the thread, sums up and captures the credits', async () => {
    const { teamId, workspaceId } = await h.newTeam();
    const task = await run(teamId, 'CFLOW', `essential ${IDEA}`);
    expect(task.status).toBe('succeeded');
    if (task.origin.platform !== 'slack') throw new Error('not slack');
    const { parentTs, statusTs } = task.origin;

    const status = h.fake.message('CFLOW', statusTs!)!;
    expect(status.threadTs).toBe(parentTs);
    const seen = counts(status);
    expect(seen[0]).toBe(2); // posted at credits_reserved, before queued
    expect(seen.at(-1)).toBe(CHECKPOINTS.length);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    expect(status.edits.length).toBeGreaterThanOrEqual(3);
    const last = JSON.stringify(status.edits.at(-1)!.blocks);
    expect(last).toContain('✅ done');
    expect(last).not.toContain('pmf_cancel');

    const thread = h.fake.thread('CFLOW', parentTs!);
    const file = thread.find((m) => m.file);
    expect(file?.file?.filename).toBe(`pmf-${task.id}.md`);
    expect(file?.file?.content).toBe(task.report!.markdown);
    const summary = thread.find((m) => JSON.stringify(m.blocks).includes(`PMF ${task.report!.json.score.total}/100`));
    expect(summary).toBeDefined();
    expect(JSON.stringify(summary!.blocks)).toMatch(
      /Demand \d+ · Growth \d+ · Whitespace \d+ · Pain \d+ · Willingness to pay \d+/,
    );
    expect(JSON.stringify(summary!.blocks)).toContain('6 credits');
    expect(thread.indexOf(file!)).toBeLessThan(thread.indexOf(summary!));

    const parent = h.fake.message('CFLOW', parentTs!)!;
    expect(JSON.stringify(parent.edits.at(-1)!.blocks)).toContain(`✅ *PMF ${task.report!.json.score.total}/100*`);

    const hold = await h.ledger.getHold(task.id);
    expect(hold?.status).toBe('captured');
    expect((await h.ledger.balance(workspaceId)).balance).toBe(994);
    expect(h.fake.rateLimited['chat.update'] ?? 0).toBe(0);
    expect(task.delivery?.failedPermanently).toBeUndefined();
  });

  it('says why a research failed and that its credits came back', async () => {
    const { teamId, workspaceId } = await h.newTeam();
    h.sandbox!.injectFault('llm', { kind: 'malformed' }, 1000);
    try {
      const task = await run(teamId, 'CFAIL', IDEA);
      expect(task.status).toBe('failed');
      if (task.origin.platform !== 'slack') throw new Error('not slack');
      const status = h.fake.message('CFAIL', task.origin.statusTs!)!;
      const last = JSON.stringify(status.edits.at(-1)!.blocks);
      expect(last).toContain('❌');
      expect(last).toContain('12 credits returned');
      const parent = h.fake.message('CFAIL', task.origin.parentTs!)!;
      expect(JSON.stringify(parent.edits.at(-1)!.blocks)).toContain('failed · 12 credits returned');
      expect((await h.ledger.balance(workspaceId)).balance).toBe(1000);
      expect(h.fake.thread('CFAIL', task.origin.parentTs!).some((m) => m.file)).toBe(false);
    } finally {
      h.sandbox!.clearFaults();
    }
  });
});
