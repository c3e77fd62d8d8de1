// The 17 checkpoints of a research, with the stable ids every surface (tests, console, Slack, Discord) uses,
// and what each declares about itself: who reports it and which agent's step it is. Everything else —
// the engine's share, the progress grid, what must be done before a step can be in progress — is derived
// from that, so a checkpoint added or moved changes one table.

export const CHECKPOINTS = [
  'received',
  'credits_reserved',
  'queued',
  'started',
  'plan',
  'queries',
  'market_search',
  'market_extract',
  'market_analysis',
  'competitor_search',
  'competitor_extract',
  'competitor_analysis',
  'customer_search',
  'customer_extract',
  'customer_analysis',
  'report',
  'delivered',
] as const;

export type CheckpointId = (typeof CHECKPOINTS)[number];

export const AGENTS = ['market', 'competitor', 'customer'] as const;
export type Agent = (typeof AGENTS)[number];

type CheckpointInfo = {
  /** The short word shown in the progress grid (an agent's row names the agent). */
  label: string;
  /** Who reports it: the job layer (intake, queueing, delivery) or the research graph. */
  owner: 'jobs' | 'engine';
  /** The agent whose step it is; the three agents run in parallel, each on a row of its own. */
  agent?: Agent;
};

const INFO: Record<CheckpointId, CheckpointInfo> = {
  received: { label: 'received', owner: 'jobs' },
  credits_reserved: { label: 'credits', owner: 'jobs' },
  queued: { label: 'queued', owner: 'jobs' },
  started: { label: 'started', owner: 'jobs' },
  plan: { label: 'plan', owner: 'engine' },
  queries: { label: 'queries', owner: 'engine' },
  market_search: { label: 'search', owner: 'engine', agent: 'market' },
  market_extract: { label: 'extract', owner: 'engine', agent: 'market' },
  market_analysis: { label: 'analysis', owner: 'engine', agent: 'market' },
  competitor_search: { label: 'search', owner: 'engine', agent: 'competitor' },
  competitor_extract: { label: 'extract', owner: 'engine', agent: 'competitor' },
  competitor_analysis: { label: 'analysis', owner: 'engine', agent: 'competitor' },
  customer_search: { label: 'search', owner: 'engine', agent: 'customer' },
  customer_extract: { label: 'extract', owner: 'engine', agent: 'customer' },
  customer_analysis: { label: 'analysis', owner: 'engine', agent: 'customer' },
  report: { label: 'report', owner: 'engine' },
  delivered: { label: 'delivered', owner: 'jobs' },
};

/** The checkpoints the research graph itself reports; the job layer owns the rest. */
export const ENGINE_CHECKPOINTS: readonly CheckpointId[] = CHECKPOINTS.filter((id) => INFO[id].owner === 'engine');

export const CHECKPOINT_LABELS = Object.fromEntries(CHECKPOINTS.map((id) => [id, INFO[id].label])) as Record<
  CheckpointId,
  string
>;

/**
 * The progress grid every surface draws: the steps before the agents on one line, each agent's steps on a
 * row of their own (they interleave, so a single line would jump about), and the steps after them.
 */
export type CheckpointGrid = {
  head: readonly CheckpointId[];
  agents: readonly { agent: Agent; steps: readonly CheckpointId[] }[];
  tail: readonly CheckpointId[];
};

function gridOf(ids: readonly CheckpointId[]): CheckpointGrid {
  const first = ids.findIndex((id) => INFO[id].agent);
  const last = ids.findLastIndex((id) => INFO[id].agent);
  return {
    head: ids.slice(0, first),
    agents: AGENTS.map((agent) => ({ agent, steps: ids.filter((id) => INFO[id].agent === agent) })),
    tail: ids.slice(last + 1),
  };
}

export const CHECKPOINT_GRID: CheckpointGrid = gridOf(CHECKPOINTS);

/**
 * What must be done before a checkpoint can be the one in progress: the step before it on its row; an
 * agent's first step waits for the last step before the agents, and the first step after them waits for
 * every agent's last step.
 */
export function checkpointPrerequisites(id: CheckpointId, grid: CheckpointGrid = CHECKPOINT_GRID): CheckpointId[] {
  for (const { steps } of grid.agents) {
    const i = steps.indexOf(id);
    if (i === 0) return grid.head.slice(-1);
    if (i > 0) return [steps[i - 1]!];
  }
  if (id === grid.tail[0]) return grid.agents.map(({ steps }) => steps[steps.length - 1]!);
  const order = [...grid.head, ...grid.tail];
  const i = order.indexOf(id);
  return i > 0 ? [order[i - 1]!] : [];
}

/** done; in progress (the research is running and every prerequisite is done); or not yet. */
export function checkpointState(
  id: CheckpointId,
  done: ReadonlySet<CheckpointId>,
  running: boolean,
): 'done' | 'in_progress' | 'waiting' {
  if (done.has(id)) return 'done';
  return running && checkpointPrerequisites(id).every((p) => done.has(p)) ? 'in_progress' : 'waiting';
}
