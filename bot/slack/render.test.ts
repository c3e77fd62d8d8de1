import { describe, expect, it } from '@jest/globals';
import { makeResult, makeTask } from '../../test/fakes/slack/fixtures.js';
import { CHECKPOINTS } from '../../core/research/checkpoints.js';
import {
  ackText,
  balanceText,
  checkpointLines,
  clip,
  esc,
  insufficientText,
  listText,
  parentMessage,
  rateLimitedText,
  sourceLink,
  statusMessage,
  statusText,
  summaryMessage,
  type Block,
  type SlackMessage,
} from './render.js';

/** Every text a message would show, for assertions and limit checks. */
function texts(m: SlackMessage): string[] {
  const out: string[] = [m.text];
  const walk = (b: unknown): void => {
    if (Array.isArray(b)) b.forEach(walk);
    else if (b && typeof b === 'object') {
      for (const [k, v] of Object.entries(b)) {
        if (k === 'text' && typeof v === 'string') out.push(v);
        else walk(v);
      }
    }
  };
  walk(m.blocks);
  return out;
}

function expectWithinLimits(m: SlackMessage) {
  expect(m.blocks.length).toBeLessThanOrEqual(50);
  for (const b of m.blocks as Block[]) {
    if (b.type === 'section' && b.text) expect(b.text.text.length).toBeLessThanOrEqual(3000);
  }
}

const hostile = 'Ping <!channel> <!here> <@U999> & @channel @here <https://evil.example|click>';

describe('esc', () => {
  it.each([
    ['a & b', 'a &amp; b'],
    ['<!channel>', '&lt;!channel&gt;'],
    ['<@U123>', '&lt;@U123&gt;'],
    ['@here now', '@\u2060here now'],
    ['@Channel', '@\u2060Channel'],
    ['mail@channels.com', 'mail@channels.com'],
  ])('%j -> %j', (input, output) => {
    expect(esc(input)).toBe(output);
  });

  it('clips without splitting an escape', () => {
    expect(clip('ab&amp;', 4)).toBe('ab…');
    expect(clip('abc', 3)).toBe('abc');
  });

  it('links only http(s) sources and keeps them from breaking the link syntax', () => {
    expect(sourceLink('javascript:alert(1)', '[1]')).toBe('[1]');
    expect(sourceLink('https://x.test/a?b=1&c=<d>|e', '[2]')).toBe('<https://x.test/a?b=1&amp;c=%3Cd%3E%7Ce|[2]>');
  });
});

describe('progress', () => {
  it('groups checkpoints by agent and marks what is in progress', () => {
    const done = new Set(CHECKPOINTS.slice(0, 7)); // up to market_search
    const lines = checkpointLines(done, true);
    expect(lines[0]).toBe('✓ received  ✓ credits  ✓ queued  ✓ started  ✓ plan  ✓ queries');
    expect(lines[1]).toBe('Market       ✓ search  ◌ extract  · analysis');
    expect(lines[2]).toBe('Competitors  ◌ search  · extract  · analysis');
    expect(lines[3]).toBe('Customers    ◌ search  · extract  · analysis');
    expect(lines[4]).toBe('· report  · delivered');
  });

  it('shows nothing in progress once stopped', () => {
    expect(checkpointLines(new Set(['received']), false).join('\n')).not.toContain('◌');
  });
});

describe('status message', () => {
  it('shows the bar, the count, elapsed time and a Cancel button while running', () => {
    const m = statusMessage(makeTask({}, 7), new Date('2026-01-01T10:00:48Z'));
    const all = texts(m).join('\n');
    expect(all).toContain('▰▰▰▰▰▰▰▱▱▱▱▱▱▱▱▱▱');
    expect(all).toContain('*7/17* · 0:48');
    expect(JSON.stringify(m.blocks)).toContain('"action_id":"pmf_cancel"');
    expect(JSON.stringify(m.blocks)).toContain('"value":"R-7KQ2"');
    expectWithinLimits(m);
  });

  it('drops the button and says why it stopped', () => {
    const failed = statusMessage(
      makeTask({
        status: 'failed',
        error: { userMessage: 'Search <@U1> failed', detail: 'x' },
        refunded: 12,
        finishedAt: new Date('2026-01-01T10:01:00Z'),
      }),
      new Date(),
    );
    expect(JSON.stringify(failed.blocks)).not.toContain('pmf_cancel');
    expect(texts(failed).join('\n')).toContain('❌ Search &lt;@U1&gt; failed · 12 credits returned');
    const cancelled = statusMessage(
      makeTask({ status: 'cancelled', cancelRequested: { by: 'U0BOSS', at: new Date() }, refunded: 12 }),
      new Date(),
    );
    expect(texts(cancelled).join('\n')).toContain('⏹ cancelled by <@U0BOSS> · 12 credits returned');
  });
});

describe('parent and summary', () => {
  it('escapes the idea in the parent and shows the final score when done', () => {
    const running = parentMessage(makeTask({ idea: hostile }));
    const all = texts(running).join('\n');
    expect(all).not.toMatch(/<!channel>|<!here>|<@U999>|<https/);
    expect(all).toContain('requested by <@U0MARIA>');
    expect(all).toContain('⏳ running…');
    const done = parentMessage({ ...makeTask({ status: 'succeeded' }), score: { total: 68, band: 'strong' } });
    expect(texts(done).join('\n')).toContain('✅ *PMF 68/100* (strong) · report in thread');
  });

  it('sums up score, five sub-scores, three findings with links, sources and credits', () => {
    const m = summaryMessage(makeTask({ status: 'succeeded' }), makeResult());
    const all = texts(m).join('\n');
    expect(all).toContain('*PMF 68/100* — strong (confidence: medium)');
    expect(all).toContain('Demand 15 · Growth 13 · Whitespace 11 · Pain 16 · Willingness to pay 13');
    expect(all).toContain('• Pet care spend grows 8% a year <https://example.com/a|[1]>');
    expect(all).toContain('Rover dominates &lt;!channel&gt; cities <https://example.com/b?x=1&amp;y=%3C2%3E%7Cz|[2]>');
    expect(all).not.toContain('fourth finding');
    expect(all).toContain('14 sources · 12 credits · 1:52');
    expect(all).toContain('Sandbox run');
    expectWithinLimits(m);
  });

  it('keeps huge untrusted text inside the section limit', () => {
    const big = makeResult({ keyFindings: [{ text: '<'.repeat(5000), citations: [] }] });
    expectWithinLimits(summaryMessage(makeTask(), big));
    expectWithinLimits(parentMessage(makeTask({ idea: '&'.repeat(2000) })));
  });
});

describe('ephemeral texts', () => {
  it('ack says what runs, its cost and the balance after', () => {
    expect(ackText({ taskId: 'R-1', idea: 'dogs <!here>', depth: 'deep', cost: 18, balanceAfter: 982 })).toMatch(
      /\*Deep\* research \(`R-1`\) for 18 credits\. You have 982 credits left[\s\S]*dogs &lt;!here&gt;/,
    );
  });

  it('insufficient credits say what is left and what fits', () => {
    const t = insufficientText(
      { balance: 10, cost: 12, remaining: { essential: 1, standard: 0, deep: 0 } },
      'standard',
    );
    expect(t).toContain('costs 12 credits, and this workspace has 10 credits left');
    expect(t).toContain('What fits: `essential` (6)');
    expect(t).toContain('Nothing was charged');
  });

  it('balance and rate limit', () => {
    expect(
      balanceText({
        month: '2026-01',
        balance: 100,
        allowance: 1000,
        used: 900,
        remaining: { essential: 16, standard: 8, deep: 5 },
      }),
    ).toContain('16 essential · 8 standard · 5 deep');
    expect(rateLimitedText({ scope: 'user', limit: 20, retryAfterSeconds: 600 })).toContain(
      'You have started 20 researches in the last hour, the limit. Try again in 10 minutes.',
    );
  });

  it('lists tasks with ids, status and scores, escaped', () => {
    const t = makeTask({
      status: 'succeeded',
      idea: '<!channel>',
      report: { markdown: '', json: makeResult().report },
    });
    const text = listText([t, makeTask({ id: 'R-2' }, 5)]);
    expect(text).toContain('✅ `R-7KQ2` succeeded · PMF 68/100');
    expect(text).toContain('⏳ `R-2` running · 5/17');
    expect(text).not.toContain('<!channel>');
  });

  it('says a finished research whose report reached nobody was not charged', () => {
    const t = makeTask({
      status: 'succeeded',
      delivery: { failedPermanently: 'slack chat.postMessage: token_revoked' },
    });
    expect(statusText(t, new Date())).toContain('nothing was charged for it');
    expect(statusText({ ...t, delivery: undefined }, new Date())).not.toContain('nothing was charged');
  });
});
