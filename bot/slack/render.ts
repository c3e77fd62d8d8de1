// Everything the Slack app shows, as pure functions of the task: Block Kit for the thread, mrkdwn for the
// ephemeral replies. Untrusted text (the idea, anything from the web) only ever enters through `esc`. What a
// delivery says when the report cannot go as a file in the thread is in render-fallback.ts.
import type { types } from '@slack/bolt';
import { CHECKPOINTS, type CheckpointId } from '../../core/research/checkpoints.js';
import type { BalanceView } from '../../core/credits/index.js';
import type { ResearchResult } from '../../core/research/contract.js';
import { DEPTHS, DEPTH_PROFILES, type Depth } from '../../core/research/depth.js';
import type { Task } from '../../core/tasks/types.js';
import { cleanText } from '../../core/text/clean.js';
import type { CommandWords } from '../commands/flow.js';
import { EXAMPLE_IDEA } from '../commands/parse.js';
import { AGENT_ROW_NAMES, checkpointGridLines, formatDuration, progressBar } from '../progress-grid.js';

export type Block = types.KnownBlock;
export type SlackMessage = { text: string; blocks: Block[] };

export const CANCEL_ACTION_ID = 'pmf_cancel';
export const MAX_BLOCKS = 50;
export const MAX_SECTION_CHARS = 3000;

/**
 * Makes untrusted text inert in mrkdwn: control and bidi characters removed (cleanText), `&`, `<`, `>`
 * escaped (so no `<!channel>`, `<@U…>` or links), and
 * the bare words @channel/@here/@everyone broken with a zero-width joiner so no client ever pings on them.
 */
export function esc(text: string): string {
  return cleanText(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/@(channel|here|everyone)\b/gi, '@\u2060$1');
}

/** Cuts to `max` characters (by code point) with an ellipsis, never splitting an escape sequence. */
export function clip(text: string, max = MAX_SECTION_CHARS): string {
  const chars = [...text];
  if (chars.length <= max) return text;
  const cut = chars.slice(0, max - 1).join('');
  return `${cut.replace(/&[a-z]*$/, '')}…`;
}

/** A link to a retrieved source: only http(s), and the characters that end a Slack link percent-encoded. */
export function sourceLink(url: string, label: string): string {
  if (!/^https?:\/\//i.test(url)) return esc(label);
  const safe = url.replace(/[<>|\s]/g, (c) => encodeURIComponent(c)).replace(/&/g, '&amp;');
  return `<${safe}|${esc(label)}>`;
}

export const section = (text: string): Block => ({ type: 'section', text: { type: 'mrkdwn', text: clip(text) } });
const context = (text: string): Block => ({ type: 'context', elements: [{ type: 'mrkdwn', text: clip(text) }] });

export function quote(text: string, max = 600): string {
  return clip(esc(text), max)
    .split('\n')
    .map((line) => `> ${line}`)
    .join('\n');
}

/** A mention of a Slack user id from a verified payload; anything else is shown as inert text. */
export function mention(userId: string): string {
  return /^[UW][A-Z0-9]{2,}$/.test(userId) ? `<@${userId}>` : esc(userId);
}

const depthLabel = (d: Depth) => DEPTH_PROFILES[d].label;
const credits = (n: number) => `${n} credit${n === 1 ? '' : 's'}`;

// --- The parent message --------------------------------------------------------------------------------

export type ParentView = Pick<Task, 'id' | 'idea' | 'depth' | 'cost' | 'requester' | 'status' | 'refunded'> & {
  score?: { total: number; band: string };
};

export function parentMessage(t: ParentView): SlackMessage {
  const head = `🔎 *PMF research* · ${depthLabel(t.depth)} · ${credits(t.cost)} · requested by ${mention(t.requester.id)} · \`${t.id}\``;
  const state =
    t.status === 'succeeded' && t.score
      ? `✅ *PMF ${t.score.total}/100* (${t.score.band}) · report in thread`
      : t.status === 'succeeded'
        ? '✅ done · report in thread'
        : t.status === 'failed'
          ? `❌ failed · ${credits(t.refunded ?? 0)} returned · details in thread`
          : t.status === 'cancelled'
            ? `⏹ cancelled · ${credits(t.refunded ?? 0)} returned`
            : '⏳ running…';
  return {
    text: `PMF research ${t.id}: ${state.replace(/[*_`]/g, '')}`,
    blocks: [section(`${head}\n${quote(t.idea)}`), context(state)],
  };
}

// --- The status reply ----------------------------------------------------------------------------------

const ROW_NAME_WIDTH = Math.max(...Object.values(AGENT_ROW_NAMES).map((name) => name.length));

/** The grid in a code block: row names padded so the agents' steps line up. */
export function checkpointLines(done: ReadonlySet<CheckpointId>, running: boolean): string[] {
  return checkpointGridLines(done, running, {
    separator: '  ',
    row: (name, marks) => `${name.padEnd(ROW_NAME_WIDTH)}  ${marks}`,
  });
}

export function statusMessage(task: Task, now: Date): SlackMessage {
  const done = new Set(task.checkpoints.map((c) => c.id));
  // This very edit is the last step of delivering a success, so it shows `delivered` ticked.
  if (task.status === 'succeeded') done.add('delivered');
  const running = task.status === 'queued' || task.status === 'running';
  const count = CHECKPOINTS.filter((id) => done.has(id)).length;
  const elapsed = formatDuration((task.finishedAt ?? now).getTime() - task.createdAt.getTime());
  const lines = checkpointLines(done, running);
  const blocks: Block[] = [
    section(`\`${progressBar(count)}\`  *${count}/${CHECKPOINTS.length}* · ${elapsed}`),
    section('```' + lines.join('\n') + '```'),
  ];
  if (running && task.cancelRequested) {
    blocks.push(context('⏹ cancelling…'));
  } else if (running) {
    blocks.push({
      type: 'actions',
      block_id: 'pmf_status_actions',
      elements: [
        {
          type: 'button',
          action_id: CANCEL_ACTION_ID,
          style: 'danger',
          text: { type: 'plain_text', text: 'Cancel' },
          value: task.id,
          confirm: {
            title: { type: 'plain_text', text: 'Cancel this research?' },
            text: { type: 'mrkdwn', text: `The ${credits(task.cost)} reserved for \`${task.id}\` will be returned.` },
            confirm: { type: 'plain_text', text: 'Cancel research' },
            deny: { type: 'plain_text', text: 'Keep running' },
          },
        },
      ],
    });
  } else {
    blocks.push(context(finalLine(task)));
  }
  return { text: `PMF research ${task.id}: ${count}/${CHECKPOINTS.length} checkpoints`, blocks };
}

function finalLine(task: Task): string {
  if (task.status === 'succeeded') return `✅ done · ${formatDuration(elapsedMs(task))}`;
  const returned = `${credits(task.refunded ?? 0)} returned`;
  if (task.status === 'cancelled') {
    const by = task.cancelRequested ? ` by ${mention(task.cancelRequested.by)}` : '';
    return `⏹ cancelled${by} · ${returned}`;
  }
  return `❌ ${esc(task.error?.userMessage ?? 'The research failed.')} · ${returned}`;
}

const elapsedMs = (task: Task) => (task.finishedAt ?? new Date()).getTime() - task.createdAt.getTime();

// --- The summary reply ---------------------------------------------------------------------------------

const SUB_SCORE_SHORT: Record<string, string> = {
  demand: 'Demand',
  growth: 'Growth',
  whitespace: 'Whitespace',
  pain: 'Pain',
  willingness_to_pay: 'Willingness to pay',
};

export function summaryMessage(task: Task, result: ResearchResult): SlackMessage {
  const { report, usage } = result;
  const { score } = report;
  const subs = score.subScores.map((s) => `${SUB_SCORE_SHORT[s.key] ?? esc(s.label)} ${s.score}`).join(' · ');
  const byN = new Map(report.citations.map((c) => [c.n, c]));
  const findings = report.keyFindings.slice(0, 3).map((f) => {
    const refs = f.citations
      .map((n) => byN.get(n))
      .filter((c): c is NonNullable<typeof c> => c !== undefined)
      .map((c) => sourceLink(c.url, `[${c.n}]`))
      .join('');
    return `• ${clip(esc(f.text), 600)}${refs ? ` ${refs}` : ''}`;
  });
  const sources = usage.sourcesUsed || report.citations.length;
  const blocks: Block[] = [
    section(`*PMF ${score.total}/100* — ${score.band} (confidence: ${score.confidence})\n${subs}   _(each /20)_`),
  ];
  if (findings.length > 0) blocks.push(section(findings.join('\n')));
  if (report.missingSections.length > 0) {
    blocks.push(context(report.missingSections.map((m) => `⚠️ ${m.section}: ${esc(m.reason)}`).join('\n')));
  }
  const notes = [
    `${sources} source${sources === 1 ? '' : 's'}`,
    credits(task.cost),
    formatDuration(usage.durationMs || elapsedMs(task)),
  ];
  if (usage.cacheHits > 0) notes.push(`${usage.cacheHits} cached`);
  blocks.push(
    context(notes.join(' · ') + (report.sandbox ? '\n🧪 Sandbox run: sources and analysis are synthetic.' : '')),
  );
  return { text: `PMF ${score.total}/100 — ${score.band} · ${task.id}`, blocks };
}

/** The Markdown file's name in the thread. */
export const reportFileName = (taskId: string) => `pmf-${taskId}.md`;

// --- Ephemeral replies (only the requester sees them) -----------------------------------------------------

export function ackText(a: {
  taskId: string;
  idea: string;
  depth: Depth;
  cost: number;
  balanceAfter?: number;
}): string {
  const after = a.balanceAfter === undefined ? '' : ` You have ${credits(a.balanceAfter)} left this month.`;
  return (
    `On it: a *${depthLabel(a.depth)}* research (\`${a.taskId}\`) for ${credits(a.cost)}.${after}\n${quote(a.idea, 300)}\n` +
    `Watch it in the thread I just started; \`/pmf cancel ${a.taskId}\` stops it and returns the credits.`
  );
}

/** Any refusal: what happened, that nothing was charged, and what to do next. */
export function errorText(message: string): string {
  return `${message}\nNothing was charged.`;
}

export function helpText(): string {
  const depths = DEPTHS.map(
    (d) => `\`${d}\` ${DEPTH_PROFILES[d].credits} credits, ~${Math.round(DEPTH_PROFILES[d].targetSeconds / 60)} min`,
  ).join(' · ');
  return [
    '*PMF Scout* researches product-market fit for an idea and posts a cited, scored report in a thread.',
    `• \`/pmf ${EXAMPLE_IDEA}\` — a standard research`,
    `• \`/pmf essential|standard|deep <idea>\` — pick the depth: ${depths}`,
    '• `/pmf balance` — credits left this month',
    "• `/pmf list` — this workspace's last 10 researches",
    '• `/pmf status R-7KQ2` · `/pmf cancel R-7KQ2`',
    'An idea that starts with a depth word? Say the depth first: `/pmf standard deep learning tutor for kids`.',
  ].join('\n');
}

export function balanceText(b: BalanceView): string {
  const fits = DEPTHS.map((d) => `${b.remaining[d]} ${d}`).join(' · ');
  return `*${credits(b.balance)}* left for ${b.month} (${b.used} used of ${b.allowance}).\nThat is enough for ${fits}.`;
}

export function insufficientText(
  e: { balance: number; cost: number; remaining: Record<Depth, number> },
  depth: Depth,
): string {
  const fits = DEPTHS.filter((d) => e.remaining[d] > 0);
  const next =
    fits.length > 0
      ? `What fits: ${fits.map((d) => `\`${d}\` (${DEPTH_PROFILES[d].credits})`).join(', ')}.`
      : 'Ask a workspace admin for more credits, or wait for next month.';
  return errorText(
    `A ${depthLabel(depth)} research costs ${credits(e.cost)}, and this workspace has ${credits(e.balance)} left this month. ${next}`,
  );
}

export function suspendedText(): string {
  return errorText(
    'PMF Scout is suspended for this workspace. A workspace admin can ask the PMF Scout operators to resume it.',
  );
}

export function rateLimitedText(r: { scope: 'user' | 'workspace'; limit: number; retryAfterSeconds: number }): string {
  const who = r.scope === 'user' ? 'You have' : 'This workspace has';
  const wait =
    r.retryAfterSeconds >= 120 ? `${Math.ceil(r.retryAfterSeconds / 60)} minutes` : `${r.retryAfterSeconds} seconds`;
  return errorText(`${who} started ${r.limit} researches in the last hour, the limit. Try again in ${wait}.`);
}

export function notInChannelText(): string {
  return errorText(
    "I can't post in this channel. Invite me with `/invite @PMF Scout` and run the command again, or use it in a channel I'm in.",
  );
}

/** Slack itself did not answer within our retry budget (5xx, timeouts, long rate limits). */
export function slackUnavailableText(): string {
  return errorText(
    "Slack isn't answering PMF Scout right now, so this research did not start. Please try again in a few minutes.",
  );
}

export function internalErrorText(): string {
  return errorText('Something went wrong on our side before the research started. Please try again in a minute.');
}

const STATUS_GLYPH: Record<Task['status'], string> = {
  queued: '⏳',
  running: '⏳',
  succeeded: '✅',
  failed: '❌',
  cancelled: '⏹',
};

export function taskLine(t: Task): string {
  const done = new Set(t.checkpoints.map((c) => c.id)).size;
  const score = t.report ? ` · PMF ${t.report.json.score.total}/100` : '';
  const progress = t.status === 'queued' || t.status === 'running' ? ` · ${done}/${CHECKPOINTS.length}` : '';
  const idea = clip(esc(t.idea), 80);
  return `${STATUS_GLYPH[t.status]} \`${t.id}\` ${t.status}${progress}${score} · ${depthLabel(t.depth)} · ${idea}`;
}

export function listText(tasks: Task[]): string {
  if (tasks.length === 0) return `No researches yet in this workspace. Start one: \`/pmf ${EXAMPLE_IDEA}\``;
  return clip(`*Latest researches in this workspace*\n${tasks.map(taskLine).join('\n')}`, 3900);
}

export function statusText(t: Task, now: Date): string {
  const elapsed = formatDuration((t.finishedAt ?? now).getTime() - t.createdAt.getTime());
  const lines = [taskLine(t), `requested by ${mention(t.requester.id)} · ${elapsed}`];
  if (t.error && t.status !== 'succeeded') lines.push(esc(t.error.userMessage));
  if (t.status === 'succeeded' && t.delivery?.failedPermanently) lines.push(undeliveredLine());
  return lines.join('\n');
}

/** A finished research whose report reached nobody (decision 056): it was not charged. */
export function undeliveredLine(): string {
  return '⚠️ The report could not be posted in its channel or sent to you, so nothing was charged for it. Invite me to the channel (`/invite @PMF Scout`) and run it again, or ask an admin to read it in the PMF Scout console.';
}

export function notFoundText(taskId: string): string {
  return `I can't find a research \`${esc(taskId)}\` in this workspace. \`/pmf list\` shows the latest ids.`;
}

export function cancelRefusedText(requesterId: string): string {
  return `Only ${mention(requesterId)}, who started this research, or a workspace admin can cancel it.`;
}

export function cancelledText(t: Task): string {
  return t.status === 'cancelled' || t.cancelRequested
    ? `Cancelling \`${t.id}\`; its ${credits(t.cost)} will be returned.`
    : `\`${t.id}\` already ${t.status}; nothing to cancel.`;
}

/** The words of the shared command flow (bot/commands/flow.ts), in Slack's mrkdwn. */
export const slackWords: CommandWords = {
  help: helpText,
  balance: balanceText,
  list: listText,
  status: statusText,
  notFound: notFoundText,
  cancelNotAllowed: cancelRefusedText,
  alreadyFinished: cancelledText,
  cancelling: cancelledText,
  cancelRefused: (task, message) => `\`${task.id}\`: ${message}`,
  insufficientCredits: insufficientText,
  suspended: suspendedText,
  invalidRequest: errorText,
};
