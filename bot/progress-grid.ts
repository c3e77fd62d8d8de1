// The progress grid as text, shared by the Slack and Discord status messages: the bar, the elapsed time, a mark per
// checkpoint laid out as core/research/checkpoints.ts's CHECKPOINT_GRID says. Each platform only chooses
// how a row is set (Slack pads the names inside a code block, Discord makes them bold).
import {
  CHECKPOINTS,
  CHECKPOINT_GRID,
  CHECKPOINT_LABELS,
  checkpointState,
  type Agent,
  type CheckpointId,
} from '../core/research/checkpoints.js';

export function progressBar(done: number, total: number = CHECKPOINTS.length): string {
  const n = Math.max(0, Math.min(total, done));
  return '▰'.repeat(n) + '▱'.repeat(total - n);
}

/** Elapsed time as `m:ss`, or `h:mm:ss` from an hour on. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** The name of each agent's row. */
export const AGENT_ROW_NAMES: Record<Agent, string> = {
  market: 'Market',
  competitor: 'Competitors',
  customer: 'Customers',
};

const GLYPH = { done: '✓', in_progress: '◌', waiting: '·' } as const;

export type GridStyle = {
  /** Between two marks on a line. */
  separator: string;
  /** An agent's row from its name and its marks, already joined. */
  row: (name: string, marks: string) => string;
};

/** ✓ done, ◌ in progress (running and every prerequisite done), · not yet; agents on a row each. */
export function checkpointGridLines(done: ReadonlySet<CheckpointId>, running: boolean, style: GridStyle): string[] {
  const marks = (ids: readonly CheckpointId[]) =>
    ids.map((id) => `${GLYPH[checkpointState(id, done, running)]} ${CHECKPOINT_LABELS[id]}`).join(style.separator);
  return [
    marks(CHECKPOINT_GRID.head),
    ...CHECKPOINT_GRID.agents.map(({ agent, steps }) => style.row(AGENT_ROW_NAMES[agent], marks(steps))),
    marks(CHECKPOINT_GRID.tail),
  ];
}
