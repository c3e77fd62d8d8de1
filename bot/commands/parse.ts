// The `/pmf …` command language, shared by Slack and Discord. Pure: text in, a command or a kind refusal out.
//
// Grammar (first word decides; see docs/decisions/050-command-grammar.md):
//   help | balance | list                 alone on the line
//   status <id> | cancel <id>             exactly one id after the keyword
//   essential|standard|deep <idea>        research at that depth
//   depth=<d> <idea> | --depth <d> <idea> the explicit form, for ideas that start with a depth word
//   anything else                         an idea, researched at the default depth
import { checkIdea } from '../../core/research/idea.js';
import { DEFAULT_DEPTH, DEPTHS, isDepth, type Depth } from '../../core/research/depth.js';

export type Command =
  | { kind: 'research'; idea: string; depth: Depth }
  | { kind: 'help' }
  | { kind: 'balance' }
  | { kind: 'list' }
  | { kind: 'status'; taskId: string }
  | { kind: 'cancel'; taskId: string };

/** A research to start: the one command that is charged and answered in a thread. */
export type ResearchCommand = Extract<Command, { kind: 'research' }>;
/** Every other command: answered to the asker alone. */
export type ReplyCommand = Exclude<Command, { kind: 'research' }>;

export type ParseProblem = 'empty_idea' | 'idea_too_long' | 'unknown_depth' | 'unknown_subcommand' | 'missing_id';

export type ParseResult = { ok: true; command: Command } | { ok: false; problem: ParseProblem; message: string };

const SUBCOMMANDS = ['help', 'balance', 'list', 'status', 'cancel'] as const;
export const EXAMPLE_IDEA = 'an app that matches dog owners with vetted sitters in their neighbourhood';
/** Task ids are short and typeable (`R-7KQ2`); accept any single token and let the store say "not found". */
const TASK_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export function parseCommand(text: string): ParseResult {
  const trimmed = text.replace(/\s+/g, ' ').trim();
  const [first = '', ...rest] = trimmed.split(' ');
  const keyword = first.toLowerCase();
  const remainder = rest.join(' ');

  if (keyword === '') return researchCommand('', DEFAULT_DEPTH);
  if (rest.length === 0 && (keyword === 'help' || keyword === 'balance' || keyword === 'list'))
    return { ok: true, command: { kind: keyword } };
  if (keyword === 'status' || keyword === 'cancel') {
    if (rest.length === 0)
      return refuse(
        'missing_id',
        `Which research? Give its id, for example: \`${keyword} R-7KQ2\`. \`list\` shows your workspace's latest ids.`,
      );
    if (rest.length === 1 && TASK_ID.test(remainder))
      return { ok: true, command: { kind: keyword, taskId: remainder } };
    // A mistyped cancel must never start a paid research; an idea that starts with "cancel" can use a depth word.
    if (keyword === 'cancel')
      return refuse('missing_id', `\`cancel\` takes one research id, for example: \`cancel R-7KQ2\`.`);
  }
  if (isDepth(keyword)) return researchCommand(remainder, keyword);

  const explicit = explicitDepth(trimmed);
  if (explicit) {
    if (!isDepth(explicit.depth)) return unknownDepth(explicit.depth);
    return researchCommand(explicit.idea, explicit.depth);
  }
  if (rest.length === 0) {
    const near = SUBCOMMANDS.find((s) => keyword.length >= 3 && editDistance(keyword, s) <= (s.length >= 6 ? 2 : 1));
    if (near)
      return refuse(
        'unknown_subcommand',
        `I don't know \`${first}\`. Did you mean \`${near}\`? Try \`help\` for everything I can do.`,
      );
  }
  const nearDepth = rest.length > 0 ? DEPTHS.find((d) => d.length >= 7 && editDistance(keyword, d) <= 2) : undefined;
  if (nearDepth) return unknownDepth(first, nearDepth);
  return researchCommand(trimmed, DEFAULT_DEPTH);
}

/** A research of `rawIdea` at `depth`, or the idea's refusal (empty, too long); Discord's options use it too. */
export function researchCommand(rawIdea: string, depth: Depth): ParseResult {
  const check = checkIdea(rawIdea);
  if (!check.ok) return refuse(check.problem === 'empty' ? 'empty_idea' : 'idea_too_long', check.message);
  return { ok: true, command: { kind: 'research', idea: check.idea, depth } };
}

function explicitDepth(text: string): { depth: string; idea: string } | undefined {
  const match = /^(?:depth[=:]|--depth[= ])(\S*)\s*(.*)$/i.exec(text);
  return match ? { depth: (match[1] ?? '').toLowerCase(), idea: match[2] ?? '' } : undefined;
}

function unknownDepth(given: string, near?: Depth): ParseResult {
  const hint = near ? `Did you mean \`${near}\`? ` : '';
  return refuse(
    'unknown_depth',
    `"${given}" is not a research depth. ${hint}Choose essential (6 credits), standard (12) or deep (18), for example: \`deep ${EXAMPLE_IDEA}\`.`,
  );
}

function refuse(problem: ParseProblem, message: string): ParseResult {
  return { ok: false, problem, message };
}

/** Edit distance counting an adjacent swap as one edit (optimal string alignment); only for single short words. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => d[i]?.[j] ?? 0;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      d[i]![j] = best;
    }
  }
  return at(a.length, b.length);
}
