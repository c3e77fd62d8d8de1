// The ledger invariant on every workspace page, without re-proving 50,000 transactions on every load.
// checkInvariant re-sums a workspace's whole history (~100 ms at 50k rows); its answer can only change
// when a transaction is added or a balance row changes, so it is cached per workspace under a key made of
// the newest transaction id and the balance rows' figures — one indexed lookup (decision 076).
import type { Knex } from 'knex';
import type { LedgerPort } from './ports.server.js';

type Result = { ok: boolean; problems: string[] };

const MAX_ENTRIES = 2000;
const cache = new Map<string, { key: string; result: Result }>();

async function stateKey(db: Knex, workspaceId: string | undefined): Promise<string> {
  const where = workspaceId ? 'WHERE workspace_id = :ws' : '';
  const { rows } = (await db.raw(
    `SELECT (SELECT max(id) FROM transactions ${where}) AS tx,
            (SELECT count(*) || ':' || coalesce(sum(balance), 0) || ':' || coalesce(sum(used), 0) || ':' || coalesce(max(updated_at)::text, '')
               FROM balances ${where}) AS balances`,
    workspaceId ? { ws: workspaceId } : {},
  )) as { rows: { tx: number | null; balances: string }[] };
  return `${rows[0]?.tx ?? 0}|${rows[0]?.balances ?? ''}`;
}

export async function invariantFor(db: Knex, ledger: LedgerPort, workspaceId?: string): Promise<Result> {
  const id = workspaceId ?? '*';
  const key = await stateKey(db, workspaceId);
  const hit = cache.get(id);
  if (hit && hit.key === key) return hit.result;
  const result = await ledger.checkInvariant(workspaceId);
  // Only a healthy answer is kept: an alarm is recomputed on every load until it clears.
  if (result.ok) {
    if (cache.size >= MAX_ENTRIES) cache.delete(cache.keys().next().value as string);
    cache.set(id, { key, result });
  } else {
    cache.delete(id);
  }
  return result;
}
