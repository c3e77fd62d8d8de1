// What a `/pmf` command does, the same on Slack and Discord: finding a task (only in the asker's own
// workspace), who may cancel, and turning our typed errors into the platform's words. Each platform supplies
// who asked (Asker) and its words (CommandWords, in its render.ts); this module decides which words.
// How to add a subcommand: docs/how-to-add-a-subcommand.md.
import type { BalanceView, CreditLedger } from '../../core/credits/index.js';
import type { Jobs } from '../../core/jobs/index.js';
import type { Depth } from '../../core/research/depth.js';
import { normalizeTaskId } from '../../core/tasks/ids.js';
import type { Task } from '../../core/tasks/types.js';
import type { ReplyCommand } from './parse.js';

/** How many of a workspace's latest researches `list` shows. */
const LIST_SIZE = 10;

/** What a platform's renderer says for each outcome of a command; every platform has one of each. */
export type CommandWords = {
  help(): string;
  balance(b: BalanceView): string;
  list(tasks: Task[]): string;
  status(task: Task, now: Date): string;
  /** No research by that id in the asker's workspace (another workspace's does not exist, as far as it can tell). */
  notFound(typedId: string): string;
  /** The asker is neither the requester nor an admin. */
  cancelNotAllowed(requesterId: string): string;
  /** The research has already ended. */
  alreadyFinished(task: Task): string;
  /** The cancel was accepted: `task` as it is after it. */
  cancelling(task: Task): string;
  /** The job layer refused the cancel (the research ended meanwhile, say); `message` is safe to show. */
  cancelRefused(task: Task, message: string): string;
  insufficientCredits(e: InsufficientCredits, depth: Depth): string;
  suspended(): string;
  /** The job layer refused the request as malformed; `message` is safe to show. */
  invalidRequest(message: string): string;
};

/** Who asked, as the platform knows them. */
export type Asker = {
  userId: string;
  /** The ledger workspace of the asker's team or guild (created on first use). */
  workspaceId(): Promise<string>;
  /** Does the task belong to the asker's workspace? */
  owns(task: Task): boolean;
  /** May cancel anyone's research; asked only when the asker is not the requester (Slack asks its API). */
  isAdmin(): Promise<boolean>;
};

export type FlowDeps = {
  ledger: Pick<CreditLedger, 'balance'>;
  jobs: Pick<Jobs, 'cancelResearch'> & { tasks: Pick<Jobs['tasks'], 'get' | 'listByWorkspace'> };
};

/** The answer to any command but a research, in the platform's words. */
export async function answer(
  command: ReplyCommand,
  asker: Asker,
  deps: FlowDeps,
  words: CommandWords,
  now: Date,
): Promise<string> {
  switch (command.kind) {
    case 'help':
      return words.help();
    case 'balance':
      return words.balance(await deps.ledger.balance(await asker.workspaceId()));
    case 'list':
      return words.list(await deps.jobs.tasks.listByWorkspace(await asker.workspaceId(), LIST_SIZE));
    case 'status': {
      const task = await findTask(deps.jobs.tasks, command.taskId, asker);
      return task ? words.status(task, now) : words.notFound(command.taskId);
    }
    case 'cancel':
      return cancel(command.taskId, asker, deps, words);
  }
}

/** The research a typed id names, when it is one of the asker's workspace's. */
async function findTask(
  tasks: Pick<Jobs['tasks'], 'get'>,
  typedId: string,
  asker: Pick<Asker, 'owns'>,
): Promise<Task | undefined> {
  const id = normalizeTaskId(typedId);
  if (!id) return undefined;
  const task = await tasks.get(id);
  return task && asker.owns(task) ? task : undefined;
}

/** A cancel by the requester or an admin; what it did, in the platform's words. */
export async function cancel(typedId: string, asker: Asker, deps: FlowDeps, words: CommandWords): Promise<string> {
  const task = await findTask(deps.jobs.tasks, typedId, asker);
  if (!task) return words.notFound(typedId);
  const admin = task.requester.id === asker.userId ? false : await asker.isAdmin();
  if (task.requester.id !== asker.userId && !admin) return words.cancelNotAllowed(task.requester.id);
  if (task.status === 'succeeded' || task.status === 'failed' || task.status === 'cancelled')
    return words.alreadyFinished(task);
  try {
    return words.cancelling(await deps.jobs.cancelResearch(task.id, { id: asker.userId, isAdmin: admin }));
  } catch (error) {
    const refused = jobsRefusal(error);
    if (refused?.code === 'forbidden') return words.cancelNotAllowed(task.requester.id);
    if (refused) return words.cancelRefused(task, refused.message);
    throw error;
  }
}

/**
 * Why a research could not be submitted, in the platform's words, when it was one of our own refusals
 * (not enough credits, a suspended workspace, a malformed request); undefined for anything else.
 */
export function refusalText(error: unknown, depth: Depth, words: CommandWords): string | undefined {
  const insufficient = insufficientCredits(error);
  if (insufficient) return words.insufficientCredits(insufficient, depth);
  if (hasCode(error, 'workspace_suspended')) return words.suspended();
  const refused = jobsRefusal(error);
  if (refused?.code === 'invalid') return words.invalidRequest(refused.message);
  return undefined;
}

// Our errors are recognised by the stable `code` their classes promise (core/credits/errors.ts,
// core/jobs/types.ts), not with `instanceof`: a check on the code holds whichever copy of a module made the
// error (a test's module registry, another loader, another realm), where a class identity does not. No error crosses a
// thread here — the work thread calls the ledger and the job layer itself — and none could keep its class
// or its code if it did: structuredClone keeps an Error's message, not its name or own fields.

/** What InsufficientCreditsError carries for the words: the balance, the price and what still fits. */
export type InsufficientCredits = { balance: number; cost: number; remaining: Record<Depth, number> };

function hasCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}

export function insufficientCredits(error: unknown): InsufficientCredits | undefined {
  if (!hasCode(error, 'insufficient_credits')) return undefined;
  const { balance, cost, remaining } = error as Partial<InsufficientCredits>;
  return typeof balance === 'number' && typeof cost === 'number' && remaining && typeof remaining === 'object'
    ? { balance, cost, remaining }
    : undefined;
}

/** A JobsError: a refusal of the job layer whose message is safe to show. */
export function jobsRefusal(error: unknown): { code: string; message: string } | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { name, code, message } = error as { name?: unknown; code?: unknown; message?: unknown };
  return name === 'JobsError' && typeof code === 'string' && typeof message === 'string'
    ? { code, message }
    : undefined;
}
