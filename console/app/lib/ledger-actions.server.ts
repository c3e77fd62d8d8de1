// The five ledger actions of the workspace page. Each one goes through the ledger with the form's
// idempotency key and is written to the audit log under the same key, so a double submit changes the
// balance once and leaves one audit row.
import { json, type AppLoadContext } from '@remix-run/node';
import { z } from 'zod';
import { baseActionSchema, describeError, parseForm, type ActionResult } from './actions.server.js';
import { writeAudit } from './audit.server.js';
import type { ConsoleUser } from './users.server.js';

const MAX_AMOUNT = 10_000_000;
const amount = z.coerce.number().int('a whole number of credits').min(1).max(MAX_AMOUNT);

export const LEDGER_INTENTS = ['grant', 'deduct', 'set_allowance', 'suspend', 'resume'] as const;
export type LedgerIntent = (typeof LEDGER_INTENTS)[number];

const schemas = {
  grant: baseActionSchema.extend({ intent: z.literal('grant'), amount }),
  deduct: baseActionSchema.extend({ intent: z.literal('deduct'), amount }),
  set_allowance: baseActionSchema.extend({
    intent: z.literal('set_allowance'),
    amount: z.coerce.number().int().min(0).max(MAX_AMOUNT),
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
  const input = parseForm(schemas[intent as LedgerIntent], form);
  const { ledger, db } = context.services;
  const workspace = await ledger.getWorkspace(workspaceId);
  if (!workspace) return json<ActionResult>({ ok: false, error: 'No such workspace' }, { status: 404 });
  const actor = `console:${admin.email}`;
  const value = 'amount' in input ? input.amount : undefined;
  const change = { workspaceId, actor, reason: input.reason, idempotencyKey: input.idempotencyKey };
  try {
    switch (input.intent) {
      case 'grant':
        await ledger.grant({ ...change, amount: value });
        break;
      case 'deduct':
        await ledger.deduct({ ...change, amount: value });
        break;
      case 'set_allowance':
        await ledger.setAllowance({ ...change, amount: value });
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
    return json<ActionResult>({ ok: false, error }, { status });
  }
  await writeAudit(db, {
    actor: { id: admin.id, email: admin.email },
    action: `workspace.${input.intent}`,
    targetType: 'workspace',
    targetId: workspaceId,
    details: value === undefined ? { workspace: workspace.name } : { workspace: workspace.name, amount: value },
    reason: input.reason,
    idempotencyKey: input.idempotencyKey,
  });
  const what: Record<LedgerIntent, string> = {
    grant: `Granted ${value} credits`,
    deduct: `Deducted ${value} credits`,
    set_allowance: `Monthly allowance set to ${value}`,
    suspend: 'Workspace suspended',
    resume: 'Workspace resumed',
  };
  return json<ActionResult>({ ok: true, message: what[input.intent] });
}
