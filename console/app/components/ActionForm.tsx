import { Form, useNavigation } from '@remix-run/react';
import type { ReactNode } from 'react';

/**
 * An admin action: a POST with a required reason, an explicit confirmation tick, and a hidden idempotency
 * key. The loader mints `pageKey` on every render of the page (so after a completed action the revalidated
 * page carries a new one); resubmitting the same rendered form reuses it and the change happens once.
 */
export function ActionForm({
  intent,
  title,
  children,
  confirmText,
  submitLabel,
  danger,
  action,
  formKey,
  pageKey,
}: {
  intent: string;
  title: string;
  children?: ReactNode;
  confirmText: string;
  submitLabel: string;
  danger?: boolean;
  action?: string;
  /** Changes after a successful submit, so the next submission gets a fresh idempotency key. */
  formKey?: string;
  pageKey: string;
}) {
  const nav = useNavigation();
  const busy = nav.state !== 'idle' && nav.formData?.get('intent') === intent;
  return (
    <Form method="post" action={action} key={formKey} data-intent={intent}>
      <h3>{title}</h3>
      <input type="hidden" name="intent" value={intent} />
      <input type="hidden" name="idempotencyKey" value={`${pageKey}:${intent}`} />
      {children}
      <input name="reason" placeholder="Reason (required)" required minLength={3} maxLength={500} aria-label="Reason" />
      <label className="confirm">
        <input type="checkbox" name="confirm" value="yes" required /> {confirmText}
      </label>
      <button type="submit" className={danger ? 'danger' : undefined} disabled={busy}>
        {busy ? 'Working…' : submitLabel}
      </button>
    </Form>
  );
}
