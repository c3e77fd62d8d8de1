import { Form, useSubmit } from '@remix-run/react';
import { useEffect, useRef, type ReactNode } from 'react';

/**
 * A GET form whose state lives in the URL. Without JavaScript it is an ordinary form with a submit button;
 * with it, typing submits after a short pause (replacing the history entry so Back is not a letter-by-letter
 * replay) and the filters submit as soon as they change. Every list it filters is paged, and new filters
 * always start again at page 1, so the form carries that `page` field itself.
 */
export function DebouncedSearchForm({
  children,
  delayMs = 250,
  id,
}: {
  children: ReactNode;
  delayMs?: number;
  id?: string;
}) {
  const submit = useSubmit();
  const timer = useRef<ReturnType<typeof setTimeout>>();
  useEffect(() => () => clearTimeout(timer.current), []);
  return (
    <Form
      method="get"
      id={id}
      className="filters"
      onChange={(e) => {
        const form = e.currentTarget;
        const target = e.target as HTMLInputElement;
        const page = form.elements.namedItem('page');
        if (page instanceof HTMLInputElement) page.value = '1';
        clearTimeout(timer.current);
        const typing = target.type === 'search' || target.type === 'text' || target.type === 'number';
        timer.current = setTimeout(
          () => submit(form, { replace: true, preventScrollReset: true }),
          typing ? delayMs : 0,
        );
      }}
    >
      <input type="hidden" name="page" value="1" />
      {children}
      <noscript>
        <button type="submit">Apply</button>
      </noscript>
    </Form>
  );
}
