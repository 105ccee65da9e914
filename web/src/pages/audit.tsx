// Audit: who changed what — every change of the operational tables from the lake's change logs,
// filtered by user, origin, table, kind, record and time, newest first, with a CSV download made
// by the server (GET /analytics/audit and /analytics/audit.csv; admins only). Refreshes at each
// lake commit.
import { useEffect, useMemo, useState } from "react";
import { api, buildUrl, type Query } from "../api/client";
import type { Row } from "../api/schema";
import { DataGrid, type GridColumn } from "../components/DataGrid";
import { LiveBadge } from "../components/LiveBadge";
import { Pager } from "../components/Pager";
import { actorLabel, originLabel } from "../lib/actor";
import { formatValue, humanize } from "../lib/format";
import { useLakeRefresh } from "../lib/live";
import { useDebounced, useListing } from "../lib/useListing";
import { ErrorNote } from "../components/ErrorNote";

export interface AuditFilters {
  user: string;
  origin: string;
  table: string;
  op: string;
  record: string;
  from: string; // a datetime-local value (the browser's zone), or ""
  to: string;
}

export const kNoFilters: AuditFilters = { user: "", origin: "", table: "", op: "", record: "", from: "", to: "" };

const ORIGINS = ["portal", "simulator", "cli", "snapshot", "database"].map((o) => ({ key: o, label: o }));
const TABLES = [
  { key: "students", label: "Students" },
  { key: "professors", label: "Professors" },
  { key: "courses", label: "Courses" },
  { key: "takes", label: "Enrollments (takes)" },
  { key: "teaches", label: "Assignments (teaches)" },
];
const OPS = [
  { key: "c", label: "Insert" },
  { key: "u", label: "Update" },
  { key: "d", label: "Delete" },
  { key: "r", label: "Snapshot" },
  { key: "t", label: "Truncate" },
];

// A datetime-local value as an ISO instant, or undefined when empty or not a time.
function instant(local: string): string | undefined {
  if (!local) return undefined;
  const ms = Date.parse(local);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

// The API's query for `filters` (empty ones left out).
export function auditQuery(filters: AuditFilters): Query {
  return {
    user: filters.user.trim() || undefined,
    origin: filters.origin || undefined,
    table: filters.table || undefined,
    op: filters.op || undefined,
    record: filters.record.trim() || undefined,
    from: instant(filters.from),
    to: instant(filters.to),
  };
}

// "S1" or "S1 / PHY101 / Fall 2026": the changed row's key values (for rows without the
// server's `record`).
export function recordText(key: unknown): string {
  if (!key || typeof key !== "object") return "";
  return Object.values(key as Record<string, unknown>)
    .filter((v) => v !== null && v !== undefined)
    .map((v) => formatValue(v))
    .join(" / ");
}

interface Change {
  field: string;
  old: unknown;
  new: unknown;
}

function ChangeList({ changes }: { changes: unknown }) {
  const list = Array.isArray(changes) ? (changes as Change[]) : [];
  if (list.length === 0) return <span className="muted">–</span>;
  return (
    <ul className="changes compact">
      {list.map((c) => (
        <li key={c.field}>
          <span className="field-name">{humanize(c.field)}</span>: {c.old === null ? <span className="muted">∅</span> : <del>{formatValue(c.old)}</del>} →{" "}
          {c.new === null ? <span className="muted">∅</span> : <ins>{formatValue(c.new)}</ins>}
        </li>
      ))}
    </ul>
  );
}

// A filter that picks one of `options`, or any.
function Choice(props: { id: string; label: string; value: string; options: { key: string; label: string }[]; onChange: (e: { target: { value: string } }) => void }) {
  return (
    <div className="field">
      <label htmlFor={props.id}>{props.label}</label>
      <select id={props.id} value={props.value} onChange={props.onChange}>
        <option value="">Any</option>
        {props.options.map((o) => (
          <option key={o.key} value={o.key}>
            {o.label}
          </option>
        ))}
      </select>
    </div>
  );
}

const COLUMNS: GridColumn<Row>[] = [
  { key: "commit_time", label: "Committed" },
  {
    key: "changed_by",
    label: "Changed by",
    render: (r) => <span data-testid="audit-actor">{actorLabel(r.changed_by, r.origin)}</span>,
  },
  { key: "origin", label: "Origin", render: (r) => (originLabel(r.origin) ? <span className="badge origin">{originLabel(r.origin)}</span> : "") },
  { key: "table", label: "Table" },
  { key: "operation", label: "Operation" },
  { key: "record", label: "Record", render: (r) => <span className="mono">{typeof r.record === "string" ? r.record : recordText(r.key)}</span> },
  { key: "changes", label: "Changes", render: (r) => <ChangeList changes={r.changes} /> },
  { key: "lsn", label: "Commit LSN", render: (r) => <span className="mono">{formatValue(r.lsn)}</span> },
];

// The change logs the audit reads.
const kChangeViews = ["students", "professors", "courses", "takes", "teaches"].map((t) => `${t}_changes`);

export function AuditPage() {
  const changed = useLakeRefresh(kChangeViews);
  const [draft, setDraft] = useState<AuditFilters>(kNoFilters);
  const filters = useDebounced(draft, 300);
  const query = useMemo(() => auditQuery(filters), [filters]);
  const listing = useListing<Row>("/analytics/audit", query, { limit: 50 }, changed);
  const queryKey = JSON.stringify(query);
  const { skip, limit, setPage } = listing;
  // New filters start again from the first page.
  useEffect(() => {
    if (skip !== 0) setPage(0, limit);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [queryKey]);
  const [actors, setActors] = useState<Row[]>([]);
  useEffect(() => {
    const ac = new AbortController();
    api
      .get<Row[]>("/analytics/audit/actors", undefined, ac.signal)
      .then((rows) => setActors(Array.isArray(rows) ? rows : []))
      .catch(() => undefined);
    return () => ac.abort();
  }, [changed]);
  const users = useMemo(
    () => [...new Set(actors.map((a) => a.changed_by).filter((u): u is string => typeof u === "string" && u !== ""))].sort(),
    [actors],
  );
  const set = (field: keyof AuditFilters) => (e: { target: { value: string } }) => setDraft((d) => ({ ...d, [field]: e.target.value }));

  return (
    <section aria-labelledby="audit-title">
      <div className="page-head">
        <h1 id="audit-title">Audit trail</h1>
        <LiveBadge />
      </div>
      <p className="muted">
        Every change of the operational records, with who made it: a signed-in user through the portal, the activity simulator, the command line, the initial snapshot,
        or someone working on the database outside MigsbyU.
      </p>
      <form className="toolbar" aria-label="Filter the audit trail" onSubmit={(e) => e.preventDefault()}>
        <div className="field">
          <label htmlFor="audit-user">User</label>
          <input id="audit-user" list="audit-users" value={draft.user} onChange={set("user")} />
          <datalist id="audit-users">
            {users.map((u) => (
              <option key={u} value={u} />
            ))}
          </datalist>
        </div>
        <Choice id="audit-origin" label="Origin" value={draft.origin} options={ORIGINS} onChange={set("origin")} />
        <Choice id="audit-table" label="Table" value={draft.table} options={TABLES} onChange={set("table")} />
        <Choice id="audit-op" label="Operation" value={draft.op} options={OPS} onChange={set("op")} />
        <div className="field">
          <label htmlFor="audit-record">Record</label>
          <input id="audit-record" value={draft.record} placeholder="an id" onChange={set("record")} />
        </div>
        <div className="field">
          <label htmlFor="audit-from">From</label>
          <input id="audit-from" type="datetime-local" step={1} value={draft.from} onChange={set("from")} />
        </div>
        <div className="field">
          <label htmlFor="audit-to">To</label>
          <input id="audit-to" type="datetime-local" step={1} value={draft.to} onChange={set("to")} />
        </div>
        <button type="button" onClick={() => setDraft(kNoFilters)}>
          Clear
        </button>
        <a className="button" href={buildUrl("/analytics/audit.csv", query)} download="migsbyu-audit.csv">
          Download CSV
        </a>
      </form>
      <ErrorNote message={listing.error} />
      <DataGrid label="Audit trail" columns={COLUMNS} rows={listing.rows} loading={listing.loading} rowKey={(r, i) => `${formatValue(r.lsn)}:${formatValue(r.position)}:${i}`} empty="No change matches." />
      <Pager label="Audit trail" skip={listing.skip} limit={listing.limit} total={listing.total} shown={listing.rows.length} onChange={listing.setPage} />
    </section>
  );
}
