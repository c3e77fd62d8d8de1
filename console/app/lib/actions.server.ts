// Parsing of admin action forms: reason, confirmation and idempotency key are required for every change.
// A form that does not validate is answered with its field errors and the values typed, as action data
// (never a thrown response), so the page stays and the form keeps what was typed (decision 078).
import { json, type TypedResponse } from '@remix-run/node';
import { z } from 'zod';
import { fmtNumber } from './format.js';

export const baseActionSchema = z.object({
  intent: z.string().min(1),
  reason: z.string().trim().min(3, 'a reason of at least 3 characters is required').max(500, 'at most 500 characters'),
  confirm: z.literal('yes', { errorMap: () => ({ message: 'tick the confirmation box' }) }),
  idempotencyKey: z.string().trim().min(8).max(100),
});

/** Credits as an admin types them: plain digits, optionally grouped by commas ("1500", "1,500"); no 0x10, 1e3, 2.5. */
export function amountField(min: number, max: number) {
  return z
    .string({ required_error: 'enter a number of credits' })
    .trim()
    .regex(/^(\d{1,3}(,\d{3})+|\d+)$/, 'whole credits in plain digits, like 1500 or 1,500')
    .transform((s) => Number(s.replace(/,/g, '')))
    .pipe(
      z
        .number()
        .int()
        .min(min, `at least ${fmtNumber(min)}`)
        .max(max, `at most ${fmtNumber(max)}`),
    );
}

export type FieldErrors = Record<string, string>;

export type ActionResult =
  | { ok: true; message: string; intent?: string }
  | { ok: false; error: string; intent?: string; fieldErrors?: FieldErrors; values?: Record<string, string> };

/** Form fields never echoed back: secrets and the per-render key (a fresh render mints its own). */
const NOT_ECHOED = new Set(['password', 'repeat', 'idempotencyKey', 'confirm']);

/** What was typed, for the form to show again. */
function typedValues(form: FormData): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of form) if (typeof v === 'string' && !NOT_ECHOED.has(k)) out[k] = v.slice(0, 2000);
  return out;
}

/** A refusal of one form: field errors, the values typed, and a sentence that says nothing changed. */
export function formError(
  form: FormData,
  fieldErrors: FieldErrors,
  status = 400,
  error = 'Nothing was changed: correct the marked fields and submit again.',
): TypedResponse<ActionResult> {
  const intent = form.get('intent');
  return json<ActionResult>(
    {
      ok: false,
      error,
      fieldErrors,
      values: typedValues(form),
      ...(typeof intent === 'string' ? { intent } : {}),
    },
    { status },
  );
}

export type Parsed<T> = { ok: true; data: T } | { ok: false; response: TypedResponse<ActionResult> };

export function validateForm<T extends z.ZodTypeAny>(schema: T, form: FormData): Parsed<z.infer<T>> {
  const parsed = schema.safeParse(Object.fromEntries(form));
  if (parsed.success) return { ok: true, data: parsed.data as z.infer<T> };
  const fieldErrors: FieldErrors = {};
  for (const issue of parsed.error.issues) {
    const field = issue.path.join('.') || 'form';
    fieldErrors[field] ??= issue.message;
  }
  return { ok: false, response: formError(form, fieldErrors) };
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
