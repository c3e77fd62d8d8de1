import { CHECKPOINTS } from '../../../core/research/checkpoints.js';

export function CheckpointProgress({ done }: { done: string[] }) {
  const set = new Set(done);
  return (
    <span className="row-gap" title={done.join(' → ')}>
      <span className="progress">
        {CHECKPOINTS.map((id) => (
          <span key={id} className={set.has(id) ? 'on' : ''} />
        ))}
      </span>
      <span className="small muted">
        {set.size}/{CHECKPOINTS.length}
      </span>
    </span>
  );
}
