// Parsing of admin action forms: reason, confirmation and idempotency key are required for every change.
import { json } from '@remix-run/node';
import { z } from 'zod';

export const baseActionSchema = z.object({
  intent: z.string().min(1),
  reason: z.string().trim().min(3, 'a reason of at least 3 characters is required').max(500),
  confirm: z.literal('yes', { errorMap: () => ({ message: 'tick the confirmation box' }) }),
  idempotencyKey: z.string().trim().min(8).max(100),
});

export type ActionResult = { ok: true; message: string } | { ok: false; error: string };

export function parseForm<T extends z.ZodTypeAny>(schema: T, form: FormData): z.infer<T> {
  const parsed = schema.safeParse(Object.fromEntries(form));
  if (!parsed.success) {
    const msg = parsed.error.issues.map((i) => `${i.path.join('.') || 'form'}: ${i.message}`).join('; ');
    throw json<ActionResult>({ ok: false, error: msg }, { status: 400 });
  }
  return parsed.data;
}

/** Errors from core/ carry a string `code` (LedgerError) or a `userMessage`; show those, hide the rest. */
export function describeError(err: unknown): { status: number; error: string } {
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; message?: unknown; userMessage?: unknown; name?: unknown };
    if (typeof e.userMessage === 'string') return { status: 409, error: e.userMessage };
    if (typeof e.code === 'string' && typeof e.message === 'string') {
      const code = e.code.toLowerCase();
      const status =
        code.includes('unknown') || code.includes('not_found')
          ? 404
          : code.includes('invalid')
            ? 400
            : code === 'forbidden'
              ? 403
              : 409;
      return { status, error: e.message };
    }
  }
  return { status: 500, error: 'The change failed; nothing was recorded. See the console log.' };
}
