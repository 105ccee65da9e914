// The lake's Iceberg snapshots (GET /analytics/snapshots): each lake commit still readable
// through Iceberg, newest first, with its time and what it changed in which table; choosing a
// table of a snapshot shows its rows as of that snapshot (the as-of API with as_of_snapshot).
import { useEffect, useMemo, useState } from "react";
import { api, listPage } from "../api/client";
import { type Row } from "../api/schema";
import { DataGrid, type GridColumn } from "../components/DataGrid";
import { formatValue } from "../lib/format";
import { useLakeRefresh } from "../lib/live";

export interface TableChange {
  table: string;
  snapshot_id: string;
  operation: string;
  added_rows: number;
  deleted_rows: number;
  rows: number;
  complete: boolean;
}

export interface LakeSnapshot {
  lake_version: number;
  commit_time: string | null;
  written_at: string;
  lsn: string;
  end_lsn: string;
  snapshots: Record<string, string>;
  changes: TableChange[];
}

// The as-of API reads the operational tables from their change logs and the dimensions as they
// are: the Iceberg tables a reader can ask for, by the as-of table they stand for.
const kReadable: Record<string, string> = {
  students_dim: "students_dim",
  professors_dim: "professors_dim",
  courses_dim: "courses_dim",
  students_changes: "students",
  professors_changes: "professors",
  courses_changes: "courses",
  takes_changes: "takes",
  teaches_changes: "teaches",
};
const kWatched = Object.keys(kReadable).concat(["course_enrollment_fact"]);

export function changeLabel(c: TableChange): string {
  if (c.operation === "replace" && c.added_rows === 0 && c.deleted_rows === 0) return "compacted";
  const parts = [];
  if (c.added_rows) parts.push(`+${c.added_rows}`);
  if (c.deleted_rows) parts.push(`−${c.deleted_rows}`);
  return (parts.join(" ") || "no rows") + (c.complete ? "" : " (partly expired)");
}

export function SnapshotsTab() {
  const [points, setPoints] = useState<LakeSnapshot[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [chosen, setChosen] = useState<{ table: string; snapshot: string; version: number } | null>(null);
  const refresh = useLakeRefresh(kWatched);
  const pointColumns = useMemo<GridColumn<LakeSnapshot>[]>(
    () => [
      { key: "lake_version", label: "Lake version", numeric: true },
      { key: "commit_time", label: "Committed", render: (p) => (p.commit_time ? formatValue(p.commit_time) : "—") },
      { key: "lsn", label: "LSN", render: (p) => <code>{p.lsn}</code> },
      {
        key: "changes",
        label: "Changed",
        render: (p) =>
          p.changes.length === 0 ? (
            <span className="muted">nothing (a compaction of the lake)</span>
          ) : (
            <ul className="plain">
              {p.changes.map((c) => (
                <li key={c.table}>
                  {kReadable[c.table] ? (
                    <button
                      type="button"
                      className="link"
                      title={`snapshot ${c.snapshot_id}`}
                      aria-pressed={chosen?.snapshot === c.snapshot_id && chosen?.table === c.table}
                      onClick={() => setChosen({ table: c.table, snapshot: c.snapshot_id, version: p.lake_version })}
                    >
                      {c.table}
                    </button>
                  ) : (
                    <span title={`snapshot ${c.snapshot_id}`}>{c.table}</span>
                  )}{" "}
                  <span className="muted">
                    {changeLabel(c)} · {c.operation} · {c.rows} rows
                  </span>
                </li>
              ))}
            </ul>
          ),
      },
    ],
    [chosen],
  );

  useEffect(() => {
    const ac = new AbortController();
    api
      .get<LakeSnapshot[]>("/analytics/snapshots", undefined, ac.signal)
      .then((p) => {
        setPoints(p);
        setError(null);
      })
      .catch((err: Error) => err.name !== "AbortError" && setError(err.message));
    return () => ac.abort();
  }, [refresh]);

  return (
    <div>
      <p className="muted">
        Every lake commit the Iceberg tables still hold (one per second for the last minute, per minute for the hour, per hour
        for the day, per day for the retention). Choose a table of a snapshot to see it as of that snapshot.
      </p>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {points && points.length === 0 && <p className="muted">The lake has no Iceberg snapshots yet.</p>}
      {points && points.length > 0 && (
        <DataGrid columns={pointColumns} rows={points} label="Lake snapshots" rowKey={(p) => String(p.lake_version)} />
      )}
      {chosen && <SnapshotRows key={`${chosen.table}@${chosen.snapshot}`} {...chosen} />}
    </div>
  );
}

function SnapshotRows({ table, snapshot, version }: { table: string; snapshot: string; version: number }) {
  const [rows, setRows] = useState<Row[]>([]);
  const [total, setTotal] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const asOf = kReadable[table];
  useEffect(() => {
    const ac = new AbortController();
    listPage<Row>(`/analytics/as-of/${asOf}`, { as_of_snapshot: snapshot, limit: 100 }, ac.signal)
      .then((p) => {
        setRows(p.rows);
        setTotal(p.total);
        setError(null);
      })
      .catch((err: Error) => err.name !== "AbortError" && setError(err.message));
    return () => ac.abort();
  }, [asOf, snapshot]);
  const columns = useMemo<GridColumn<Row>[]>(() => {
    const keys: string[] = [];
    for (const r of rows.slice(0, 50)) for (const k of Object.keys(r)) if (!keys.includes(k)) keys.push(k);
    return keys.map((k) => ({ key: k, label: k }));
  }, [rows]);
  return (
    <section aria-label={`${asOf} as of snapshot ${snapshot}`}>
      <h2>
        {asOf} as of lake version {version} <small className="muted">(snapshot {snapshot})</small>
      </h2>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <p className="muted">{total === null ? "" : `${total} rows${total > rows.length ? `, the first ${rows.length} shown` : ""}`}</p>
      <DataGrid columns={columns} rows={rows} label={`${asOf} as of snapshot ${snapshot}`} />
    </section>
  );
}
