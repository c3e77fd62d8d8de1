// The five ledger actions of the workspace page. Each one goes through the ledger with the form's
// idempotency key and is written to the audit log under the same key, so a double submit changes the
// balance once and leaves one audit row.
import { json, type AppLoadContext } from '@remix-run/node';
import { z } from 'zod';
import {
  amountField,
  baseActionSchema,
  describeError,
  formError,
  validateForm,
  type ActionResult,
} from './actions.server.js';
import { writeAudit } from './audit.server.js';
import { fmtNumber } from './format.js';
import type { ConsoleUser } from './users.server.js';

/** The documented range of a grant, deduction or allowance (README, console section). */
const MAX_AMOUNT = 10_000_000;
const amount = amountField(1, MAX_AMOUNT);

const LEDGER_INTENTS = ['grant', 'deduct', 'set_allowance', 'suspend', 'resume'] as const;
export type LedgerIntent = (typeof LEDGER_INTENTS)[number];

const schemas = {
  grant: baseActionSchema.extend({ intent: z.literal('grant'), amount }),
  deduct: baseActionSchema.extend({ intent: z.literal('deduct'), amount }),
  set_allowance: baseActionSchema.extend({
    intent: z.literal('set_allowance'),
    amount: amountField(0, MAX_AMOUNT),
  }),
  suspend: baseActionSchema.extend({ intent: z.literal('suspend') }),
  resume: baseActionSchema.extend({ intent: z.literal('resume') }),
};

export async function runLedgerAction(
  context: AppLoadContext,
  admin: ConsoleUser,
  workspaceId: string,
  form: FormData,
) {
  const intent = form.get('intent');
  if (typeof intent !== 'string' || !(LEDGER_INTENTS as readonly string[]).includes(intent)) {
    return json<ActionResult>({ ok: false, error: 'Unknown action' }, { status: 400 });
  }
  const parsed = validateForm(schemas[intent as LedgerIntent], form);
  if (!parsed.ok) return parsed.response;
  const input = parsed.data;
  const { ledger, db } = context.services;
  const workspace = await ledger.getWorkspace(workspaceId);
  if (!workspace) return json<ActionResult>({ ok: false, error: 'No such workspace' }, { status: 404 });
  const actor = `console:${admin.email}`;
  const value = 'amount' in input ? input.amount : undefined;
  const change = { workspaceId, actor, reason: input.reason, idempotencyKey: input.idempotencyKey };
  let moved: { amount?: unknown; balanceAfter?: unknown } | undefined;
  try {
    switch (input.intent) {
      case 'grant':
        moved = (await ledger.grant({ ...change, amount: value })) as typeof moved;
        break;
      case 'deduct':
        moved = (await ledger.deduct({ ...change, amount: value })) as typeof moved;
        break;
      case 'set_allowance':
        moved = (await ledger.setAllowance({ ...change, amount: value })) as typeof moved;
        break;
      case 'suspend':
        await ledger.suspend(change);
        break;
      case 'resume':
        await ledger.resume(change);
        break;
    }
  } catch (err) {
    const { status, error } = describeError(err);
    return formError(form, {}, status, `${error} Nothing was changed.`);
  }
  // Before → after, so the audit log shows what the change did, not only what was asked. The ledger's
  // transaction carries the balance after it and its signed amount.
  const balance =
    typeof moved?.balanceAfter === 'number' && typeof moved.amount === 'number'
      ? { balance: { before: moved.balanceAfter - moved.amount, after: moved.balanceAfter } }
      : {};
  const changes: Record<LedgerIntent, Record<string, unknown>> = {
    grant: balance,
    deduct: balance,
    set_allowance: { allowance: { before: workspace.monthlyAllowance, after: value }, ...balance },
    suspend: { status: { before: workspace.status, after: 'suspended' } },
    resume: { status: { before: workspace.status, after: 'active' } },
  };
  await writeAudit(db, {
    actor: { id: admin.id, email: admin.email },
    action: `workspace.${input.intent}`,
    targetType: 'workspace',
    targetId: workspaceId,
    details: {
      workspace: workspace.name,
      ...(value === undefined ? {} : { amount: value }),
      changes: changes[input.intent],
    },
    reason: input.reason,
    idempotencyKey: input.idempotencyKey,
  });
  const n = value === undefined ? '' : fmtNumber(value);
  const what: Record<LedgerIntent, string> = {
    grant: `Granted ${n} credits`,
    deduct: `Deducted ${n} credits`,
    set_allowance: `Monthly allowance set to ${n}`,
    suspend: 'Workspace suspended',
    resume: 'Workspace resumed',
  };
  return json<ActionResult>({ ok: true, message: what[input.intent], intent: input.intent });
}
