// Analytics pages: the SCD Type 2 dimensions with every version (the portal's three, and every
// dimension the lake holds, listed from the lake: a table added to the capture set appears
// there), a record's history, the tables
// as of any instant, the enrollment fact, charts of the aggregates and a SQL console over the
// lake. Every view refetches when a lake commit changes a view it reads (useLakeRefresh: at most
// once a second while commits stream).
import { useCallback, useEffect, useMemo, useState, type FormEvent, type KeyboardEvent, type ReactNode } from "react";
import { api, listPage, type Query } from "../api/client";
import { ENTITIES, PERSONAL_FIELDS, formatField, type Row } from "../api/schema";
import { Chart } from "../components/Chart";
import { ErrorNote } from "../components/ErrorNote";
import { DataGrid, type GridColumn } from "../components/DataGrid";
import { Pager } from "../components/Pager";
import { LiveBadge } from "../components/LiveBadge";
import { Tabs } from "../components/Tabs";
import { SnapshotsTab } from "./snapshots";
import { actorLabel, originLabel } from "../lib/actor";
import { instantAt, parseInstant, positionOf, type TimeRange } from "../lib/asof";
import { downloadText, toCsv } from "../lib/csv";
import { formatValue, humanize } from "../lib/format";
import { useAuth } from "../lib/auth";
import { useLakeRefresh } from "../lib/live";
import { navigate, useLocation } from "../lib/router";
import { useDebounced, useListing } from "../lib/useListing";

const TABS = [
  { key: "students", label: "Students dimension" },
  { key: "professors", label: "Professors dimension" },
  { key: "courses", label: "Courses dimension" },
  { key: "dimensions", label: "All dimensions" },
  { key: "history", label: "History" },
  { key: "as-of", label: "As of" },
  { key: "snapshots", label: "Snapshots" },
  { key: "fact", label: "Enrollment fact" },
  { key: "charts", label: "Charts" },
  { key: "sql", label: "SQL console" },
];
const DIMENSIONS = ["students", "professors", "courses"] as const;
// The lake views (the server's names, as commit events give them) each view reads.
const dimView = (entity: string) => `${entity}_dim`;
const changesView = (table: string) => `${table}_changes`;
const kFactView = "course_enrollment_fact";
const kAllDims = DIMENSIONS.map(dimView);
// The aggregates: enrollments from the fact (departments through courses_dim), GPA and headcount
// from students_dim.
const kChartViews = [kFactView, "courses_dim", "students_dim"];

export function AnalyticsPage({ tab }: { tab: string }) {
  // The SQL console is for the roles with the console permission (analyst, admin).
  const tabs = useAuth().can("console") ? TABS : TABS.filter((t) => t.key !== "sql");
  const active = tabs.some((t) => t.key === tab) ? tab : "students";
  return (
    <section aria-labelledby="an-title">
      <div className="page-head">
        <h1 id="an-title">Analytics lake</h1>
        <LiveBadge />
      </div>
      <Tabs items={tabs} active={active} base="/analytics" label="Analytics views" />
      <div role="tabpanel" aria-labelledby={`tab-${active}`} className="tab-panel">
        {(DIMENSIONS as readonly string[]).includes(active) && <DimensionTab key={active} entity={active} />}
        {active === "dimensions" && <LakeDimensionsTab />}
        {active === "history" && <HistoryTab />}
        {active === "as-of" && <AsOfTab />}
        {active === "snapshots" && <SnapshotsTab />}
        {active === "fact" && <FactTab />}
        {active === "charts" && <ChartsTab />}
        {active === "sql" && <SqlConsole />}
      </div>
    </section>
  );
}

const kTail = ["row_effective_start", "row_effective_end", "current_row_indicator", "is_deleted", "source_lsn", "changed_by", "origin"];

// Attributes in the order the operational forms show them (id, names, ...): JSON objects from
// the server come with their keys sorted, which reads badly.
const kFieldOrder = [...new Set(ENTITIES.flatMap((e) => e.fields.map((f) => f.name)))];
const fieldRank = (k: string) => {
  const i = kFieldOrder.indexOf(k);
  return i < 0 ? kFieldOrder.length : i;
};

// Grid columns for rows whose keys are known only at run time: keys first, then the attributes
// in the forms' order, SCD bookkeeping last.
// `sortable`: every column, except the personal ones when `masked` (the server refuses those).
export function columnsFor(rows: Row[], sortable: boolean, masked = false): GridColumn<Row>[] {
  const keys: string[] = [];
  for (const r of rows.slice(0, 50)) for (const k of Object.keys(r)) if (!keys.includes(k)) keys.push(k);
  const head = keys.filter((k) => k.endsWith("_key"));
  const body = keys
    .filter((k) => !head.includes(k) && !kTail.includes(k))
    .sort((a, b) => fieldRank(a) - fieldRank(b));
  const tail = kTail.filter((k) => keys.includes(k));
  return [...head, ...body, ...tail].map((k) => ({
    key: k,
    label: humanize(k),
    sortable: sortable && !(masked && PERSONAL_FIELDS.includes(k)),
    numeric: rows.some((r) => typeof r[k] === "number") && !k.endsWith("_key"),
    render:
      k === "current_row_indicator"
        ? (r: Row) => <span className={r[k] === "yes" ? "badge current" : "badge"}>{String(r[k])}</span>
        : k === "is_deleted"
          ? (r: Row) => (r[k] === true || r[k] === "true" ? <span className="badge deleted">deleted</span> : "")
          : (r: Row) => formatField(k, r[k]),
  }));
}

const isCurrent = (r: Row) => r.current_row_indicator === "yes";

// One dimension the lake holds (GET /analytics/lake-dimensions).
interface LakeDimension {
  entity: string;
  table: string;
  view: string;
  key_column: string;
  portal: boolean;
  columns: string[];
  versions: number;
  current_versions: number;
}

const kLakeDimColumns: GridColumn<LakeDimension>[] = [
  { key: "view", label: "Dimension" },
  { key: "table", label: "Table", render: (d) => (d.portal ? d.table : `${d.table} (captured table)`) },
  { key: "key_column", label: "Surrogate key" },
  { key: "versions", label: "Versions", numeric: true },
  { key: "current_versions", label: "Current", numeric: true },
];

// Every dimension in the lake, read from the lake itself, and the versions of the one chosen.
function LakeDimensionsTab() {
  const [dims, setDims] = useState<LakeDimension[]>([]);
  const [error, setError] = useState<string | null>(null);
  const loc = useLocation();
  const chosen = loc.params.get("view") ?? "";
  // Any dimension's commit, a new one's too.
  const commits = useLakeRefresh(["*_dim"]);
  useEffect(() => {
    const ac = new AbortController();
    api
      .get<LakeDimension[]>("/analytics/lake-dimensions", undefined, ac.signal)
      .then((d) => {
        setDims(d);
        setError(null);
      })
      .catch((err: Error) => {
        if (err.name !== "AbortError") setError(err.message);
      });
    return () => ac.abort();
  }, [commits]);
  const selected = dims.find((d) => d.view === chosen);
  return (
    <div>
      <ErrorNote message={error} />
      <DataGrid
        label="Dimensions in the lake"
        columns={kLakeDimColumns}
        rows={dims}
        rowKey={(d) => d.view}
        rowClass={(d) => (d.view === chosen ? "current-row" : undefined)}
        actions={(d) => (
          <button type="button" onClick={() => navigate(`/analytics/dimensions?view=${encodeURIComponent(d.view)}`)}>
            Versions
          </button>
        )}
        empty="No dimensions yet."
      />
      {selected && (
        <>
          <h2>{selected.view}</h2>
          {selected.portal ? (
            <DimensionTab key={selected.view} entity={selected.entity} />
          ) : (
            <CapturedDimensionGrid key={selected.view} dim={selected} />
          )}
        </>
      )}
    </div>
  );
}

// The versions of a captured table's dimension: like DimensionTab, without the id filter and
// the history (the table has no id column of the contract).
function CapturedDimensionGrid({ dim }: { dim: LakeDimension }) {
  const commits = useLakeRefresh([dim.view]);
  const [currentOnly, setCurrentOnly] = useState(false);
  const listing = useListing<Row>(`/analytics/dimensions/${encodeURIComponent(dim.entity)}`, { current: currentOnly ? "true" : undefined }, {}, commits);
  const columns = useMemo(() => columnsFor(listing.rows, true), [listing.rows]);
  return (
    <div>
      <div className="toolbar">
        <label className="check">
          <input type="checkbox" checked={currentOnly} onChange={(e) => setCurrentOnly(e.target.checked)} /> Current rows only
        </label>
      </div>
      <ErrorNote message={listing.error} />
      <DataGrid
        label={`${dim.view} versions`}
        columns={columns}
        rows={listing.rows}
        sort={listing.sort}
        onSort={listing.setSort}
        loading={listing.loading}
        rowKey={(r, i) => String(r[dim.key_column] ?? i)}
        rowClass={(r) => (isCurrent(r) ? "current-row" : undefined)}
        empty="No versions yet."
      />
      <Pager label={`${dim.view} versions`} skip={listing.skip} limit={listing.limit} total={listing.total} shown={listing.rows.length} onChange={listing.setPage} />
    </div>
  );
}

function DimensionTab({ entity }: { entity: string }) {
  const commits = useLakeRefresh([dimView(entity)]);
  const [filter, setFilter] = useState("");
  const [currentOnly, setCurrentOnly] = useState(false);
  const q = useDebounced(filter.trim(), 250);
  const listing = useListing<Row>(`/analytics/dimensions/${entity}`, { current: currentOnly ? "true" : undefined }, {}, commits);
  const { setQuery } = listing;
  useEffect(() => setQuery(q), [q, setQuery]);
  const masked = !useAuth().me?.pii;
  const columns = useMemo(() => columnsFor(listing.rows, true, masked), [listing.rows, masked]);
  return (
    <div>
      <div className="toolbar">
        <div className="search">
          <label htmlFor={`dim-filter-${entity}`}>Filter by id or name</label>
          <input id={`dim-filter-${entity}`} type="search" value={filter} onChange={(e) => setFilter(e.target.value)} placeholder="id or name" />
        </div>
        <label className="check">
          <input type="checkbox" checked={currentOnly} onChange={(e) => setCurrentOnly(e.target.checked)} /> Current rows only
        </label>
        <span className="muted legend">
          <span className="badge current">yes</span> marks each record's current version
        </span>
      </div>
      <ErrorNote message={listing.error} />
      <DataGrid
        label={`${entity} dimension`}
        columns={columns}
        rows={listing.rows}
        sort={listing.sort}
        onSort={listing.setSort}
        loading={listing.loading}
        rowKey={(r, i) => String(Object.entries(r).find(([k]) => k.endsWith("_key"))?.[1] ?? i)}
        rowClass={(r) => (isCurrent(r) ? "current-row" : undefined)}
        actions={(r) => (
          <button type="button" onClick={() => navigate(`/analytics/history?entity=${entity}&id=${encodeURIComponent(String(r.id))}`)}>
            History
          </button>
        )}
        empty="No versions yet."
      />
      <Pager label={`${entity} dimension`} skip={listing.skip} limit={listing.limit} total={listing.total} shown={listing.rows.length} onChange={listing.setPage} />
    </div>
  );
}

interface Change {
  field: string;
  old: unknown;
  new: unknown;
}
interface HistoryVersion extends Row {
  changes?: Change[];
}
interface History {
  entity: string;
  id: string;
  versions: HistoryVersion[];
}

const kBookkeeping = new Set(["changes", "operation", "commit_time", "lsn", "deleted_at", "deleted_by", "deleted_origin", ...kTail]);

function HistoryTab() {
  const loc = useLocation();
  const entity = loc.params.get("entity") ?? "students";
  const commits = useLakeRefresh([dimView(entity), changesView(entity)]);
  const id = loc.params.get("id") ?? "";
  const [draft, setDraft] = useState({ entity, id });
  const [history, setHistory] = useState<History | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => setDraft({ entity, id }), [entity, id]);
  useEffect(() => {
    if (!id) return setHistory(null);
    const ac = new AbortController();
    api
      .get<History>(`/analytics/history/${entity}/${encodeURIComponent(id)}`, undefined, ac.signal)
      .then((h) => {
        setHistory(h);
        setError(null);
      })
      .catch((err: Error) => {
        if (err.name !== "AbortError") {
          setError(err.message);
          setHistory(null);
        }
      });
    return () => ac.abort();
  }, [entity, id, commits]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    navigate(`/analytics/history?entity=${draft.entity}&id=${encodeURIComponent(draft.id.trim())}`);
  };

  return (
    <div>
      <form className="toolbar" onSubmit={submit} aria-label="Find a record's history">
        <div className="field">
          <label htmlFor="history-entity">Entity</label>
          <select id="history-entity" value={draft.entity} onChange={(e) => setDraft((d) => ({ ...d, entity: e.target.value }))}>
            {DIMENSIONS.map((d) => (
              <option key={d} value={d}>
                {humanize(d)}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="history-id">Record id</label>
          <input id="history-id" value={draft.id} onChange={(e) => setDraft((d) => ({ ...d, id: e.target.value }))} />
        </div>
        <button type="submit" className="primary">
          Show history
        </button>
      </form>
      <ErrorNote message={error} />
      {history && <Timeline history={history} />}
      {!id && <p className="muted">Choose a record, or press “History” on a dimension row.</p>}
    </div>
  );
}

export function Timeline({ history }: { history: History }) {
  const versions = history.versions ?? [];
  if (versions.length === 0) return <p className="muted">No versions of {history.id} in the lake yet.</p>;
  return (
    <ol className="timeline" aria-label={`History of ${history.entity} ${history.id}`}>
      {versions.map((v, i) => {
        const deleted = v.is_deleted === true || v.is_deleted === "true" || (v.deleted_at !== undefined && v.deleted_at !== null);
        const start = parseInstant(v.row_effective_start);
        const changes = (v.changes ?? []).filter((c) => !kBookkeeping.has(c.field));
        const attributes = Object.entries(v).filter(([k]) => !kBookkeeping.has(k) && !k.endsWith("_key"));
        return (
          <li key={i} className={`version${isCurrent(v) ? " current" : ""}${deleted ? " deleted" : ""}`}>
            <div className="version-head">
              <strong>Version {i + 1}</strong>
              {typeof v.operation === "string" && <span className="badge">{v.operation}</span>}
              {isCurrent(v) && <span className="badge current">current</span>}
              {deleted && <span className="badge deleted">deleted{v.deleted_at ? ` ${formatValue(v.deleted_at)}` : ""}</span>}
              <span className="who" data-testid="version-actor">
                by <strong>{actorLabel(v.changed_by, v.origin)}</strong>
                {originLabel(v.origin) && <span className="badge origin">{originLabel(v.origin)}</span>}
              </span>
              {deleted && (v.deleted_by != null || v.deleted_origin != null) && (
                <span className="who" data-testid="version-deleted-by">
                  deleted by <strong>{actorLabel(v.deleted_by, v.deleted_origin)}</strong>
                </span>
              )}
              <span className="muted">
                {formatValue(v.row_effective_start)} → {formatValue(v.row_effective_end) || "now"}
              </span>
              {(v.lsn ?? v.source_lsn) !== undefined && <span className="muted mono">LSN {formatValue(v.lsn ?? v.source_lsn)}</span>}
              {start !== null && (
                <button
                  type="button"
                  className="link"
                  onClick={() =>
                    navigate(`/analytics/as-of?table=${history.entity}&q=${encodeURIComponent(history.id)}&at=${encodeURIComponent(new Date(start).toISOString())}`)
                  }
                >
                  See the table as of then
                </button>
              )}
            </div>
            {changes.length > 0 && i > 0 ? (
              <ul className="changes" aria-label={`Changes in version ${i + 1}`}>
                {changes.map((c) => (
                  <li key={c.field}>
                    <span className="field-name">{humanize(c.field)}</span>: <del>{formatField(c.field, c.old)}</del> → <ins>{formatField(c.field, c.new)}</ins>
                  </li>
                ))}
              </ul>
            ) : i === 0 ? (
              <dl className="attributes">
                {attributes.map(([k, val]) => (
                  <div key={k}>
                    <dt>{humanize(k)}</dt>
                    <dd>{formatField(k, val)}</dd>
                  </div>
                ))}
              </dl>
            ) : (
              <p className="muted">{deleted ? "Record deleted." : "No attribute changed."}</p>
            )}
          </li>
        );
      })}
    </ol>
  );
}

const kSteps = 1000;
const AS_OF_TABLES = [
  { key: "students", label: "Students", dimension: true },
  { key: "professors", label: "Professors", dimension: true },
  { key: "courses", label: "Courses", dimension: true },
  { key: "takes", label: "Enrollments (takes)", dimension: false },
  { key: "teaches", label: "Assignments (teaches)", dimension: false },
];

// The earliest change the lake holds: the first version of any dimension.
async function earliestChange(signal: AbortSignal): Promise<number | null> {
  const firsts = await Promise.all(
    DIMENSIONS.map((d) =>
      listPage<Row>(`/analytics/dimensions/${d}`, { sort: "row_effective_start", order: "asc", limit: 1 }, signal)
        .then((p) => parseInstant(p.rows[0]?.row_effective_start))
        .catch(() => null),
    ),
  );
  const known = firsts.filter((v): v is number => v !== null);
  return known.length ? Math.min(...known) : null;
}

function AsOfTab() {
  const loc = useLocation();
  const [table, setTable] = useState(loc.params.get("table") ?? "students");
  const [filter, setFilter] = useState(loc.params.get("q") ?? "");
  const [range, setRange] = useState<TimeRange | null>(null);
  const [at, setAt] = useState<string>(() => {
    const ms = parseInstant(loc.params.get("at"));
    return new Date(ms ?? Date.now()).toISOString();
  });
  const [atText, setAtText] = useState(at);
  const [page, setPage] = useState({ skip: 0, limit: 50 });
  const [rows, setRows] = useState<Row[]>([]);
  const [rowsAt, setRowsAt] = useState<string | null>(null); // the instant `rows` show
  const [total, setTotal] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const settledAt = useDebounced(at, 150);
  const q = useDebounced(filter.trim(), 250);
  const spec = AS_OF_TABLES.find((t) => t.key === table) ?? AS_OF_TABLES[0];
  const firstChanged = useLakeRefresh(kAllDims);
  const commits = useLakeRefresh([spec.dimension ? dimView(spec.key) : changesView(spec.key)]);

  // The slider spans the earliest change in the lake to now.
  useEffect(() => {
    const ac = new AbortController();
    earliestChange(ac.signal).then((first) => {
      if (ac.signal.aborted) return;
      const now = Date.now();
      setRange({ startMs: first ?? now - 3600_000, endMs: Math.max(now, (first ?? now) + 1000) });
    });
    return () => ac.abort();
  }, [firstChanged]);

  useEffect(() => setAtText(at), [at]);
  useEffect(() => setPage((p) => ({ ...p, skip: 0 })), [table, q]);

  // Entities: the dimension's versions in force at the instant (filterable on the server);
  // enrollments and assignments: the operational table replayed to the instant.
  useEffect(() => {
    const ac = new AbortController();
    const request = spec.dimension
      ? listPage<Row>(`/analytics/dimensions/${table}`, { as_of: settledAt, q: q || undefined, skip: page.skip, limit: page.limit }, ac.signal)
      : listPage<Row>(`/analytics/as-of/${table}`, { at: settledAt, skip: page.skip, limit: page.limit }, ac.signal);
    request
      .then((p) => {
        setRows(p.rows);
        setRowsAt(settledAt);
        setTotal(p.total);
        setError(null);
      })
      .catch((err: Error) => err.name !== "AbortError" && setError(err.message));
    return () => ac.abort();
  }, [table, spec.dimension, settledAt, page, q, commits]);

  const pos = range ? positionOf(range, at, kSteps) : kSteps;
  const shown = useMemo(
    () => (spec.dimension || !q ? rows : rows.filter((r) => Object.values(r).some((v) => String(v ?? "").toLowerCase().includes(q.toLowerCase())))),
    [rows, q, spec.dimension],
  );
  const columns = useMemo(() => columnsFor(shown, false), [shown]);
  const applyText = (e: FormEvent) => {
    e.preventDefault();
    const ms = parseInstant(atText);
    if (ms !== null) setAt(new Date(ms).toISOString());
    else setError(`Not an instant: "${atText}" (use ISO 8601, e.g. 2026-11-25T16:20:00Z)`);
  };

  return (
    <div>
      <div className="toolbar">
        <div className="field">
          <label htmlFor="asof-table">Table</label>
          <select id="asof-table" value={table} onChange={(e) => setTable(e.target.value)}>
            {AS_OF_TABLES.map((t) => (
              <option key={t.key} value={t.key}>
                {t.label}
              </option>
            ))}
          </select>
        </div>
        <div className="search">
          <label htmlFor="asof-filter">{spec.dimension ? "Filter by id or name" : "Filter rows on this page"}</label>
          <input id="asof-filter" type="search" value={filter} onChange={(e) => setFilter(e.target.value)} />
        </div>
        <form onSubmit={applyText} className="field">
          <label htmlFor="asof-at">At (UTC instant)</label>
          <input id="asof-at" className="mono" size={28} value={atText} onChange={(e) => setAtText(e.target.value)} onBlur={applyText} />
        </form>
      </div>
      <div className="slider-row">
        <label htmlFor="asof-slider">As of</label>
        <input
          id="asof-slider"
          type="range"
          min={0}
          max={kSteps}
          step={1}
          value={pos}
          disabled={!range}
          data-start-ms={range?.startMs}
          data-end-ms={range?.endMs}
          aria-valuetext={new Date(at).toLocaleString()}
          onChange={(e) => range && setAt(instantAt(range, Number(e.target.value), kSteps))}
        />
        <output htmlFor="asof-slider" className="mono" data-at={at}>
          {new Date(at).toLocaleString()}
        </output>
        <button type="button" onClick={() => setAt(new Date().toISOString())}>
          Now
        </button>
      </div>
      <ErrorNote message={error} />
      <DataGrid label={`${spec.label} as of ${rowsAt ?? "now"}`} loading={rowsAt !== at} columns={columns} rows={shown} rowKey={(_r, i) => String(i)} empty="Nothing existed at that instant." />
      <Pager label="As of" skip={page.skip} limit={page.limit} total={total} shown={rows.length} onChange={(skip, limit) => setPage({ skip, limit })} />
    </div>
  );
}

function FactTab() {
  const commits = useLakeRefresh([kFactView]);
  const [semester, setSemester] = useState("");
  const sem = useDebounced(semester.trim(), 300);
  const listing = useListing<Row>("/analytics/fact", { semester: sem || undefined }, {}, commits);
  const columns = useMemo(() => columnsFor(listing.rows, false), [listing.rows]);
  return (
    <div>
      <div className="toolbar">
        <div className="field">
          <label htmlFor="fact-semester">Semester</label>
          <input id="fact-semester" value={semester} placeholder="e.g. Fall 2026" onChange={(e) => setSemester(e.target.value)} />
        </div>
        <span className="muted">Grain: one student–professor pair per course per semester; +1 for an enrollment, −1 for a drop.</span>
      </div>
      <ErrorNote message={listing.error} />
      <DataGrid label="Enrollment fact" columns={columns} rows={listing.rows} loading={listing.loading} rowKey={(_r, i) => String(i)} empty="No fact rows yet." />
      <Pager label="Enrollment fact" skip={listing.skip} limit={listing.limit} total={listing.total} shown={listing.rows.length} onChange={listing.setPage} />
    </div>
  );
}

function useAggregate(name: string, query: Query, commits: number): Row[] | string | undefined {
  const [data, setData] = useState<Row[] | string | undefined>(undefined);
  const key = JSON.stringify(query);
  useEffect(() => {
    const ac = new AbortController();
    api
      .get<unknown>(`/analytics/aggregates/${name}`, JSON.parse(key), ac.signal)
      .then((rows) => setData(asRows(rows)))
      .catch((err: Error) => err.name !== "AbortError" && setData(err.message));
    return () => ac.abort();
  }, [name, key, commits]);
  return data;
}

function AggregateChart({
  title,
  data,
  children,
  xLabel,
  valueLabel,
}: {
  title: string;
  data: Row[] | string | undefined;
  children?: ReactNode;
  xLabel?: string;
  valueLabel?: string;
}) {
  if (typeof data === "string")
    return (
      <figure className="chart card">
        <figcaption>{title}</figcaption>
        {children}
        <p className="form-error">{data}</p>
      </figure>
    );
  if (data === undefined)
    return (
      <figure className="chart card" aria-busy="true">
        <figcaption>{title}</figcaption>
        {children}
        <p className="muted loading">Loading…</p>
      </figure>
    );
  return (
    <Chart title={title} rows={data} xLabel={xLabel} valueLabel={valueLabel}>
      {children}
    </Chart>
  );
}

// GPA bins now beside the same bins at an earlier instant: one row per bin, one series each.
export function mergeDistributions(now: Row[], then: Row[], thenLabel: string): Row[] {
  const earlier = new Map(then.map((r) => [String(r.label), r.value]));
  return now.map((r) => ({ label: r.label, [thenLabel]: earlier.get(String(r.label)) ?? null, now: r.value }));
}

function ChartsTab() {
  // One refresh key for the five aggregates: a commit refreshes them together, once.
  const commits = useLakeRefresh(kChartViews);
  const [compareAt, setCompareAt] = useState(() => new Date(Date.now() - 3600_000).toISOString());
  const [interval, setHeadcountInterval] = useState("day");
  const perSemester = useAggregate("enrollments-per-semester", {}, commits);
  const perDepartment = useAggregate("enrollments-per-department", {}, commits);
  const gpaNow = useAggregate("gpa-distribution", {}, commits);
  const gpaThen = useAggregate("gpa-distribution", { at: compareAt }, commits);
  const headcount = useAggregate("headcount", { interval }, commits);
  const gpa =
    typeof gpaNow === "string" ? gpaNow : typeof gpaThen === "string" ? gpaThen : gpaNow && gpaThen ? mergeDistributions(gpaNow, gpaThen, "earlier") : undefined;
  return (
    <div className="charts">
      <AggregateChart title="Enrollments per semester (net)" data={perSemester} xLabel="Semester" valueLabel="Enrollments" />
      <AggregateChart title="Enrollments per department (net)" data={perDepartment} xLabel="Department" valueLabel="Enrollments" />
      <AggregateChart title="GPA distribution: now and earlier" data={gpa} xLabel="GPA">
        <div className="chart-controls">
          <label htmlFor="gpa-compare">Earlier instant (UTC)</label>
          <input
            id="gpa-compare"
            className="mono"
            size={26}
            defaultValue={compareAt}
            onBlur={(e) => {
              const ms = parseInstant(e.target.value);
              if (ms !== null) setCompareAt(new Date(ms).toISOString());
            }}
          />
        </div>
      </AggregateChart>
      <AggregateChart title="Student headcount over time" data={headcount} valueLabel="Students">
        <div className="chart-controls">
          <label htmlFor="headcount-interval">Interval</label>
          <select id="headcount-interval" value={interval} onChange={(e) => setHeadcountInterval(e.target.value)}>
            <option value="day">Day</option>
            <option value="month">Month</option>
          </select>
        </div>
      </AggregateChart>
    </div>
  );
}

// Aggregates come as an array of objects, or wrapped ({rows: [...]}, {data: [...]}).
function asRows(body: unknown): Row[] {
  if (Array.isArray(body)) return body as Row[];
  if (body && typeof body === "object") {
    for (const v of Object.values(body)) if (Array.isArray(v)) return v as Row[];
  }
  return [];
}

interface SqlResult {
  columns: { name: string; type: string }[];
  rows: unknown[][];
  truncated: boolean;
  // What cut the answer short: the row limit, or the server's cap on the answer's size.
  truncated_by?: "rows" | "bytes" | null;
  elapsed_ms: number;
}

function truncationNote(result: SqlResult): string {
  if (!result.truncated) return "";
  return result.truncated_by === "bytes" ? " (cut at the server's size limit for an answer)" : " (truncated at the limit)";
}

export function SqlConsole() {
  const [sql, setSql] = useState("SELECT major, count(*) AS students, round(avg(gpa), 2) AS avg_gpa\nFROM students_dim WHERE current_row_indicator = 'yes'\nGROUP BY major ORDER BY students DESC");
  const [limit, setLimit] = useState("1000");
  const [result, setResult] = useState<SqlResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const run = useCallback(async () => {
    setBusy(true);
    setError(null);
    try {
      setResult(await api.post<SqlResult>("/analytics/sql", { sql, limit: Number(limit) }));
    } catch (err) {
      setResult(null);
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }, [sql, limit]);

  const onKey = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      run();
    }
  };

  const columns = useMemo<GridColumn<unknown[]>[]>(
    () =>
      (result?.columns ?? []).map((c, i) => ({
        key: String(i),
        label: `${c.name}`,
        numeric: /INT|DOUBLE|DECIMAL|FLOAT|REAL|NUMERIC|BIGINT|HUGEINT/i.test(c.type),
        render: (row: unknown[]) => formatField(c.name, row[i]),
      })),
    [result],
  );

  const download = () => {
    if (!result) return;
    downloadText("query.csv", toCsv(result.columns.map((c) => c.name), result.rows));
  };

  return (
    <div className="sql-console">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          run();
        }}
        aria-label="SQL console"
      >
        <label htmlFor="sql-text">SQL (read-only; Ctrl+Enter runs)</label>
        <textarea id="sql-text" className="mono" rows={6} value={sql} onChange={(e) => setSql(e.target.value)} onKeyDown={onKey} spellCheck={false} />
        <div className="form-actions">
          <button type="submit" className="primary" disabled={busy}>
            {busy ? "Running…" : "Run"}
          </button>
          <label className="inline">
            Row limit
            <input type="number" min={1} max={10000} value={limit} onChange={(e) => setLimit(e.target.value)} />
          </label>
          <button type="button" onClick={download} disabled={!result}>
            Download CSV
          </button>
        </div>
      </form>
      {error && (
        <pre className="sql-error" role="alert">
          {error}
        </pre>
      )}
      {result && (
        <>
          <p className="muted" role="status">
            {result.rows.length.toLocaleString()} rows{truncationNote(result)} in {Math.round(result.elapsed_ms)} ms
          </p>
          <DataGrid label="Query result" columns={columns} rows={result.rows} rowKey={(_r, i) => String(i)} maxHeight={560} />
        </>
      )}
    </div>
  );
}
