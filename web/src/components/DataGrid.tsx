// DataGrid: the one table component. Sorting and paging happen on the server (the grid only
// reports clicks), so a table of 100,000 rows costs one page of DOM. Pages above
// kVirtualizeAbove rows (SQL results, big pages) render only the rows in view.
import { useMemo, useRef, type ReactNode } from "react";
import {
  flexRender,
  getCoreRowModel,
  useReactTable,
  type ColumnDef,
} from "@tanstack/react-table";
import { useVirtualizer } from "@tanstack/react-virtual";
import { formatValue } from "../lib/format";

export const kVirtualizeAbove = 200;
const kRowHeight = 34;

export interface GridColumn<T> {
  key: string;
  label: string;
  sortable?: boolean;
  render?: (row: T) => ReactNode;
  numeric?: boolean;
}

export interface SortState {
  field: string;
  order: "asc" | "desc";
}

export interface DataGridProps<T> {
  columns: GridColumn<T>[];
  rows: T[];
  label: string; // accessible name of the table
  sort?: SortState | null;
  onSort?: (next: SortState) => void;
  rowKey?: (row: T, index: number) => string;
  rowClass?: (row: T) => string | undefined;
  actions?: (row: T) => ReactNode;
  loading?: boolean;
  empty?: ReactNode;
  maxHeight?: number;
}

// The next sort after clicking `field`: a new field sorts ascending, the same field flips.
export function nextSort(current: SortState | null | undefined, field: string): SortState {
  if (current?.field === field) return { field, order: current.order === "asc" ? "desc" : "asc" };
  return { field, order: "asc" };
}

export function DataGrid<T>(props: DataGridProps<T>) {
  const { columns, rows, sort, onSort, actions, rowClass, loading } = props;
  const defs = useMemo<ColumnDef<T>[]>(() => {
    const base: ColumnDef<T>[] = columns.map((c) => ({
      id: c.key,
      header: c.label,
      cell: ({ row }) =>
        c.render ? c.render(row.original) : formatValue((row.original as Record<string, unknown>)[c.key]),
      meta: c,
    }));
    if (actions) base.push({ id: "__actions", header: "Actions", cell: ({ row }) => actions(row.original) });
    return base;
  }, [columns, actions]);

  const table = useReactTable({
    data: rows,
    columns: defs,
    getCoreRowModel: getCoreRowModel(),
    manualSorting: true,
    manualPagination: true,
    getRowId: props.rowKey ? (row, i) => props.rowKey!(row, i) : undefined,
  });

  const scrollRef = useRef<HTMLDivElement>(null);
  const tableRows = table.getRowModel().rows;
  const virtual = tableRows.length > kVirtualizeAbove;
  const virtualizer = useVirtualizer({
    count: virtual ? tableRows.length : 0,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => kRowHeight,
    overscan: 12,
  });
  const items = virtual ? virtualizer.getVirtualItems() : [];
  const visible = virtual ? items.map((v) => tableRows[v.index]) : tableRows;
  const padTop = virtual && items.length ? items[0].start : 0;
  const padBottom = virtual && items.length ? virtualizer.getTotalSize() - items[items.length - 1].end : 0;
  const colCount = defs.length;

  return (
    <div
      className={`grid-scroll${loading ? " is-loading" : ""}`}
      ref={scrollRef}
      style={{ maxHeight: props.maxHeight ?? (virtual ? 560 : undefined) }}
      aria-busy={loading || undefined}
    >
      <table className="grid" aria-label={props.label} aria-rowcount={rows.length + 1}>
        <thead>
          {table.getHeaderGroups().map((group) => (
            <tr key={group.id}>
              {group.headers.map((header) => {
                const meta = header.column.columnDef.meta as GridColumn<T> | undefined;
                const sortable = !!(meta?.sortable && onSort);
                const active = sort?.field === header.id;
                const ariaSort = active ? (sort!.order === "asc" ? "ascending" : "descending") : undefined;
                return (
                  <th key={header.id} aria-sort={ariaSort} className={meta?.numeric ? "num" : undefined} scope="col">
                    {sortable ? (
                      <button
                        type="button"
                        className="sort-button"
                        onClick={() => onSort!(nextSort(sort, header.id))}
                        aria-label={`Sort by ${meta!.label}`}
                      >
                        {flexRender(header.column.columnDef.header, header.getContext())}
                        <span aria-hidden="true" className="sort-mark">
                          {active ? (sort!.order === "asc" ? "▲" : "▼") : "↕"}
                        </span>
                      </button>
                    ) : (
                      flexRender(header.column.columnDef.header, header.getContext())
                    )}
                  </th>
                );
              })}
            </tr>
          ))}
        </thead>
        <tbody>
          {padTop > 0 && (
            <tr aria-hidden="true" style={{ height: padTop }}>
              <td colSpan={colCount} />
            </tr>
          )}
          {visible.map((row) => (
            <tr key={row.id} className={rowClass?.(row.original)} style={virtual ? { height: kRowHeight } : undefined}>
              {row.getVisibleCells().map((cell) => {
                const meta = cell.column.columnDef.meta as GridColumn<T> | undefined;
                return (
                  <td key={cell.id} className={meta?.numeric ? "num" : undefined}>
                    {flexRender(cell.column.columnDef.cell, cell.getContext())}
                  </td>
                );
              })}
            </tr>
          ))}
          {padBottom > 0 && (
            <tr aria-hidden="true" style={{ height: padBottom }}>
              <td colSpan={colCount} />
            </tr>
          )}
          {rows.length === 0 && !loading && (
            <tr>
              <td colSpan={colCount} className="empty">
                {props.empty ?? "No rows"}
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}
