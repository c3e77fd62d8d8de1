import { Form, useNavigation } from '@remix-run/react';
import type { ReactNode } from 'react';

/** The part of an action's answer a form shows: its field errors and what was typed. */
export type FormFeedback = {
  ok: boolean;
  intent?: string;
  fieldErrors?: Record<string, string>;
  values?: Record<string, string>;
};

/**
 * The feedback meant for the form of `intent` (a page has several forms; only the one submitted shows it).
 * Forms of one intent on several rows are told apart by their hidden fields (e.g. the user id).
 */
export function feedbackFor(
  result: FormFeedback | undefined,
  intent: string,
  hidden: Record<string, string> = {},
): FormFeedback | undefined {
  if (!result || result.ok || result.intent !== intent) return undefined;
  return Object.entries(hidden).every(([k, v]) => result.values?.[k] === v) ? result : undefined;
}

/** A field's server-side error under the field (linked with aria-describedby by the caller's id). */
export function FieldError({ feedback, name, id }: { feedback?: FormFeedback; name: string; id?: string }) {
  const message = feedback?.fieldErrors?.[name];
  return message ? (
    <div className="field-error" id={id} role="alert" data-field={name}>
      {message}
    </div>
  ) : null;
}

/**
 * An admin action: a POST with a required reason, an explicit confirmation tick, and a hidden idempotency
 * key. The loader mints `pageKey` on every render of the page (so after a completed action the revalidated
 * page carries a new one); resubmitting the same rendered form reuses it and the change happens once.
 * A refused submission comes back with field errors and the values typed (`feedback`): the form is not
 * remounted, and without JavaScript the values are rendered back as defaults.
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
  feedback,
  hidden = {},
  className,
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
  feedback?: FormFeedback;
  /** Hidden fields naming the target (a row's id): part of the idempotency key and of feedback matching. */
  hidden?: Record<string, string>;
  className?: string;
}) {
  const nav = useNavigation();
  const target = Object.values(hidden);
  const busy =
    nav.state !== 'idle' &&
    nav.formData?.get('intent') === intent &&
    Object.entries(hidden).every(([k, v]) => nav.formData?.get(k) === v);
  const own = feedbackFor(feedback, intent, hidden);
  return (
    <Form method="post" action={action} key={formKey} data-intent={intent} className={className}>
      <h3>{title}</h3>
      <input type="hidden" name="intent" value={intent} />
      {Object.entries(hidden).map(([k, v]) => (
        <input key={k} type="hidden" name={k} value={v} />
      ))}
      <input type="hidden" name="idempotencyKey" value={[pageKey, intent, ...target].join(':')} />
      {children}
      <input
        name="reason"
        placeholder="Reason (required)"
        required
        minLength={3}
        maxLength={500}
        aria-label="Reason"
        aria-invalid={own?.fieldErrors?.reason ? true : undefined}
        defaultValue={own?.values?.reason ?? ''}
      />
      <FieldError feedback={own} name="reason" />
      <label className="confirm">
        <input type="checkbox" name="confirm" value="yes" required /> {confirmText}
      </label>
      <FieldError feedback={own} name="confirm" />
      <FieldError feedback={own} name="form" />
      <button type="submit" className={danger ? 'danger' : undefined} disabled={busy}>
        {busy ? 'Working…' : submitLabel}
      </button>
    </Form>
  );
}
