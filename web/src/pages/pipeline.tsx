// Pipeline: the change-data pipeline live — slot lag, events/s, freshness, last committed LSN,
// incremental snapshot progress and per-table counts — from the `status` server-sent events
// (GET /analytics/status first, so the page is filled before the first event). Admins also get
// the capture actions: an incremental snapshot of some tables, and restarting capture stopped
// by a lost slot with a resnapshot (POST /analytics/capture/...).
import { useEffect, useRef, useState } from "react";
import { api, ApiError } from "../api/client";
import { Chart } from "../components/Chart";
import { formatBytes, formatSeconds, formatValue, humanize } from "../lib/format";
import { useLive, type PipelineStatus } from "../lib/live";
import { LiveBadge } from "../components/LiveBadge";
import { ErrorNote } from "../components/ErrorNote";
import { seesAdminPages, useSession } from "../lib/session";

// Finds a value in a nested status object by trying key paths in order ("a.b" walks into a).
export function pick(status: PipelineStatus | null, paths: string[]): unknown {
  if (!status) return undefined;
  for (const path of paths) {
    let v: unknown = status;
    for (const part of path.split(".")) v = v && typeof v === "object" ? (v as Record<string, unknown>)[part] : undefined;
    if (v !== undefined && v !== null) return v;
  }
  return undefined;
}

const num = (v: unknown) => (typeof v === "number" ? v : typeof v === "string" && v !== "" && !isNaN(Number(v)) ? Number(v) : null);

// Per-table counts: an object {table: n} or an array [{table, rows|count...}].
export function tableCounts(status: PipelineStatus | null): [string, Record<string, unknown>][] {
  const raw = pick(status, ["tables", "table_counts", "counts", "per_table"]);
  if (Array.isArray(raw)) return raw.map((r) => [String((r as Row).table ?? (r as Row).name ?? "?"), r as Record<string, unknown>]);
  if (raw && typeof raw === "object")
    return Object.entries(raw as Record<string, unknown>).map(([k, v]) => [k, v && typeof v === "object" ? (v as Record<string, unknown>) : { rows: v }]);
  return [];
}
type Row = Record<string, unknown>;

// The chart's window: the samples (one per `status` event, every second) of the last two minutes.
export const kEventsWindowS = 120;

// Freshness: the age of the newest change in the lake, which keeps growing while nothing
// changes; with the slot caught up (no lag) the lake is as fresh as it can be.
export const kUpToDate = "idle, up to date";
export function freshnessText(lagBytes: number | null, lagSeconds: number | null, freshnessS: number | null): string {
  if (lagBytes === 0 || lagSeconds === 0) return kUpToDate;
  return formatSeconds(freshnessS);
}

// The incremental snapshot's card: "–" when none runs, else the table and how far it got.
export function snapshotText(snapshot: unknown): { value: string; sub?: string } {
  if (!snapshot || typeof snapshot !== "object") return { value: "–" };
  const s = snapshot as Record<string, unknown>;
  const chunks = num(s.chunks) ?? 0;
  const rows = num(s.rows) ?? 0;
  if (s.running !== true) return { value: "none running", sub: chunks > 0 ? `last: ${chunks} chunks, ${rows.toLocaleString()} rows` : undefined };
  const left = num(s.tables_left) ?? 1;
  return {
    value: String(s.table ?? "?"),
    sub: `after key ${s.last_key ?? "(start)"} · ${chunks} chunks, ${rows.toLocaleString()} rows` + (left > 1 ? ` · ${left - 1} more table(s)` : ""),
  };
}

// Admins' capture actions; each answer (or error) is shown beside the buttons.
function CaptureActions({ captureStopped }: { captureStopped: boolean }) {
  const [tables, setTables] = useState("students");
  const [message, setMessage] = useState<string | null>(null);
  const act = (path: string, body?: unknown) =>
    api
      .post<Record<string, unknown>>(path, body)
      .then((r) => setMessage(path.endsWith("resnapshot") ? "Capture restarted with a resnapshot." : `Snapshot requested: ${(r.requested as string[] | undefined)?.join(", ") ?? ""}`))
      .catch((err: Error) => setMessage(err instanceof ApiError ? err.message : String(err)));
  return (
    <form
      className="capture-actions"
      aria-label="Capture actions"
      onSubmit={(e) => {
        e.preventDefault();
        const list = tables.split(/[\s,]+/).filter((t) => t !== "");
        void act("/analytics/capture/snapshot", { tables: list });
      }}
    >
      <label>
        Tables <input value={tables} onChange={(e) => setTables(e.target.value)} aria-label="Tables to re-read" />
      </label>
      <button type="submit">Re-read in chunks</button>
      {captureStopped && (
        <button type="button" onClick={() => void act("/analytics/capture/resnapshot")}>
          Restart capture with a resnapshot
        </button>
      )}
      {message && <span role="status">{message}</span>}
    </form>
  );
}

export function PipelinePage() {
  const live = useLive();
  const session = useSession();
  const [initial, setInitial] = useState<PipelineStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  const history = useRef<{ at: string; value: number }[]>([]); // events per second, oldest first
  const [series, setSeries] = useState<{ at: string; value: number }[]>([]);

  useEffect(() => {
    api
      .get<PipelineStatus>("/analytics/status")
      .then(setInitial)
      .catch((err: Error) => setError(err.message));
  }, []);

  const status = live.status ?? initial;
  const eps = num(pick(status, ["events_per_second", "events_per_s", "throughput.events_per_second", "rate.events_per_second"]));

  useEffect(() => {
    if (!live.status || eps === null) return;
    const now = Date.now();
    history.current = [
      ...history.current.filter((p) => Date.parse(p.at) > now - kEventsWindowS * 1000),
      { at: new Date(now).toISOString(), value: eps },
    ];
    setSeries(history.current);
  }, [live.status, eps]);

  const lagBytes = num(pick(status, ["slot_lag_bytes", "lag_bytes", "slot.lag_bytes", "lag.bytes"]));
  const lagSeconds = num(pick(status, ["slot_lag_seconds", "lag_seconds", "slot.lag_seconds", "lag.seconds"]));
  const freshnessRaw = num(pick(status, ["freshness_s", "freshness_seconds", "freshness", "freshness_ms"]));
  const freshness = freshnessRaw === null ? null : pick(status, ["freshness_ms"]) !== undefined ? freshnessRaw / 1000 : freshnessRaw;
  const freshnessShown = freshnessText(lagBytes, lagSeconds, freshness);
  const lsn = pick(status, ["last_committed_lsn", "last_lsn", "committed_lsn", "lake.last_lsn", "lsn"]);
  const commitTime = pick(status, ["last_commit_time", "last_committed_at", "last_commit_at", "commit_time", "lake.last_commit_time"]);
  const visibleMs = num(pick(status, ["commit_to_visible_ms"]));
  const eventsTotal = num(pick(status, ["events_total"]));
  const lakeVersion = num(pick(status, ["lake_version"]));
  const capture = pick(status, ["capture_running"]) as boolean | undefined;
  const walStatus = pick(status, ["slot_wal_status"]) as string | null | undefined;
  const retained = num(pick(status, ["slot_retained_wal_bytes"]));
  const safeWal = num(pick(status, ["slot_safe_wal_size_bytes"]));
  const retentionWarning = pick(status, ["slot_retention_warning"]) === true;
  const captureError = pick(status, ["capture_error"]) as string | null | undefined;
  const deadLetters = num(pick(status, ["dead_letters"]));
  const snapshot = snapshotText(pick(status, ["snapshot"]));
  const counts = tableCounts(status);
  const countKeys = [...new Set(counts.flatMap(([, r]) => Object.keys(r)))].filter((k) => k !== "table" && k !== "name");

  return (
    <section aria-labelledby="pl-title">
      <div className="page-head">
        <h1 id="pl-title">Pipeline</h1>
        <LiveBadge />
      </div>
      {!status && <ErrorNote message={error} />}
      {(retentionWarning || captureError) && (
        <p className="form-error" role="alert">
          {retentionWarning &&
            `Replication slot at risk: wal_status ${walStatus ?? "?"}, ${formatBytes(retained)} of WAL retained` +
              (safeWal !== null ? `, ${formatBytes(safeWal)} before it may be invalidated.` : ".")}
          {retentionWarning && captureError && " "}
          {captureError && `Capture: ${captureError}`}
        </p>
      )}
      <div className="stats" aria-live="polite">
        <Stat label="Slot lag" value={formatBytes(lagBytes)} sub={lagSeconds !== null ? formatSeconds(lagSeconds) + " behind" : undefined} />
        <Stat label="Events / s" value={eps === null ? "–" : eps.toFixed(eps < 10 ? 1 : 0)} />
        <Stat label="Freshness" value={freshnessShown} sub="newest change → lake" words={freshnessShown === kUpToDate} />
        <Stat label="Last committed LSN" value={formatValue(lsn) || "–"} sub={commitTime ? formatValue(commitTime) : undefined} mono />
        <Stat label="Commit → visible" value={formatSeconds(visibleMs === null ? null : visibleMs / 1000)} sub="PostgreSQL commit to queryable" />
        <Stat label="Events applied" value={eventsTotal === null ? "–" : eventsTotal.toLocaleString()} sub={capture === false ? "capture stopped" : capture ? "capture running" : undefined} />
        <Stat
          label="Slot WAL"
          value={walStatus ?? "–"}
          sub={retained !== null ? `${formatBytes(retained)} retained` + (safeWal !== null ? `, ${formatBytes(safeWal)} safe` : "") : undefined}
        />
        <Stat label="Dead letters" value={deadLetters === null ? "–" : deadLetters.toLocaleString()} sub="migsbyu lake dead-letters" />
        <Stat label="Incremental snapshot" value={snapshot.value} sub={snapshot.sub} words={snapshot.value === "none running"} />
        <Stat label="Lake commits seen" value={String(live.commits)} sub={lakeVersion !== null ? `lake version ${lakeVersion}` : "since this page opened"} />
      </div>
      {seesAdminPages(session) && <CaptureActions captureStopped={capture === false} />}
      {series.length > 1 && (
        <Chart title="Events per second (last two minutes)" rows={series} kind="line" height={180} xLabel="Time" valueLabel="Events / s" timeWindow={{ spanS: kEventsWindowS }} />
      )}
      <h2>Per-table counts</h2>
      <table className="grid compact" aria-label="Per-table counts">
        <thead>
          <tr>
            <th scope="col">Table</th>
            {countKeys.map((k) => (
              <th key={k} scope="col" className="num">
                {humanize(k)}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {counts.map(([table, r]) => (
            <tr key={table}>
              <td>{table}</td>
              {countKeys.map((k) => (
                <td key={k} className="num">
                  {formatValue(r[k])}
                </td>
              ))}
            </tr>
          ))}
          {counts.length === 0 && (
            <tr>
              <td colSpan={countKeys.length + 1} className="empty">
                No counts yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <details className="raw">
        <summary>Raw status</summary>
        <pre className="mono">{JSON.stringify(status, null, 2)}</pre>
      </details>
    </section>
  );
}

// `words`: a value in words rather than a figure, set smaller so that it fits the card.
function Stat({ label, value, sub, mono, words }: { label: string; value: string; sub?: string; mono?: boolean; words?: boolean }) {
  return (
    <div className="stat card">
      <div className="stat-label">{label}</div>
      <div className={`stat-value${mono ? " mono" : ""}${words ? " words" : ""}`}>{value}</div>
      {sub && <div className="stat-sub muted">{sub}</div>}
    </div>
  );
}
