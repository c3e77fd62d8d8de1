// Slack calls on the command path have a budget of their own (decision 057): a workspace whose Slack answers
// 500 hears so within seconds through the command's response_url, is charged nothing, and does not hold up
// another workspace's command. Through the real Bolt app and @slack/web-api against the fake Slack.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startSlackHarness, type SlackHarness } from '../../test/fakes/slack/harness.js';
import { DEFAULT_TOKEN } from '../../test/fakes/slack/server.js';
import { SLACK_RESEARCH_PER_WORKSPACE, SLACK_WORK_AT_ONCE } from './work.js';

let h: SlackHarness;

beforeAll(async () => {
  h = await startSlackHarness({ label: 'slack_budget' });
});
afterAll(async () => {
  h.fake.clearFailures();
  await h.close();
});

const IDEA = 'An app that matches dog owners with vetted sitters in their neighbourhood';

describe('bounded, isolated Slack calls', () => {
  it('a workspace whose chat.postMessage answers 500 is told within seconds, charged nothing, and blocks nobody', async () => {
    const sick = await h.newTeam();
    const healthy = await h.newTeam();
    // Slow and then failing: each of the three tries takes over a second.
    h.fake.failNext('chat.postMessage', { status: 500, delayMs: 1200 }, Infinity, 'CSICK');
    const started = Date.now();
    // One more than the whole research line: without a per-workspace cap they would take every slot.
    const sickCount = SLACK_WORK_AT_ONCE + 1;
    const sickCommands = await Promise.all(
      Array.from({ length: sickCount }, (_, i) => i + 1).map((n) =>
        h.command({ teamId: sick.teamId, channelId: 'CSICK', userId: `U0SICK${n}`, text: `${IDEA} ${n}` }),
      ),
    );
    const ok = await h.command({ teamId: healthy.teamId, channelId: 'CWELL', userId: 'U0WELL', text: IDEA });
    // The healthy workspace's research is under way while the sick one's calls are still failing.
    const [reply] = await h.waitFor(
      'the healthy ack',
      () => (h.responsesFor(ok.responseId).length ? h.responsesFor(ok.responseId) : undefined),
      10_000,
    );
    expect(reply).toContain('On it');
    // At most SLACK_RESEARCH_PER_WORKSPACE of the sick workspace's commands hold slots of the line, so this one
    // never queued behind them (with no cap it waits for the first ones to spend their tries: over 4 s here).
    expect(Date.now() - started).toBeLessThan(5000);

    for (const c of sickCommands) {
      const [told] = await h.waitFor(
        'the sick workspace told',
        () => (h.responsesFor(c.responseId).length ? h.responsesFor(c.responseId) : undefined),
        25_000,
      );
      expect(told).toContain("Slack isn't answering PMF Scout right now");
      expect(told).toContain('Nothing was charged');
    }
    expect(Date.now() - started).toBeLessThan(25_000);
    // Three tries each (the first and two retries), not the SDK's ten over half an hour.
    const sickPosts = h.fake.callsOf('chat.postMessage').filter((c) => c.args.channel === 'CSICK');
    expect(sickPosts.length).toBe(3 * sickCount);
    expect(SLACK_RESEARCH_PER_WORKSPACE).toBeLessThan(SLACK_WORK_AT_ONCE);
    expect((await h.ledger.balance(sick.workspaceId)).balance).toBe(1000);
    const tasks = await h.jobs.tasks.listByWorkspace(sick.workspaceId, 10);
    expect(tasks.every((t) => t.status === 'failed' && t.refunded === 12)).toBe(true);
  }, 40_000);

  it.each([
    ['invalid_auth', /reinstall the app/],
    ['token_revoked', /reinstall the app/],
    ['account_inactive', /reinstall the app/],
    ['missing_scope', /missing the Slack permission `chat:write`/],
    ['channel_not_found', /Invite me with `\/invite @PMF Scout`/],
    ['is_archived', /This channel is archived/],
    ['restricted_action', /ask a workspace admin to let PMF Scout post/],
    ['not_in_channel', /Invite me with `\/invite @PMF Scout`/],
  ])('%s on the first post says what to do, and charges nothing', async (code, expected) => {
    const team = await h.newTeam();
    const channel = `CERR${code.toUpperCase().replace(/_/g, '')}`;
    // A scope the installation lacks is the fake's own answer, with the `needed` scope Slack names.
    if (code === 'missing_scope') h.fake.setScopes(DEFAULT_TOKEN, ['commands', 'users:read']);
    else h.fake.failNext('chat.postMessage', code, Infinity, channel);
    let told: string;
    try {
      const c = await h.command({ teamId: team.teamId, channelId: channel, userId: 'U0MARIA', text: IDEA });
      [told] = (await h.waitFor('told', () =>
        h.responsesFor(c.responseId).length ? h.responsesFor(c.responseId) : undefined,
      )) as [string];
    } finally {
      h.fake.setScopes(DEFAULT_TOKEN, undefined);
    }
    expect(told).toMatch(expected);
    expect(told).toContain('Nothing was charged');
    expect((await h.ledger.balance(team.workspaceId)).balance).toBe(1000);
  });
});
