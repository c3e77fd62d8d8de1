// The audit log: who changed what, when and why. Written by every console mutation; one row per
// idempotency key so a double-submitted form leaves one trace like it leaves one ledger entry.
import type { Knex } from 'knex';
import { appMetrics } from './metrics.server.js';
import type { AUDIT_KIND_VALUES } from './audit-filters.js';

export type AuditEntry = {
  id: number;
  at: Date;
  actorId: string | null;
  actorEmail: string;
  action: string;
  targetType: string;
  targetId: string;
  details: Record<string, unknown>;
  reason: string | null;
};

export type AuditInput = {
  /** `id` is null for security events with no logged-in actor (a failed login names the email tried). */
  actor: { id: string | null; email: string };
  action: string;
  targetType: string;
  targetId: string;
  details?: Record<string, unknown>;
  reason?: string;
  idempotencyKey?: string;
};

type AuditRow = {
  id: number;
  at: Date;
  actor_id: string | null;
  actor_email: string;
  action: string;
  target_type: string;
  target_id: string;
  details: Record<string, unknown>;
  reason: string | null;
};

/** True when the row was written, false when this idempotency key was already recorded. */
export async function writeAudit(db: Knex, e: AuditInput): Promise<boolean> {
  const rows = await db('console_audit_log')
    .insert({
      actor_id: e.actor.id,
      actor_email: e.actor.email,
      action: e.action,
      target_type: e.targetType,
      target_id: e.targetId,
      details: JSON.stringify(e.details ?? {}),
      reason: e.reason ?? null,
      idempotency_key: e.idempotencyKey ?? null,
    })
    .onConflict('idempotency_key')
    .ignore()
    .returning('id');
  if (rows.length > 0) appMetrics.adminActions.inc({ action: e.action });
  return rows.length > 0;
}

export type AuditQuery = {
  /** Security events (failed and throttled logins, refused requests) are the `security.*` actions. */
  kind?: (typeof AUDIT_KIND_VALUES)[number];
  action?: string;
  actor?: string;
  target?: string;
  from?: Date;
  to?: Date;
  page: number;
  pageSize: number;
};

function filtered(db: Knex, q: Omit<AuditQuery, 'page' | 'pageSize'>): Knex.QueryBuilder {
  return db('console_audit_log').where((b) => {
    if (q.kind === 'security') b.whereLike('action', 'security.%');
    if (q.kind === 'changes') b.whereRaw(`action NOT LIKE 'security.%'`);
    if (q.action) b.where('action', q.action);
    if (q.actor) b.whereILike('actor_email', `%${escapeLike(q.actor)}%`);
    if (q.target) b.where('target_id', q.target);
    if (q.from) b.where('at', '>=', q.from);
    if (q.to) b.where('at', '<', q.to);
  });
}

function toEntry(r: AuditRow): AuditEntry {
  return {
    id: r.id,
    at: r.at,
    actorId: r.actor_id,
    actorEmail: r.actor_email,
    action: r.action,
    targetType: r.target_type,
    targetId: r.target_id,
    details: r.details,
    reason: r.reason,
  };
}

export async function listAudit(db: Knex, q: AuditQuery): Promise<{ items: AuditEntry[]; total: number }> {
  const base = filtered(db, q);
  const [rows, count] = await Promise.all([
    base
      .clone()
      .select<AuditRow[]>('*')
      .orderBy('at', 'desc')
      .orderBy('id', 'desc')
      .limit(q.pageSize)
      .offset((q.page - 1) * q.pageSize),
    base.clone().count<{ count: number }[]>({ count: '*' }),
  ]);
  return { items: rows.map(toEntry), total: Number(count[0]?.count ?? 0) };
}

/** Every matching row, newest first, in batches by id (the CSV export). */
export async function* allAudit(
  db: Knex,
  q: Omit<AuditQuery, 'page' | 'pageSize'>,
  batch = 2000,
): AsyncGenerator<AuditEntry[]> {
  let below: number | undefined;
  for (;;) {
    const query = filtered(db, q).select<AuditRow[]>('*').orderBy('id', 'desc').limit(batch);
    if (below !== undefined) void query.where('id', '<', below);
    const rows = (await query) as AuditRow[];
    if (rows.length === 0) return;
    yield rows.map(toEntry);
    below = Number(rows[rows.length - 1]!.id);
    if (rows.length < batch) return;
  }
}

export type Change = { field: string; before: unknown; after: unknown };

/** The before → after pairs an action recorded under `details.changes`. */
export function changesOf(details: Record<string, unknown>): Change[] {
  const changes = details.changes;
  if (!changes || typeof changes !== 'object') return [];
  return Object.entries(changes as Record<string, unknown>).flatMap(([field, v]) =>
    v && typeof v === 'object' && 'after' in v
      ? [{ field, before: (v as { before?: unknown }).before ?? null, after: (v as { after: unknown }).after }]
      : [],
  );
}

/** A readable name for each audit row's target: workspace and user names from their tables, a task's idea. */
export async function targetNames(db: Knex, entries: AuditEntry[]): Promise<Record<string, string>> {
  const ids = (type: string) => [
    ...new Set(
      entries.filter((e) => e.targetType === type && /^[0-9a-f-]{36}$/i.test(e.targetId)).map((e) => e.targetId),
    ),
  ];
  const [workspaces, users] = await Promise.all([
    ids('workspace').length
      ? (db('workspaces').whereIn('id', ids('workspace')).select('id', 'name') as Promise<
          { id: string; name: string }[]
        >)
      : Promise.resolve([]),
    ids('user').length
      ? (db('console_users').whereIn('id', ids('user')).select('id', 'email as name') as Promise<
          { id: string; name: string }[]
        >)
      : Promise.resolve([]),
  ]);
  const out: Record<string, string> = {};
  for (const r of [...workspaces, ...users]) out[r.id] = r.name;
  for (const e of entries)
    if (e.targetType === 'task' && typeof e.details.idea === 'string') out[e.targetId] = e.details.idea;
  return out;
}

export async function auditActions(db: Knex): Promise<string[]> {
  const rows = await db('console_audit_log').distinct<{ action: string }[]>('action').orderBy('action');
  return rows.map((r) => r.action);
}

export function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}
