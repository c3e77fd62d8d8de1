import { Link, useLocation } from '@remix-run/react';
import { withParams } from '../lib/params.js';

export function Pager({ page, pageSize, total }: { page: number; pageSize: number; total: number }) {
  const { search } = useLocation();
  const pages = Math.max(1, Math.ceil(total / pageSize));
  return (
    <div className="pager">
      <span>
        {total === 0 ? 'no results' : `${(page - 1) * pageSize + 1}–${Math.min(total, page * pageSize)} of ${total}`}
      </span>
      {page > 1 ? (
        <Link className="button secondary" to={withParams(search, { page: page - 1 })}>
          ← Prev
        </Link>
      ) : null}
      {page < pages ? (
        <Link className="button secondary" to={withParams(search, { page: page + 1 })}>
          Next →
        </Link>
      ) : null}
    </div>
  );
}
