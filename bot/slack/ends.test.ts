// Every end of a research shows in its Slack thread, whichever process settled it (decision 055). The
// processes are arranged as in production: the app's work settles through a job layer with no Slack
// delivery (the bot's work thread), the console has one of its own, and only the worker posts.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { FakeEngine } from '../../test/helpers/jobs-fixtures.js';
import { SwitchableEngine } from '../../test/helpers/jobs-harness.js';
import { WebClient } from '@slack/web-api';
import { ResearchError } from '../../core/research/contract.js';
import type { Task } from '../../core/tasks/types.js';
import { startSlackHarness, type SlackHarness } from '../../test/fakes/slack/harness.js';
import { DEFAULT_TOKEN, type FakeMessage } from '../../test/fakes/slack/server.js';
import { parentMessage, statusMessage } from './render.js';

const IDEA = 'An app that matches dog owners with vetted sitters in their neighbourhood';
/** Runs until cancelled: the research stays `running` while a test cancels it. */
const SLOW = 'A slow research that only a cancel ends';
const FAILING = 'A research whose provider refuses it for good';
/** Long enough for a test to break the channel after the command was acknowledged. */
const UNHURRIED = 'A research that takes a second or two';

let h: SlackHarness;
const engine = new SwitchableEngine(new FakeEngine({ stepMs: 5 }));
engine.forIdea(SLOW, new FakeEngine({ stepMs: 60_000 }));
engine.forIdea(
  FAILING,
  new FakeEngine({ failures: [new ResearchError('The search provider refused the key.', 'x', false)] }),
);

beforeAll(async () => {
  // One research slot: a second research stays queued behind a slow one.
  h = await startSlackHarness({ label: 'slack_ends', engine, split: true, workerConcurrency: 1 });
});
afterAll(async () => {
  await h.close();
});

/** The response_url id of the command that started each task. */
const responseIds = new Map<string, string>();

async function start(teamId: string, channelId: string, idea: string, userId = 'U0MARIA'): Promise<Task> {
  const res = await h.command({ teamId, channelId, userId, text: `essential ${idea}` });
  const [reply] = await h.waitFor('ack', () =>
    h.responsesFor(res.responseId).length ? h.responsesFor(res.responseId) : undefined,
  );
  const id = /`(R-[A-Z0-9]+)`/.exec(reply!)?.[1];
  if (!id) throw new Error(`no task in ${reply}`);
  responseIds.set(id, res.responseId);
  return (await h.jobs.tasks.get(id))!;
}

function refs(task: Task) {
  if (task.origin.platform !== 'slack') throw new Error('not slack');
  return { channel: task.origin.channelId, parentTs: task.origin.parentTs!, statusTs: task.origin.statusTs! };
}

const last = (m: FakeMessage) => JSON.stringify(m.edits.at(-1)?.blocks ?? m.blocks);

/** Waits until the thread shows the end, then checks it was edited once, with no Cancel button left. */
async function endShown(task: Task, marker: string): Promise<{ parent: FakeMessage; status: FakeMessage }> {
  const { channel, parentTs, statusTs } = refs(task);
  const status = await h.waitFor(
    `the status of ${task.id} to show "${marker}"`,
    () => {
      const m = h.fake.message(channel, statusTs);
      return m && last(m).includes(marker) ? m : undefined;
    },
    20_000,
  );
  const parent = await h.waitFor('the parent edited', () => {
    const m = h.fake.message(channel, parentTs);
    return m && !last(m).includes('running…') ? m : undefined;
  });
  expect(last(status)).not.toContain('pmf_cancel');
  expect(status.edits.filter((e) => JSON.stringify(e.blocks).includes(marker))).toHaveLength(1);
  return { parent, status };
}

async function running(task: Task) {
  await h.waitFor('the research to start', async () => (await h.jobs.tasks.get(task.id))?.status === 'running');
}

describe('every end is posted in the thread, whoever settles it', () => {
  it('the Cancel button on a running research (settled by the bot, posted by the worker)', async () => {
    const { teamId, workspaceId } = await h.newTeam();
    const task = await start(teamId, 'CENDS1', SLOW);
    await running(task);
    const { parentTs, statusTs } = refs(task);
    await h.pressCancel({ teamId, userId: 'U0MARIA', taskId: task.id, messageTs: statusTs, threadTs: parentTs });
    const { parent, status } = await endShown(task, '⏹ cancelled by <@U0MARIA>');
    expect(last(status)).toContain('6 credits returned');
    expect(last(parent)).toContain('cancelled · 6 credits returned');
    expect((await h.ledger.getHold(task.id))?.status).toBe('released');
    expect((await h.ledger.balance(workspaceId)).balance).toBe(1000);
  });

  it('/pmf cancel on a research still queued behind another', async () => {
    const { teamId } = await h.newTeam();
    const blocker = await start(teamId, 'CENDS2', SLOW);
    await running(blocker);
    const task = await start(teamId, 'CENDS2', `${IDEA} (queued)`);
    expect((await h.jobs.tasks.get(task.id))?.status).toBe('queued');
    const res = await h.command({ teamId, channelId: 'CENDS2', userId: 'U0MARIA', text: `cancel ${task.id}` });
    await h.waitFor('told', () => h.responsesFor(res.responseId).length > 0);
    // The end does not wait for the research slot the blocker holds.
    const { parent } = await endShown(task, '⏹ cancelled');
    expect(last(parent)).toContain('cancelled · 6 credits returned');
    expect((await h.ledger.getHold(task.id))?.status).toBe('released');
    await h.front.cancelResearch(blocker.id, { id: 'U0MARIA', isAdmin: false });
    await endShown(blocker, '⏹ cancelled');
  });

  it("the console's cancel (its own process, no Slack client)", async () => {
    const { teamId } = await h.newTeam();
    const task = await start(teamId, 'CENDS3', SLOW);
    await running(task);
    const console = h.another();
    await console.cancelResearch(task.id, { id: 'console:ops@example.com', isAdmin: true });
    const { status } = await endShown(task, '⏹ cancelled');
    expect(last(status)).toContain('6 credits returned');
    expect((await h.ledger.getHold(task.id))?.status).toBe('released');
    await console.stop();
  });

  it('a failure, with why and the credits returned', async () => {
    const { teamId } = await h.newTeam();
    const task = await start(teamId, 'CENDS4', FAILING);
    const { parent, status } = await endShown(task, '❌');
    expect(last(status)).toContain('The search provider refused the key.');
    expect(last(parent)).toContain('failed · 6 credits returned');
    expect((await h.ledger.getHold(task.id))?.status).toBe('released');
  });

  it('an orphan sweep (a task a crash left without a job), swept by a process with no Slack client', async () => {
    const { teamId, workspaceId } = await h.newTeam();
    const channel = 'CENDS5';
    // What submitResearch does up to the job's save, and then the process died.
    const { task: made } = await h.jobs.tasks.create({
      requestKey: `orphan:${randomUUID()}`,
      workspaceId,
      requester: { id: 'U0MARIA', name: 'maria' },
      origin: { platform: 'slack', teamId, channelId: channel, userId: 'U0MARIA' },
      idea: IDEA,
      depth: 'essential',
      cost: 6,
    });
    await h.ledger.reserve({ workspaceId, cost: 6, taskId: made.id, actor: 'U0MARIA' });
    const reserved = (await h.jobs.tasks.addCheckpoint(made.id, 'credits_reserved'))!;
    const slack = new WebClient(DEFAULT_TOKEN, { slackApiUrl: h.fake.apiUrl });
    const parent = await slack.chat.postMessage({ channel, ...parentMessage(reserved) });
    const status = await slack.chat.postMessage({
      channel,
      thread_ts: parent.ts!,
      ...statusMessage(reserved, new Date()),
    });
    const task = (await h.jobs.tasks.setOriginRefs(made.id, { parentTs: parent.ts!, statusTs: status.ts! }))!;

    const sweeper = h.anotherWorker({ orphanAfterMs: 0 });
    expect(await sweeper.sweepOrphans()).toBeGreaterThanOrEqual(1);
    const shown = await endShown(task, '❌');
    expect(last(shown.status)).toContain('interrupted before it could be queued');
    expect(last(shown.parent)).toContain('failed · 6 credits returned');
    expect((await h.ledger.getHold(task.id))?.status).toBe('released');
    await sweeper.stop();
  });
});

describe('the report is never lost, and is paid for only when it arrived', () => {
  async function finished(task: Task) {
    return h.waitFor(
      'delivered',
      async () => {
        const doc = await h.jobs.tasks.getDoc(task.id);
        return doc?.deliveredAt && (doc.credits?.captured || doc.credits?.released) ? doc : undefined;
      },
      20_000,
    );
  }

  it('a public channel the bot never joined and may not join: the report as messages, a notice, credits captured', async () => {
    const { teamId } = await h.newTeam();
    h.fake.setChannel('CNOTIN', { member: false });
    h.fake.setScopes(DEFAULT_TOKEN, ['commands', 'chat:write', 'chat:write.public', 'files:write', 'users:read']);
    try {
      const task = await start(teamId, 'CNOTIN', `${IDEA} ${randomUUID()}`);
      const doc = await finished(task);
      expect(doc.delivery?.failedPermanently).toBeUndefined();
      const { parentTs, statusTs } = refs(task);
      const thread = h.fake.thread('CNOTIN', parentTs);
      expect(thread.some((m) => m.text.startsWith(`PMF report ${task.id}`))).toBe(true);
      expect(thread.find((m) => m.text.includes("couldn't attach the report file"))?.text).toContain('/invite');
      expect(last(h.fake.message('CNOTIN', statusTs)!)).toContain('✅ done');
      expect((await h.ledger.getHold(task.id))?.status).toBe('captured');
      expect((await h.jobs.tasks.get(task.id))?.checkpoints.map((c) => c.id)).toContain('delivered');
    } finally {
      h.fake.setScopes(DEFAULT_TOKEN, undefined);
    }
  });

  it('a channel and a DM that both refuse: nothing charged, the task says why, and the command is answered', async () => {
    const { teamId } = await h.newTeam();
    const task = await start(teamId, 'CREVOKED', UNHURRIED, 'U0REVOKED');
    h.fake.setChannelError('CREVOKED', 'token_revoked');
    h.fake.setChannelError('U0REVOKED', 'token_revoked');
    const doc = await finished(task);
    expect(doc.delivery?.failedPermanently).toContain('token_revoked');
    expect((await h.ledger.getHold(task.id))?.status).toBe('released');
    // The command's response_url still works (decision 059): the requester hears it there, once.
    const answers = h.responsesFor(responseIds.get(task.id)!);
    expect(answers.slice(1)).toEqual([
      expect.stringContaining(`Your research \`${task.id}\` finished, but I couldn't deliver its report`),
    ]);
    expect(answers[1]).toContain('Your 6 credits were returned; nothing was charged.');
    expect(answers[1]).toContain('reinstall the app');
  });
});
