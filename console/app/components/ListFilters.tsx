// The pieces every filtered list page repeats: a search field, a choice among known values, a date range, the CSV export of
// the current view. Each reads its current value from the URL, where the page keeps its whole state.
import { useLocation, useSearchParams } from '@remix-run/react';

/** A `<select>` named `name` offering `options`, plus an empty choice (`anyLabel`) that means no filter. */
export function SelectFilter({
  label,
  name,
  options,
  anyLabel = 'all',
}: {
  label: string;
  name: string;
  options: readonly string[];
  anyLabel?: string;
}) {
  const [params] = useSearchParams();
  return (
    <label>
      {label}
      <select name={name} defaultValue={params.get(name) ?? ''}>
        <option value="">{anyLabel}</option>
        {options.map((o) => (
          <option key={o}>{o}</option>
        ))}
      </select>
    </label>
  );
}

/** A free-text search field: typing submits after the form's pause (see DebouncedSearchForm). */
export function SearchFilter({
  label,
  name,
  placeholder,
  ariaLabel,
  autoFocus,
}: {
  label: string;
  name: string;
  placeholder: string;
  ariaLabel?: string;
  autoFocus?: boolean;
}) {
  const [params] = useSearchParams();
  return (
    <label>
      {label}
      <input
        type="search"
        name={name}
        defaultValue={params.get(name) ?? ''}
        placeholder={placeholder}
        aria-label={ariaLabel}
        autoFocus={autoFocus}
      />
    </label>
  );
}

/** `from` and `to` as `YYYY-MM-DD` days (the loaders read them with `day()` from lib/params). */
export function DateRangeFilter() {
  const [params] = useSearchParams();
  return (
    <>
      <label>
        From
        <input type="date" name="from" defaultValue={params.get('from') ?? ''} />
      </label>
      <label>
        To
        <input type="date" name="to" defaultValue={params.get('to') ?? ''} />
      </label>
    </>
  );
}

/** The CSV route `path` with this page's query string, so the file holds exactly the rows the filters show. */
export function ExportCsvLink({ path }: { path: string }) {
  const { search } = useLocation();
  return (
    <a className="button secondary" href={`${path}${search}`} download>
      Export CSV
    </a>
  );
}
