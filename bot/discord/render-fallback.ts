// What the Discord delivery shows when the report cannot be attached in the research's thread: the report
// as messages, the notes in the channel, the word to the requester when no thread shows the end (decisions
// 056, 059). Pure, like render.ts, and as safe: every body comes from its `body`.
import type { Task } from '../../core/tasks/types.js';
import { MAX_CONTENT, body, credits, failureMessage, type MessageBody } from './render.js';

/** Room left in a message for the report text once its code fence is added. */
const REPORT_PART = MAX_CONTENT - 20;

/** The report as plain messages (a Markdown code block each, so nothing in it formats or pings). */
export function reportTextParts(markdown: string): MessageBody[] {
  const safe = markdown.replace(/```/g, '`\u200b``');
  const parts: string[] = [];
  let current = '';
  for (const line of safe.split('\n')) {
    for (let rest = line; ;) {
      const room = REPORT_PART - (current ? current.length + 1 : 0);
      if (rest.length <= room) {
        current = current ? `${current}\n${rest}` : rest;
        break;
      }
      if (current) {
        parts.push(current);
        current = '';
        continue;
      }
      parts.push(rest.slice(0, REPORT_PART));
      rest = rest.slice(REPORT_PART);
    }
  }
  if (current.trim()) parts.push(current);
  return parts.map((p) => body({ content: `\`\`\`md\n${p}\n\`\`\`` }));
}

/** Said after the report parts when the file was over the server's upload limit. */
export function reportTooLargeNote(task: Pick<Task, 'id'>): string {
  return `📄 The report file for \`${task.id}\` is over this server's upload limit, so it is above as messages instead. Nothing more was charged.`;
}

/**
 * Said in the channel when the research's thread could not take the report, with why when Discord said
 * (discordProblemText); otherwise the usual causes.
 */
export function threadUnreachableNote(task: Pick<Task, 'id'>, problem?: string): string {
  const why =
    problem ??
    'It was deleted or archived, or I lost access to it. To keep reports in threads, give me **Send Messages in Threads** and leave the thread open until the research ends.';
  return `📄 I couldn't post the report for \`${task.id}\` in its thread, so it is here instead. ${why}`;
}

/** The report sent to the requester alone (DM, else the command's follow-up): its channel took nothing. */
export function reportToRequesterNote(task: Pick<Task, 'id' | 'origin'>, problem: string): string {
  const where = task.origin.platform === 'discord' ? `<#${task.origin.channelId}>` : 'its channel';
  return `📄 Your PMF report \`${task.id}\` is here: I couldn't post it in ${where} or its thread. ${problem}`;
}

/**
 * Said to the requester alone (the command's follow-up while its token lives, else a DM) when the thread
 * could not show a failure or a cancel (decision 059).
 */
export function endNotShownNote(task: Task, problem: string): MessageBody {
  const where = task.origin.platform === 'discord' ? `<#${task.origin.channelId}>` : 'its channel';
  const ended =
    task.status === 'succeeded'
      ? `Research \`${task.id}\` finished, but its report reached nobody. ${credits(task.cost)} returned to the workspace; nothing was charged.`
      : failureMessage(task).content;
  return body({ content: `⚠️ I couldn't post this in ${where}: ${problem}\n${ended}` });
}
