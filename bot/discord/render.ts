// Everything the Discord bot shows, as pure functions of the task: raw API message bodies (usable on the
// channel-message routes with the bot token and on interaction webhooks alike). Untrusted text — the idea,
// anything from the web or the LLM — only enters through `inert`, and every body carries
// `allowed_mentions: { parse: [] }`, so nothing the bot posts can ping anyone. What a delivery says when the
// report cannot be attached in the thread is in render-fallback.ts.
import {
  ButtonStyle,
  ComponentType,
  type APIActionRowComponent,
  type APIButtonComponent,
  type APIEmbed,
} from 'discord.js';
import { CHECKPOINTS, type CheckpointId } from '../../core/research/checkpoints.js';
import type { BalanceView } from '../../core/credits/index.js';
import { needsAdmin, type ResearchResult } from '../../core/research/contract.js';
import { DEPTHS, DEPTH_PROFILES, type Depth } from '../../core/research/depth.js';
import { encodeDestination } from '../../core/research/markdown-safe.js';
import { neutralizeMentions } from '../../core/research/sanitize.js';
import type { Task } from '../../core/tasks/types.js';
import { cleanText } from '../../core/text/clean.js';
import type { CommandWords } from '../commands/flow.js';
import { EXAMPLE_IDEA } from '../commands/parse.js';
import { checkpointGridLines, formatDuration, progressBar } from '../progress-grid.js';

export const MAX_CONTENT = 2000;
export const MAX_EMBED_DESCRIPTION = 4096;
export const MAX_EMBED_TITLE = 256;
export const MAX_FIELD_VALUE = 1024;
export const MAX_FOOTER = 2048;

export const NO_PINGS = { parse: [] as [] };

export type MessageBody = {
  content: string;
  embeds: APIEmbed[];
  components: APIActionRowComponent<APIButtonComponent>[];
  allowed_mentions: typeof NO_PINGS;
};

const COLOR = { running: 0x5865f2, ok: 0x2ecc71, failed: 0xe74c3c, cancelled: 0x95a5a6 } as const;
const colorOf = (status: Task['status']) =>
  status === 'succeeded'
    ? COLOR.ok
    : status === 'failed'
      ? COLOR.failed
      : status === 'cancelled'
        ? COLOR.cancelled
        : COLOR.running;

/** The custom id of a task's Cancel button; `parseCancelId` reads it back. */
export const cancelCustomId = (taskId: string) => `pmf:cancel:${taskId}`;
export function parseCancelId(customId: string): string | undefined {
  const m = /^pmf:cancel:([A-Za-z0-9_-]{1,64})$/.exec(customId);
  return m?.[1];
}

export const reportFileName = (taskId: string) => `pmf-${taskId}.md`;

// --- Text safety and length ----------------------------------------------------------------------------

/**
 * Makes untrusted text inert: user/role/channel mentions and @everyone/@here are broken with a zero-width
 * space (they would not ping anyway, but they would still render as a highlighted mention).
 */
export function inert(text: string): string {
  return neutralizeMentions(cleanText(text)).replace(/@(everyone|here)\b/gi, '@\u200b$1');
}

/**
 * Fits `text` into `max` UTF-16 units (what Discord counts, conservatively) with a trailing ellipsis. Cuts
 * at a word boundary, never inside a citation such as `[12]` or `[3, 4]`; a single word longer than the
 * whole budget is cut between code points.
 */
export function fit(text: string, max: number): string {
  if (text.length <= max) return text;
  const budget = max - 1;
  let cut = text.slice(0, budget);
  const nextChar = text[budget] ?? '';
  if (!/\s/.test(nextChar)) {
    const lastSpace = cut.search(/\s\S*$/);
    if (lastSpace > 0) cut = cut.slice(0, lastSpace);
  }
  cut = cut.replace(/\[[\d,\s]*$/, '').replace(/[\s,;:([{-]+$/, '');
  // Never leave half a surrogate pair.
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}

/** Lines joined with `\n` while they fit in `max`; the rest summarised by `more(n)` (which must fit too). */
export function fitLines(lines: string[], max: number, more: (left: number) => string): string {
  const out: string[] = [];
  let length = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const left = lines.length - i - 1;
    const tail = left > 0 ? more(left).length + 1 : 0;
    const add = (out.length ? 1 : 0) + line.length;
    if (length + add + tail > max) {
      out.push(more(lines.length - i));
      return out.join('\n');
    }
    out.push(line);
    length += add;
  }
  return out.join('\n');
}

function quote(text: string, max: number): string {
  const quoted = inert(text)
    .split('\n')
    .map((line) => `> ${line}`)
    .join('\n');
  return fit(quoted, max);
}

/** A Discord user id from a verified payload becomes a mention (shown, never pinged); anything else is text. */
export function mention(userId: string): string {
  return /^\d{15,21}$/.test(userId) ? `<@${userId}>` : inert(userId);
}

const depthLabel = (d: Depth) => DEPTH_PROFILES[d].label;
export const credits = (n: number) => `${n} credit${n === 1 ? '' : 's'}`;

export function body(parts: Partial<Omit<MessageBody, 'allowed_mentions'>>): MessageBody {
  const content = fit(parts.content ?? '', MAX_CONTENT);
  return { content, embeds: parts.embeds ?? [], components: parts.components ?? [], allowed_mentions: NO_PINGS };
}

// --- The request message (the deferred reply, edited) --------------------------------------------------

export type RequestView = Pick<
  Task,
  'id' | 'idea' | 'depth' | 'cost' | 'requester' | 'status' | 'refunded' | 'error'
> & {
  score?: { total: number; band: string };
};

function requestStateLine(t: RequestView, threaded: boolean): string {
  const where = threaded ? 'in the thread' : 'below';
  switch (t.status) {
    case 'succeeded':
      return t.score
        ? `✅ **PMF ${t.score.total}/100** (${t.score.band}) · report ${where}`
        : `✅ done · report ${where}`;
    case 'failed':
      return `❌ failed · ${credits(t.refunded ?? 0)} returned`;
    case 'cancelled':
      return `🛑 cancelled · ${credits(t.refunded ?? 0)} returned`;
    default:
      return `⏳ running… · progress ${where}`;
  }
}

export function requestMessage(t: RequestView, opts: { threaded: boolean }): MessageBody {
  const color = colorOf(t.status);
  return body({
    content: `🔎 **PMF research** · ${depthLabel(t.depth)} · ${credits(t.cost)} · requested by ${mention(t.requester.id)} · \`${t.id}\``,
    embeds: [
      {
        description: quote(t.idea, MAX_EMBED_DESCRIPTION),
        color,
        fields: [{ name: 'Status', value: fit(requestStateLine(t, opts.threaded), MAX_FIELD_VALUE) }],
      },
    ],
  });
}

// --- The status message in the thread ------------------------------------------------------------------

/** The grid with each agent's name in bold before its steps. */
export function checkpointLines(done: ReadonlySet<CheckpointId>, running: boolean): string[] {
  return checkpointGridLines(done, running, { separator: ' ', row: (name, marks) => `**${name}** ${marks}` });
}

function isFinal(t: Pick<Task, 'status'>): boolean {
  return t.status === 'succeeded' || t.status === 'failed' || t.status === 'cancelled';
}

export function statusMessage(task: Task, now: Date): MessageBody {
  const done = new Set(task.checkpoints.map((c) => c.id));
  const running = !isFinal(task);
  const since = task.startedAt ?? task.createdAt;
  const until = task.finishedAt ?? now;
  const lines = [
    `${progressBar(done.size)}  ${done.size}/${CHECKPOINTS.length} · ${formatDuration(until.getTime() - since.getTime())}`,
    ...checkpointLines(done, running),
  ];
  if (task.status === 'failed') lines.push(`❌ ${inert(task.error?.userMessage ?? 'The research failed.')}`);
  if (task.status === 'cancelled') lines.push('🛑 cancelled');
  if (task.status === 'succeeded') lines.push('✅ done');
  const color = colorOf(task.status);
  return body({
    embeds: [{ title: `Research ${task.id}`, description: fit(lines.join('\n'), MAX_EMBED_DESCRIPTION), color }],
    components: running
      ? [
          {
            type: ComponentType.ActionRow,
            components: [
              {
                type: ComponentType.Button,
                style: ButtonStyle.Danger,
                label: 'Cancel',
                custom_id: cancelCustomId(task.id),
              },
            ],
          },
        ]
      : [],
  });
}

// --- The summary and the report ------------------------------------------------------------------------

const SUB_LABEL: Record<string, string> = {
  demand: 'Demand',
  growth: 'Growth',
  whitespace: 'Whitespace',
  pain: 'Pain',
  willingness_to_pay: 'Willingness to pay',
};

/** A masked link to a retrieved source: only http(s); the characters that end a link are percent-encoded. */
export function sourceLink(url: string, title: string): string {
  const label = inert(title).replace(/[[\]]/g, '').slice(0, 120) || url;
  if (!/^https?:\/\//i.test(url)) return label;
  const safe = encodeDestination(url);
  return `[${label}](<${safe}>)`;
}

export function summaryMessage(task: Task, result: ResearchResult): MessageBody {
  const { report, usage } = result;
  const { score } = report;
  const subs = score.subScores.map((s) => `${SUB_LABEL[s.key] ?? inert(s.label)} ${s.score}`).join(' · ');
  const findings = report.keyFindings.slice(0, 3).map((f) => {
    const refs = f.citations.map((n) => `[${n}]`).join('');
    return `• ${fit(inert(f.text), 700)}${refs ? ` ${refs}` : ''}`;
  });
  const head = [`${subs}  (each /20)`, '', '**Key findings**', ...findings];
  if (report.missingSections.length)
    head.push('', ...report.missingSections.map((m) => `⚠️ ${m.section}: ${fit(inert(m.reason), 300)}`));
  if (report.sandbox) head.push('', '🧪 Sandbox run: sources and analysis are synthetic, not real research.');
  head.push('', '**Sources**');
  const headText = head.join('\n');
  const sourceLines = report.citations.map((c) => `[${c.n}] ${sourceLink(c.url, c.title)}`);
  const sources = fitLines(
    sourceLines,
    MAX_EMBED_DESCRIPTION - headText.length - 1,
    (n) => `…and ${n} more in the report`,
  );
  const seconds = usage.durationMs;
  return body({
    content: `📎 Report for \`${task.id}\` attached: **${reportFileName(task.id)}**`,
    embeds: [
      {
        title: fit(`PMF ${score.total}/100 — ${score.band} (confidence: ${score.confidence})`, MAX_EMBED_TITLE),
        description: fit(`${headText}\n${sources}`, MAX_EMBED_DESCRIPTION),
        color: COLOR.ok,
        footer: {
          text: `${report.citations.length} sources · ${credits(task.cost)} · ${formatDuration(seconds)}${usage.cacheHits ? ` · ${usage.cacheHits} cache hits` : ''}`,
        },
      },
    ],
  });
}

/** Failure or cancel, said plainly, with what came back. */
export function failureMessage(task: Task): MessageBody {
  const refunded = credits(task.refunded ?? 0);
  const content =
    task.status === 'cancelled'
      ? `🛑 Research \`${task.id}\` was cancelled${task.cancelRequested ? ` by ${mention(task.cancelRequested.by)}` : ''}. ${refunded} returned to the workspace.`
      : `❌ Research \`${task.id}\` failed: ${inert(task.error?.userMessage ?? 'something went wrong on our side.')} ${refunded} returned to the workspace.${needsAdmin(task.error?.failure) ? '' : ' Try again with `/pmf research`.'}`;
  return body({ content });
}

/**
 * The request was shown but the research could not be queued (the job layer released the hold). `problem`:
 * what Discord refused, in plain words with its fix (discordProblemText), when it was Discord.
 */
export const notStartedMessage = (problem?: string): MessageBody =>
  body({
    content: problem
      ? `❌ This research could not start: ${problem} Nothing was charged. Then run \`/pmf research\` again.`
      : '❌ This research could not start because of a problem on our side. Nothing was charged. Please try `/pmf research` again in a minute.',
  });

// --- Ephemeral replies ---------------------------------------------------------------------------------

export const ephemeral = (content: string): MessageBody => body({ content });

export function ackText(t: Pick<Task, 'id' | 'depth' | 'cost'>): string {
  return `Started research \`${t.id}\` (${depthLabel(t.depth)}, ${credits(t.cost)}). Follow it in the thread.`;
}

export function helpText(): string {
  return [
    '**PMF Scout** researches a product idea on the web and scores its product-market fit.',
    `• \`/pmf research idea:${EXAMPLE_IDEA} depth:standard\` — start a research; the report lands in a thread.`,
    `• Depths: ${DEPTHS.map((d) => `${d} (${credits(DEPTH_PROFILES[d].credits)}, ~${Math.round(DEPTH_PROFILES[d].targetSeconds / 60)} min)`).join(', ')}.`,
    '• `/pmf balance` — credits left this month.  `/pmf list` — the latest researches here.',
    '• `/pmf status id:R-7KQ2` — where a research is.  `/pmf cancel id:R-7KQ2` — stop it (requester or Manage Server); unspent credits come back.',
  ].join('\n');
}

export function balanceText(b: BalanceView): string {
  const runs = DEPTHS.map((d) => `${b.remaining[d]} ${d}`).join(' · ');
  return `**${b.balance} credits** left for ${b.month} (allowance ${b.allowance}, used ${b.used}). Enough for ${runs}.`;
}

export function insufficientText(
  e: { balance: number; cost: number; remaining: Record<Depth, number> },
  depth: Depth,
): string {
  const cheaper = DEPTHS.filter((d) => d !== depth && e.remaining[d] > 0);
  const hint = cheaper.length
    ? ` You can still run ${cheaper.map((d) => `\`${d}\``).join(' or ')}.`
    : ' Ask your admin to top up the workspace.';
  return `Not enough credits: a ${depth} research costs ${e.cost} and this server has ${e.balance} left. Nothing was charged.${hint}`;
}

export const suspendedText = () =>
  'This server’s PMF Scout workspace is suspended, so no research can start. Nothing was charged. Ask your admin to contact support.';
export const dmText = () =>
  'PMF Scout works in servers: credits belong to a server. Run `/pmf` in a server channel where the bot is installed. Nothing was charged.';
export const internalErrorText = () =>
  'Something went wrong on our side. Nothing was charged. Please try again in a minute.';

export function rateLimitedText(r: { scope: 'user' | 'workspace'; limit: number; retryAfterSeconds: number }): string {
  const who = r.scope === 'user' ? 'you have' : 'this server has';
  const wait =
    r.retryAfterSeconds >= 120 ? `${Math.ceil(r.retryAfterSeconds / 60)} minutes` : `${r.retryAfterSeconds} seconds`;
  return `Slow down: ${who} started ${r.limit} researches in the last hour. Try again in ${wait}. Nothing was charged.`;
}

export function missingPermissionsText(missing: string[]): string {
  return `I can’t work in this channel: I’m missing ${missing.map((m) => `**${m}**`).join(', ')}. Ask a server admin to grant them to PMF Scout here, or run \`/pmf\` in another channel. Nothing was charged.`;
}

export function taskLine(t: Task): string {
  const score = t.report ? ` · PMF ${t.report.json.score.total}/100` : '';
  return `\`${t.id}\` · ${t.status}${score} · ${depthLabel(t.depth)} · ${fit(inert(t.idea), 80)}`;
}

export function listText(tasks: Task[]): string {
  if (!tasks.length) return 'No researches in this server yet. Start one with `/pmf research`.';
  return fitLines(['**Latest researches**', ...tasks.map(taskLine)], MAX_CONTENT, (n) => `…and ${n} more`);
}

export function statusText(t: Task, now: Date): string {
  const done = new Set(t.checkpoints.map((c) => c.id));
  const since = t.startedAt ?? t.createdAt;
  return [
    taskLine(t),
    `${progressBar(done.size)}  ${done.size}/${CHECKPOINTS.length} · ${formatDuration((t.finishedAt ?? now).getTime() - since.getTime())}`,
    ...checkpointLines(done, !isFinal(t)),
    // A finished research whose report reached nobody (decision 056) was not charged.
    ...(t.status === 'succeeded' && t.delivery?.failedPermanently
      ? [
          '⚠️ The report could not be posted in its channel, so nothing was charged for it. Check that I can see the channel and send messages and files there, then run it again.',
        ]
      : []),
  ].join('\n');
}

export const notFoundText = (id: string) =>
  `No research \`${inert(id).slice(0, 40)}\` in this server. \`/pmf list\` shows the latest ids.`;
export const cancelRefusedText = (requesterId: string) =>
  `Only the requester (${mention(requesterId)}) or someone with **Manage Server** can cancel this research.`;
export const alreadyFinishedText = (t: Task) =>
  `Research \`${t.id}\` has already ${t.status === 'succeeded' ? 'finished' : t.status}; nothing to cancel.`;
export const cancelRequestedText = (t: Task) => `Cancelling \`${t.id}\`… unspent credits come back to the server.`;

/** The words of the shared command flow (bot/commands/flow.ts), in Discord's Markdown. */
export const discordWords: CommandWords = {
  help: helpText,
  balance: balanceText,
  list: listText,
  status: statusText,
  notFound: notFoundText,
  cancelNotAllowed: cancelRefusedText,
  alreadyFinished: alreadyFinishedText,
  cancelling: cancelRequestedText,
  cancelRefused: (_task, message) => message,
  insufficientCredits: insufficientText,
  suspended: suspendedText,
  invalidRequest: (message) => `${message} Nothing was charged.`,
};
