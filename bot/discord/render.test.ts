import { describe, expect, it } from '@jest/globals';
import { CHECKPOINTS, type CheckpointId } from '../../core/research/checkpoints.js';
import type { ResearchResult } from '../../core/research/contract.js';
import type { Task } from '../../core/tasks/types.js';
import {
  MAX_CONTENT,
  MAX_EMBED_DESCRIPTION,
  cancelCustomId,
  failureMessage,
  fit,
  inert,
  listText,
  parseCancelId,
  requestMessage,
  statusMessage,
  summaryMessage,
} from './render.js';

const USER = '123456789012345678';
const t0 = new Date('2026-01-01T00:00:00Z');

function task(over: Partial<Task> = {}, done: CheckpointId[] = ['received', 'credits_reserved', 'queued']): Task {
  return {
    id: 'R-7KQ2',
    workspaceId: 'ws',
    requester: { id: USER, name: 'maria' },
    origin: { platform: 'discord', guildId: '1', channelId: '2', userId: USER },
    idea: 'An app that matches dog owners with vetted sitters',
    depth: 'standard',
    cost: 12,
    status: 'running',
    checkpoints: done.map((id, i) => ({ id, at: new Date(t0.getTime() + i * 1000) })),
    createdAt: t0,
    startedAt: t0,
    ...over,
  };
}

function result(over: { citations?: number; findingText?: string } = {}): ResearchResult {
  const n = over.citations ?? 14;
  return {
    markdown: '# Report',
    usage: {
      tavilyCalls: 6,
      tavilyCredits: 12,
      cacheHits: 0,
      promptTokens: 1,
      completionTokens: 1,
      durationMs: 112_000,
      sourcesUsed: n,
      citationsRemoved: 0,
      figuresFlagged: 0,
      perNode: {},
    },
    report: {
      title: 'Dog sitters',
      idea: 'dog sitters',
      depth: 'standard',
      sandbox: true,
      summary: 'ok',
      keyFindings: [1, 2, 3, 4].map((i) => ({
        text: over.findingText ?? `Finding number ${i} @everyone`,
        citations: [i],
      })),
      score: {
        total: 68,
        band: 'strong',
        confidence: 'medium',
        subScores: [
          { key: 'demand', label: 'Demand', score: 15, rationale: '' },
          { key: 'growth', label: 'Growth', score: 13, rationale: '' },
          { key: 'whitespace', label: 'Whitespace', score: 11, rationale: '' },
          { key: 'pain', label: 'Pain', score: 16, rationale: '' },
          { key: 'willingness_to_pay', label: 'Willingness to pay', score: 13, rationale: '' },
        ],
      },
      missingSections: [],
      citations: Array.from({ length: n }, (_, i) => ({
        n: i + 1,
        url: `https://example.com/article-${i + 1}-${'x'.repeat(60)}`,
        title: `Source ${i + 1} about the [market] <@${USER}>`,
        domain: 'example.com',
      })),
    },
  };
}

describe('fit', () => {
  it('leaves short text alone', () => {
    expect(fit('hello world', 20)).toBe('hello world');
  });

  it('never exceeds the limit and never cuts a word', () => {
    const text = 'alpha beta gamma delta epsilon zeta eta theta';
    for (let max = 6; max < text.length; max++) {
      const out = fit(text, max);
      expect(out.length).toBeLessThanOrEqual(max);
      expect(out.endsWith('…')).toBe(true);
      for (const word of out.slice(0, -1).split(' ')) expect(text.split(' ')).toContain(word);
    }
  });

  it('never cuts a citation in half', () => {
    const text = 'Demand is high [12] and growing [3, 4] across [15][16] markets';
    for (let max = 10; max < text.length; max++) {
      const out = fit(text, max);
      expect(out.length).toBeLessThanOrEqual(max);
      const opens = (out.match(/\[/g) ?? []).length;
      const closes = (out.match(/\]/g) ?? []).length;
      expect(opens).toBe(closes);
    }
  });

  it('cuts a single over-long word between code points', () => {
    const out = fit('😀'.repeat(50), 21);
    expect(out.length).toBeLessThanOrEqual(21);
    expect(/[\uD800-\uDBFF]…$/.test(out)).toBe(false);
  });
});

describe('inert', () => {
  it('breaks mass mentions and user/role/channel mentions', () => {
    const out = inert(`hi @everyone and @here, <@${USER}> <@!${USER}> <@&987654321098765432> <#111111111111111111>`);
    expect(out).not.toMatch(/@everyone|@here/);
    expect(out).not.toMatch(/<@!?\d+>|<@&\d+>|<#\d+>/);
  });
});

describe('messages', () => {
  it('every body refuses to ping', () => {
    const bodies = [
      requestMessage(task(), { threaded: true }),
      statusMessage(task(), t0),
      summaryMessage(task(), result()),
      failureMessage(task({ status: 'failed', refunded: 12 })),
    ];
    for (const b of bodies) expect(b.allowed_mentions).toEqual({ parse: [] });
  });

  it('the request message shows idea, depth, cost, requester and id, and the final score once done', () => {
    const running = requestMessage(task({ idea: 'Dogs @everyone' }), { threaded: true });
    expect(running.content).toContain('Standard');
    expect(running.content).toContain('12 credits');
    expect(running.content).toContain(`<@${USER}>`);
    expect(running.content).toContain('R-7KQ2');
    expect(running.embeds[0]?.description).toBe('> Dogs @\u200beveryone');
    const done = requestMessage(
      { ...task({ status: 'succeeded' }), score: { total: 68, band: 'strong' } },
      { threaded: true },
    );
    expect(done.embeds[0]?.fields?.[0]?.value).toContain('PMF 68/100');
  });

  it('a 2,000-character idea still fits the embed and content limits', () => {
    const idea = Array.from({ length: 400 }, (_, i) => `word${i}`)
      .join(' ')
      .slice(0, 2000);
    const m = requestMessage(task({ idea }), { threaded: true });
    expect(m.embeds[0]!.description!.length).toBeLessThanOrEqual(MAX_EMBED_DESCRIPTION);
    expect(m.content.length).toBeLessThanOrEqual(MAX_CONTENT);
  });

  it('the status message has a progress bar, agents on their own rows, elapsed time and Cancel while running', () => {
    const done: CheckpointId[] = [
      'received',
      'credits_reserved',
      'queued',
      'started',
      'plan',
      'queries',
      'market_search',
      'market_extract',
      'competitor_search',
    ];
    const m = statusMessage(task({}, done), new Date(t0.getTime() + 48_000));
    const text = m.embeds[0]!.description!;
    expect(text).toContain('▰▰▰▰▰▰▰▰▰▱▱▱▱▱▱▱▱  9/17 · 0:48');
    expect(text).toContain('**Market** ✓ search ✓ extract ◌ analysis');
    expect(text).toContain('**Competitors** ✓ search ◌ extract · analysis');
    expect(text).toContain('**Customers** ◌ search · extract · analysis');
    expect(m.components[0]?.components[0]).toMatchObject({ label: 'Cancel', custom_id: cancelCustomId('R-7KQ2') });
    expect(parseCancelId(cancelCustomId('R-7KQ2'))).toBe('R-7KQ2');
  });

  it('the final status has no Cancel button and shows all checkpoints', () => {
    const m = statusMessage(
      task({ status: 'succeeded', finishedAt: new Date(t0.getTime() + 112_000) }, [...CHECKPOINTS]),
      new Date(t0.getTime() + 999_000),
    );
    expect(m.components).toEqual([]);
    expect(m.embeds[0]!.description).toContain('17/17 · 1:52');
  });

  it('the summary has the score, five sub-scores, three findings, sources and credits, within 4,096', () => {
    const m = summaryMessage(task(), result({ citations: 200 }));
    const e = m.embeds[0]!;
    expect(e.title).toBe('PMF 68/100 — strong (confidence: medium)');
    expect(e.description).toContain('Demand 15 · Growth 13 · Whitespace 11 · Pain 16 · Willingness to pay 13');
    expect(e.description!.match(/^• /gm)).toHaveLength(3);
    expect(e.description).toContain('[1] [Source 1 about the market');
    expect(e.description).toMatch(/…and \d+ more in the report$/);
    expect(e.description!.length).toBeLessThanOrEqual(MAX_EMBED_DESCRIPTION);
    expect(e.description).not.toMatch(/<@\d+>|@everyone/);
    expect(e.footer?.text).toBe('200 sources · 12 credits · 1:52');
    expect(m.content).toContain('pmf-R-7KQ2.md');
  });

  it('a very long finding is shortened at a word, keeping its citation whole', () => {
    const m = summaryMessage(task(), result({ findingText: 'growth '.repeat(300) }));
    const first = m.embeds[0]!.description!.split('\n').find((l) => l.startsWith('• '))!;
    expect(first).toMatch(/growth… \[1\]$/);
  });

  it('failure and cancel say why and what came back', () => {
    const failed = failureMessage(
      task({ status: 'failed', refunded: 12, error: { userMessage: 'The web search kept timing out.', detail: 'x' } }),
    );
    expect(failed.content).toContain('The web search kept timing out.');
    expect(failed.content).toContain('12 credits returned');
    const cancelled = failureMessage(
      task({ status: 'cancelled', refunded: 12, cancelRequested: { by: USER, at: t0 } }),
    );
    expect(cancelled.content).toContain('cancelled');
    expect(cancelled.content).toContain('12 credits returned');
  });

  it('a failure only an admin can fix does not ask the requester to try again', () => {
    const transient = failureMessage(
      task({ status: 'failed', refunded: 12, error: { userMessage: 'Busy.', detail: 'x' } }),
    );
    expect(transient.content).toContain('Try again');
    const admin = failureMessage(
      task({
        status: 'failed',
        refunded: 12,
        error: {
          userMessage: "The research could not be run: the bot's setup needs an admin.",
          detail: 'x',
          failure: { provider: 'tavily', kind: 'bad_credentials', setting: 'TAVILY_API_KEY' },
        },
      }),
    );
    expect(admin.content).toContain('needs an admin');
    expect(admin.content).toContain('12 credits returned');
    expect(admin.content).not.toContain('Try again');
  });

  it('lists fit in 2,000 characters', () => {
    const tasks = Array.from({ length: 40 }, (_, i) => task({ id: `R-${i}`, idea: 'x '.repeat(500) }));
    expect(listText(tasks).length).toBeLessThanOrEqual(MAX_CONTENT);
  });
});
