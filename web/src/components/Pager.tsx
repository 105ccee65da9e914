// Pager: offset paging controls for a server-paginated listing.
export interface PagerProps {
  skip: number;
  limit: number;
  total: number | null; // null when the server does not report it
  shown: number; // rows on this page
  onChange: (skip: number, limit: number) => void;
  label: string;
}

export const PAGE_SIZES = [25, 50, 100, 250, 1000];

export function Pager({ skip, limit, total, shown, onChange, label }: PagerProps) {
  const page = Math.floor(skip / limit) + 1;
  const pages = total === null ? null : Math.max(1, Math.ceil(total / limit));
  const hasNext = total === null ? shown === limit : skip + limit < total;
  const from = shown === 0 ? 0 : skip + 1;
  const to = skip + shown;
  return (
    <nav className="pager" aria-label={`${label} pages`}>
      <button type="button" onClick={() => onChange(0, limit)} disabled={skip === 0} aria-label="First page">
        «
      </button>
      <button type="button" onClick={() => onChange(Math.max(0, skip - limit), limit)} disabled={skip === 0} aria-label="Previous page">
        ‹ Prev
      </button>
      <span className="pager-status" aria-live="polite">
        {from.toLocaleString()}–{to.toLocaleString()}
        {total !== null && <> of {total.toLocaleString()}</>} · page {page}
        {pages !== null && <> of {pages.toLocaleString()}</>}
      </span>
      <button type="button" onClick={() => onChange(skip + limit, limit)} disabled={!hasNext} aria-label="Next page">
        Next ›
      </button>
      {pages !== null && (
        <button type="button" onClick={() => onChange((pages - 1) * limit, limit)} disabled={!hasNext} aria-label="Last page">
          »
        </button>
      )}
      <label className="pager-size">
        Rows per page
        <select value={limit} onChange={(e) => onChange(0, Number(e.target.value))}>
          {PAGE_SIZES.map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
      </label>
    </nav>
  );
}
