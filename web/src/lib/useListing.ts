// useListing: the state of one server-paginated, sortable, searchable listing and its fetch.
// Every change of page, sort, search or `refreshKey` sends one request; a newer request aborts
// the older one, so a slow answer never overwrites a newer one.
import { useCallback, useEffect, useRef, useState } from "react";
import { listPage, type Query } from "../api/client";
import type { SortState } from "../components/DataGrid";

export interface ListingState {
  skip: number;
  limit: number;
  sort: SortState | null;
  q: string;
}

export interface Listing<T> extends ListingState {
  rows: T[];
  total: number | null;
  loading: boolean;
  error: string | null;
  setPage: (skip: number, limit: number) => void;
  setSort: (sort: SortState) => void;
  setQuery: (q: string) => void;
  reload: () => void;
}

export function useListing<T>(
  path: string | null,
  extra: Query = {},
  initial: Partial<ListingState> = {},
  refreshKey: unknown = 0,
): Listing<T> {
  const [state, setState] = useState<ListingState>({ skip: 0, limit: 50, sort: null, q: "", ...initial });
  const [rows, setRows] = useState<T[]>([]);
  const [total, setTotal] = useState<number | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  const extraKey = JSON.stringify(extra);
  const controller = useRef<AbortController | null>(null);

  useEffect(() => {
    if (path === null) return;
    controller.current?.abort();
    const ac = new AbortController();
    controller.current = ac;
    setLoading(true);
    const query: Query = {
      ...JSON.parse(extraKey),
      skip: state.skip,
      limit: state.limit,
      q: state.q || undefined,
      sort: state.sort?.field,
      order: state.sort?.order,
    };
    listPage<T>(path, query, ac.signal)
      .then((page) => {
        if (ac.signal.aborted) return;
        setRows(page.rows);
        setTotal(page.total);
        setError(null);
      })
      .catch((err: Error) => {
        if (ac.signal.aborted || err.name === "AbortError") return;
        setError(err.message);
      })
      .finally(() => {
        if (!ac.signal.aborted) setLoading(false);
      });
    return () => ac.abort();
  }, [path, extraKey, state, tick, refreshKey]);

  const setPage = useCallback((skip: number, limit: number) => setState((s) => ({ ...s, skip, limit })), []);
  const setSort = useCallback((sort: SortState) => setState((s) => ({ ...s, sort, skip: 0 })), []);
  const setQuery = useCallback((q: string) => setState((s) => (s.q === q ? s : { ...s, q, skip: 0 })), []);
  const reload = useCallback(() => setTick((t) => t + 1), []);

  return { ...state, rows, total, loading, error, setPage, setSort, setQuery, reload };
}

// A value that follows `value` after it has stopped changing for `ms` (for search boxes).
export function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return settled;
}
