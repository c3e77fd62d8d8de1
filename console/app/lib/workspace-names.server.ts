// Workspace names for report search (a name typed in the box or the filter) and the workspace column, from
// memory: search runs on every keystroke, and two more PostgreSQL round trips per keystroke would cost more
// than the search itself. The list is re-read when older than REFRESH_MS (a few thousand short rows); a row
// whose workspace is newer than the copy is named by one direct lookup.
import type { Knex } from 'knex';

const REFRESH_MS = 30_000;

type Copy = { at: number; names: Map<string, string>; lower: [string, string][] };

const copies = new WeakMap<Knex, { current?: Copy; loading?: Promise<Copy> }>();

async function read(db: Knex): Promise<Copy> {
  const rows = (await db('workspaces').select('id', 'name')) as { id: string; name: string }[];
  return {
    at: Date.now(),
    names: new Map(rows.map((r) => [r.id, r.name])),
    lower: rows.map((r) => [r.id, r.name.toLowerCase()]),
  };
}

async function copyOf(db: Knex): Promise<Copy> {
  let slot = copies.get(db);
  if (!slot) copies.set(db, (slot = {}));
  const fresh = slot.current && Date.now() - slot.current.at < REFRESH_MS;
  if (!fresh || !slot.current) {
    slot.loading ??= read(db).finally(() => {
      slot.loading = undefined;
    });
    const loading = slot.loading.then((c) => (slot.current = c));
    // A stale copy answers at once while the new one loads; only the very first read is waited for.
    if (!slot.current) return loading;
    void loading.catch(() => undefined);
  }
  return slot.current;
}

/** Ids of the workspaces whose name contains `text`, case-insensitively. */
export async function workspacesNamed(db: Knex, text: string): Promise<string[]> {
  const needle = text.trim().toLowerCase();
  if (!needle) return [];
  return (await copyOf(db)).lower.filter(([, name]) => name.includes(needle)).map(([id]) => id);
}

/** id → name for the workspaces behind one page of rows. */
export async function workspaceNames(db: Knex, ids: string[]): Promise<Record<string, string>> {
  const { names } = await copyOf(db);
  const out: Record<string, string> = {};
  const missing: string[] = [];
  for (const id of new Set(ids)) {
    const name = names.get(id);
    if (name !== undefined) out[id] = name;
    else if (/^[0-9a-f-]{36}$/i.test(id)) missing.push(id);
  }
  if (missing.length) {
    const rows = (await db('workspaces').whereIn('id', missing).select('id', 'name')) as { id: string; name: string }[];
    for (const r of rows) out[r.id] = r.name;
  }
  return out;
}
