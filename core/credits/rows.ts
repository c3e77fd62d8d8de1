import { z } from 'zod';
import { PLATFORMS } from '../platform.js';
import { DEPTHS } from '../research/depth.js';
import type { Hold, LedgerTransaction, Workspace } from './types.js';

// Rows come back from pg as untyped records: parse them at this edge so the rest of the ledger is typed.

const depth = z.enum(DEPTHS).nullable();
const date = z.coerce.date();

const workspaceRow = z.object({
  id: z.string(),
  platform: z.enum(PLATFORMS),
  external_id: z.string(),
  name: z.string(),
  monthly_allowance: z.number(),
  status: z.enum(['active', 'suspended']),
  created_at: date,
});

export function toWorkspace(row: unknown): Workspace {
  const r = workspaceRow.parse(row);
  return {
    id: r.id,
    platform: r.platform,
    externalId: r.external_id,
    name: r.name,
    monthlyAllowance: r.monthly_allowance,
    status: r.status,
    createdAt: r.created_at,
  };
}

const holdRow = z.object({
  task_id: z.string(),
  workspace_id: z.string(),
  month: z.string(),
  amount: z.number(),
  depth,
  status: z.enum(['held', 'captured', 'released']),
  actor: z.string(),
  created_at: date,
  closed_at: date.nullable(),
  closed_by: z.string().nullable(),
  close_reason: z.string().nullable(),
});

export function toHold(row: unknown): Hold {
  const r = holdRow.parse(row);
  return {
    taskId: r.task_id,
    workspaceId: r.workspace_id,
    month: r.month,
    amount: r.amount,
    depth: r.depth,
    status: r.status,
    actor: r.actor,
    createdAt: r.created_at,
    closedAt: r.closed_at,
    closedBy: r.closed_by,
    closeReason: r.close_reason,
  };
}

const transactionRow = z.object({
  id: z.number(),
  workspace_id: z.string(),
  month: z.string(),
  type: z.enum(['allowance', 'grant', 'adjust', 'reserve', 'capture', 'release']),
  amount: z.number(),
  balance_after: z.number().nullable(),
  task_id: z.string().nullable(),
  depth,
  actor: z.string(),
  reason: z.string().nullable(),
  idempotency_key: z.string().nullable(),
  created_at: date,
});

export function toTransaction(row: unknown): LedgerTransaction {
  const r = transactionRow.parse(row);
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    month: r.month,
    type: r.type,
    amount: r.amount,
    balanceAfter: r.balance_after,
    taskId: r.task_id,
    depth: r.depth,
    actor: r.actor,
    reason: r.reason,
    idempotencyKey: r.idempotency_key,
    createdAt: r.created_at,
  };
}

/** The SQLSTATE and constraint of a pg error, if it is one. */
export function pgError(err: unknown): { code: string; constraint?: string } | undefined {
  const parsed = z.object({ code: z.string(), constraint: z.string().optional() }).safeParse(err);
  return parsed.success ? parsed.data : undefined;
}
