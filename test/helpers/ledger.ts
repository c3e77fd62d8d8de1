import { randomUUID } from 'node:crypto';
import type { CreditLedger, Workspace } from '../../core/credits/index.js';
import type { Db } from '../../core/storage/index.js';

// Shared by the ledger tests and the benchmark: fresh workspaces, and a snapshot of everything the ledger
// stores about one workspace so a test can prove that a refused request changed nothing.

export async function freshWorkspace(ledger: CreditLedger, label = 'ws'): Promise<Workspace> {
  return ledger.ensureWorkspace({
    platform: 'console',
    externalId: `${label}-${randomUUID()}`,
    name: `${label} ${randomUUID().slice(0, 6)}`,
  });
}

export async function ledgerSnapshot(db: Db, workspaceId: string): Promise<unknown> {
  const [workspace, balances, transactions, holds, events] = await Promise.all([
    db('workspaces').where({ id: workspaceId }).first(),
    db('balances').where({ workspace_id: workspaceId }).orderBy('month'),
    db('transactions').where({ workspace_id: workspaceId }).orderBy('id'),
    db('holds').where({ workspace_id: workspaceId }).orderBy('task_id'),
    db('workspace_events').where({ workspace_id: workspaceId }).orderBy('id'),
  ]);
  return { workspace, balances, transactions, holds, events };
}

/** mulberry32: a tiny seeded PRNG so a failing randomized run can be replayed exactly. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs `tasks` with at most `width` in flight at once. */
export async function runWithConcurrency<T>(width: number, tasks: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, tasks.length) }, worker));
  return results;
}
