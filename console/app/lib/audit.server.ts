// The audit log: who changed what, when and why. Written by every console mutation; one row per
// idempotency key so a double-submitted form leaves one trace like it leaves one ledger entry.
import type { Knex } from 'knex';

export type AuditEntry = {
  id: number;
  at: Date;
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
  return rows.length > 0;
}

export type AuditQuery = {
  action?: string;
  actor?: string;
  target?: string;
  from?: Date;
  to?: Date;
  page: number;
  pageSize: number;
};

export async function listAudit(db: Knex, q: AuditQuery): Promise<{ items: AuditEntry[]; total: number }> {
  const base = db('console_audit_log').where((b) => {
    if (q.action) b.where('action', q.action);
    if (q.actor) b.whereILike('actor_email', `%${escapeLike(q.actor)}%`);
    if (q.target) b.where('target_id', q.target);
    if (q.from) b.where('at', '>=', q.from);
    if (q.to) b.where('at', '<', q.to);
  });
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
  return {
    items: rows.map((r) => ({
      id: r.id,
      at: r.at,
      actorEmail: r.actor_email,
      action: r.action,
      targetType: r.target_type,
      targetId: r.target_id,
      details: r.details,
      reason: r.reason,
    })),
    total: Number(count[0]?.count ?? 0),
  };
}

export async function auditActions(db: Knex): Promise<string[]> {
  const rows = await db('console_audit_log').distinct<{ action: string }[]>('action').orderBy('action');
  return rows.map((r) => r.action);
}

export function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}
