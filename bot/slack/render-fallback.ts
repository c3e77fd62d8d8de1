// What the Slack delivery shows when the report cannot go as a file in the research's thread: the report as
// messages, the notice in the thread, the DM, and the word to the requester when no thread shows the end
// (decisions 056, 059). Pure, like render.ts.
import type { Task } from '../../core/tasks/types.js';
import { section, type SlackMessage } from './render.js';

/**
 * Slack's `markdown` block takes up to 12,000 characters, and that is also the limit for all markdown blocks
 * of one message together; a part stays under it with room for the part's heading.
 */
const MAX_REPORT_PART = 11_000;

/** Keeps Slack's own syntax inert inside a markdown block: no `<!channel>`, `<@U…>` or `@here` from a web page. */
function inertMarkdown(text: string): string {
  return text.replace(/<([!@#])/g, '<\u2060$1').replace(/@(channel|here|everyone)\b/gi, '@\u2060$1');
}

/** Cuts the report into parts at line ends (a single over-long line is cut where it must be). */
function reportParts(markdown: string, max = MAX_REPORT_PART): string[] {
  const parts: string[] = [];
  let current = '';
  for (const line of markdown.split('\n')) {
    let rest = line;
    while (rest.length > max) {
      if (current) parts.push(current);
      current = '';
      parts.push(rest.slice(0, max));
      rest = rest.slice(max);
    }
    const next = current ? `${current}\n${rest}` : rest;
    if (next.length > max) {
      parts.push(current);
      current = rest;
    } else current = next;
  }
  if (current.trim()) parts.push(current);
  return parts;
}

/** The report as messages (one markdown block each), for when it cannot be attached as a file. */
export function reportMessages(taskId: string, markdown: string): SlackMessage[] {
  const parts = reportParts(inertMarkdown(markdown));
  return parts.map((part, i) => ({
    text: `PMF report ${taskId}${parts.length > 1 ? ` (part ${i + 1} of ${parts.length})` : ''}`,
    blocks: [{ type: 'markdown', text: part }],
  }));
}

/** Said in the thread when the file could not be shared there but the report was posted as messages. */
export function fileNotSharedText(reason: string): SlackMessage {
  const text =
    `📄 I couldn't attach the report file here: ${reason} The full report is in the messages above instead, ` +
    'and nothing more was charged for it. To get it as a file next time, invite me to this channel: `/invite @PMF Scout`.';
  return { text, blocks: [section(text)] };
}

/** The first DM when the research's own channel could not take the report. */
export function reportByDmText(taskId: string, channelId: string, problem: string): SlackMessage {
  const where = /^[CG][A-Z0-9]+$/.test(channelId) ? `<#${channelId}>` : 'its channel';
  const text = `📄 Your PMF report \`${taskId}\` is below: I couldn't post it in ${where}. ${problem}`.trimEnd();
  return { text, blocks: [section(text)] };
}

/**
 * Said to the requester alone (the command's response_url, else a DM) when the research's thread took
 * nothing of its end (decision 059): a report that reached nobody, or a failure or cancel nobody saw.
 */
export function endNotShownText(
  task: Pick<Task, 'id' | 'status' | 'cost' | 'error'>,
  channelId: string,
  problem: string,
): SlackMessage {
  const where = /^[CG][A-Z0-9]+$/.test(channelId) ? `<#${channelId}>` : 'its channel';
  const what =
    task.status === 'succeeded'
      ? `Your research \`${task.id}\` finished, but I couldn't deliver its report in ${where} or by direct message. Your ${task.cost} credits were returned; nothing was charged.`
      : `I couldn't post the end of your research \`${task.id}\` in ${where}. ${task.error?.userMessage ?? `Your ${task.cost} credits were returned; nothing was charged.`}`;
  const text = `⚠️ ${what} ${problem}`.trimEnd();
  return { text, blocks: [section(text)] };
}
