// Where the console finds `npm run eval`'s runs: EVALS_DIR, else evals/runs under the directory the console
// was started from (the project root, as `npm start` does).
import path from 'node:path';
import { listRuns, readRunFiles } from '../../../core/evals/runs.js';

export { listRuns, readRunFiles };

export function evalsRoot(): string {
  return path.resolve(process.env.EVALS_DIR ?? path.join(process.cwd(), 'evals', 'runs'));
}
