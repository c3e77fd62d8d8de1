// A shutdown with commands acknowledged but not yet worked through: the bot process closes its line of work
// and drains it (bot/main.ts) before closing its connections. Real Bolt app, fake Slack, real storage.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startSlackHarness, type SlackHarness } from '../../test/fakes/slack/harness.js';
import { Limiter, RESTARTING_TEXT } from '../limiter.js';

let h: SlackHarness;
// One command at a time, so several are still waiting in line when the shutdown starts.
const work = new Limiter(1);

beforeAll(async () => {
  h = await startSlackHarness({
    label: 'slack_shutdown',
    env: { RATE_LIMIT_USER_PER_HOUR: 1000, RATE_LIMIT_WORKSPACE_PER_HOUR: 1000 },
    work,
  });
});
afterAll(async () => {
  await h.close();
});

const IDEA = 'A marketplace that rents camping gear between neighbours';

describe('a backlog of research commands', () => {
  it('does not hold up the answers to other commands', async () => {
    const { teamId } = await h.newTeam();
    let release = () => {};
    const holder = work.run(() => new Promise<void>((resolve) => (release = resolve)));
    const research = await h.command({ teamId, channelId: 'C0LINE', userId: 'U0LINE', text: `essential ${IDEA}` });
    const balance = await h.command({ teamId, channelId: 'C0LINE', userId: 'U0LINE', text: 'balance' });

    const [answer] = await h.waitFor('the balance answer', () =>
      h.responsesFor(balance.responseId).length ? h.responsesFor(balance.responseId) : undefined,
    );
    expect(answer).toMatch(/credit/i);
    expect(work.size).toBe(2);
    expect(h.responsesFor(research.responseId)).toEqual([]);

    release();
    await holder;
    const [started] = await h.waitFor('the research answer', () =>
      h.responsesFor(research.responseId).length ? h.responsesFor(research.responseId) : undefined,
    );
    expect(started).toMatch(/R-[A-Z0-9]+/);
  }, 30_000);
});

describe('shutdown with acknowledged commands in line', () => {
  it('finishes every command already acknowledged, and tells later ones to retry without charging them', async () => {
    const { teamId, workspaceId } = await h.newTeam();
    const sent = await Promise.all(
      Array.from({ length: 6 }, (_, n) =>
        h.command({ teamId, channelId: 'C0DRAIN', userId: `U0DRAIN${n}`, text: `essential ${IDEA} #${n}` }),
      ),
    );
    expect(sent.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    const answeredAtClose = sent.filter((r) => h.responsesFor(r.responseId).length > 0).length;

    work.close();
    const late = await h.command({ teamId, channelId: 'C0DRAIN', userId: 'U0LATE', text: `essential ${IDEA}` });
    expect(late.status).toBe(200);
    await expect(work.drained(30_000)).resolves.toBe(true);

    expect(answeredAtClose).toBeLessThan(6);
    const taskIds = sent.map((r) => {
      const [reply] = h.responsesFor(r.responseId);
      const id = /`(R-[A-Z0-9]+)`/.exec(reply ?? '')?.[1];
      if (!id) throw new Error(`no research started for an acknowledged command: ${reply}`);
      return id;
    });
    for (const id of taskIds) expect((await h.jobs.tasks.get(id))?.status).toBe('queued');
    expect((await h.ledger.balance(workspaceId)).used).toBe(6 * 6);

    const [lateReply] = await h.waitFor('the late command is told to retry', () =>
      h.responsesFor(late.responseId).length ? h.responsesFor(late.responseId) : undefined,
    );
    expect(lateReply).toBe(RESTARTING_TEXT);
  }, 60_000);
});
