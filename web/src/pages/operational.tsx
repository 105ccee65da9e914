// Operational pages: the five tabs over the portal's REST API (students, professors, courses,
// enrollments, assignments), plus generating random records and the activity simulation.
import { useCallback, useEffect, useMemo, useState, type FormEvent } from "react";
import { api, ApiError, type FieldErrors } from "../api/client";
import {
  ASSIGNMENTS, COURSES, ENROLLMENTS, PERSONAL_FIELDS, PROFESSORS, STUDENTS,
  formatField, type EntitySpec, type LinkSpec, type Row,
} from "../api/schema";
import { DataGrid, type GridColumn } from "../components/DataGrid";
import { EntityForm } from "../components/EntityForm";
import { Modal } from "../components/Modal";
import { Pager } from "../components/Pager";
import { Picker } from "../components/Picker";
import { SemesterPicker } from "../components/SemesterPicker";
import { Tabs } from "../components/Tabs";
import { currentSemester } from "../lib/semester";
import { useAuth } from "../lib/auth";
import { useDebounced, useListing } from "../lib/useListing";
import { ErrorNote } from "../components/ErrorNote";

const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

const TABS = [
  { key: "students", label: "Students" },
  { key: "professors", label: "Professors" },
  { key: "courses", label: "Courses" },
  { key: "enrollments", label: "Enrollments" },
  { key: "assignments", label: "Assignments" },
];

export function OperationalPage({ tab }: { tab: string }) {
  const writer = useAuth().can("write");
  const active = TABS.some((t) => t.key === tab) ? tab : "students";
  const entity = { students: STUDENTS, professors: PROFESSORS, courses: COURSES }[active];
  const link = { enrollments: ENROLLMENTS, assignments: ASSIGNMENTS }[active];
  return (
    <section aria-labelledby="op-title">
      <div className="page-head">
        <h1 id="op-title">Operational database</h1>
        {writer && <SimulationPanel />}
      </div>
      <Tabs items={TABS} active={active} base="/operational" label="Tables" />
      <div role="tabpanel" aria-labelledby={`tab-${active}`} className="tab-panel">
        {entity && <EntityTab key={entity.key} spec={entity} />}
        {link && <LinkTab key={link.key} spec={link} />}
      </div>
    </section>
  );
}

function SearchBox({ label, onSearch }: { label: string; onSearch: (q: string) => void }) {
  const [text, setText] = useState("");
  const settled = useDebounced(text, 250);
  useEffect(() => onSearch(settled.trim()), [settled, onSearch]);
  return (
    <div className="search">
      <label htmlFor={`search-${label}`}>Search {label}</label>
      <input id={`search-${label}`} type="search" value={text} placeholder="Name or id" onChange={(e) => setText(e.target.value)} />
    </div>
  );
}

// "Generate N random" for one kind of record: POST /generate with that count only.
export function GenerateForm({ kind, label, onDone }: { kind: string; label: string; onDone: () => void }) {
  const [count, setCount] = useState("100");
  const [message, setMessage] = useState<{ text: string; error?: boolean } | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setMessage(null);
    try {
      const result = await api.post<Record<string, number>>("/generate", { [kind]: Number(count) });
      const made = result && typeof result === "object" ? (result[kind] ?? Number(count)) : Number(count);
      setMessage({ text: `Generated ${Number(made).toLocaleString()} ${label}.` });
      onDone();
    } catch (err) {
      setMessage({ text: `Could not generate ${label}: ${(err as Error).message}`, error: true });
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="inline-form" onSubmit={submit} aria-label={`Generate ${label}`}>
      <label htmlFor={`generate-${kind}`}>Generate random {label}</label>
      <input id={`generate-${kind}`} type="number" min={1} max={1000000} value={count} onChange={(e) => setCount(e.target.value)} />
      <button type="submit" disabled={busy}>
        {busy ? "Generating…" : "Generate"}
      </button>
      {message && (
        <span className={message.error ? "note field-error" : "note"} role={message.error ? "alert" : "status"}>
          {message.text}
        </span>
      )}
    </form>
  );
}

type Dialog =
  | { kind: "add" }
  | { kind: "edit"; row: Row }
  | { kind: "delete"; row: Row; conflict?: string; error?: string };

function EntityTab({ spec }: { spec: EntitySpec }) {
  const { can, me } = useAuth();
  const writer = can("write");
  const masked = !me?.pii;
  const listing = useListing<Row>(spec.path, {}, { sort: { field: "id", order: "asc" } });
  const [dialog, setDialog] = useState<Dialog | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const close = useCallback(() => setDialog(null), []);

  const columns = useMemo<GridColumn<Row>[]>(
    () =>
      spec.fields.map((f) => ({
        key: f.name,
        label: f.label,
        // Sorting by a personal field would tell its order: the server refuses it without the grant.
        sortable: !(f.personal && masked),
        numeric: f.kind === "number",
        render: f.decimals !== undefined ? (row: Row) => formatField(f.name, row[f.name]) : undefined,
      })),
    [spec, masked],
  );

  const openEdit = async (row: Row) => {
    try {
      const fresh = await api.get<Row>(`${spec.path}${encodeURIComponent(String(row.id))}`);
      setDialog({ kind: "edit", row: fresh });
    } catch (err) {
      setNotice((err as Error).message);
    }
  };

  const remove = async (row: Row, cascade: boolean) => {
    try {
      await api.del(`${spec.path}${encodeURIComponent(String(row.id))}`, cascade ? { cascade: true } : undefined);
      setDialog(null);
      setNotice(`Deleted ${spec.singular} ${String(row.id)}.`);
      listing.reload();
    } catch (err) {
      if (err instanceof ApiError && err.status === 409 && !cascade) setDialog({ kind: "delete", row, conflict: err.message });
      else setDialog({ kind: "delete", row, error: (err as Error).message });
    }
  };

  return (
    <div className="entity-tab">
      <div className="toolbar">
        <SearchBox label={spec.plural} onSearch={listing.setQuery} />
        {writer && (
          <>
            <button type="button" className="primary" onClick={() => setDialog({ kind: "add" })}>
              Add {spec.singular}
            </button>
            <GenerateForm kind={spec.key} label={spec.plural} onDone={listing.reload} />
          </>
        )}
      </div>
      {notice && (
        <p className="note" role="status">
          {notice}
        </p>
      )}
      <ErrorNote message={listing.error} />
      <DataGrid
        label={spec.plural}
        columns={columns}
        rows={listing.rows}
        rowKey={(r) => String(r.id)}
        sort={listing.sort}
        onSort={listing.setSort}
        loading={listing.loading}
        actions={writer ? (row) => (
          <span className="row-actions">
            <button type="button" onClick={() => openEdit(row)} aria-label={`Edit ${String(row.id)}`}>
              Edit
            </button>
            <button type="button" className="danger" onClick={() => setDialog({ kind: "delete", row })} aria-label={`Delete ${String(row.id)}`}>
              Delete
            </button>
          </span>
        ) : undefined}
      />
      <Pager label={spec.plural} skip={listing.skip} limit={listing.limit} total={listing.total} shown={listing.rows.length} onChange={listing.setPage} />

      {dialog?.kind === "add" && (
        <Modal title={`Add ${spec.singular}`} onClose={close}>
          <EntityForm
            spec={spec}
            mode="add"
            onCancel={close}
            onSubmit={async (record) => {
              await api.post(spec.path, record);
              setDialog(null);
              setNotice(`Added ${spec.singular} ${String(record.id)}.`);
              listing.reload();
            }}
          />
        </Modal>
      )}
      {dialog?.kind === "edit" && (
        <Modal title={`Edit ${spec.singular} ${String(dialog.row.id)}`} onClose={close}>
          <EntityForm
            spec={spec}
            mode="edit"
            initial={dialog.row}
            onCancel={close}
            omit={masked ? PERSONAL_FIELDS : []}
            onSubmit={async (record) => {
              // Without the pii grant the personal fields are left out: PATCH keeps them.
              const path = `${spec.path}${encodeURIComponent(String(dialog.row.id))}`;
              await (masked ? api.patch(path, record) : api.put(path, record));
              setDialog(null);
              setNotice(`Saved ${spec.singular} ${String(record.id)}.`);
              listing.reload();
            }}
          />
        </Modal>
      )}
      {dialog?.kind === "delete" && (
        <Modal title={`Delete ${spec.singular}`} onClose={close}>
          <p>
            Delete {spec.singular} <strong className="mono">{String(dialog.row.id)}</strong> ({spec.display(dialog.row)})?
          </p>
          <ErrorNote message={dialog.conflict} />
          <ErrorNote message={dialog.error} />
          <div className="form-actions">
            {dialog.conflict ? (
              <button type="button" className="danger" onClick={() => remove(dialog.row, true)}>
                Delete with everything that refers to it
              </button>
            ) : (
              <button type="button" className="danger" onClick={() => remove(dialog.row, false)}>
                Delete
              </button>
            )}
            <button type="button" onClick={close}>
              Cancel
            </button>
          </div>
        </Modal>
      )}
    </div>
  );
}

// The grid columns of a link tab: each side shows the record's name with its id, the key, on a
// second line. The names come in the same page (?expand=names); a null name means the record is
// gone, and a row without the field (an older server) shows the id alone.
export function linkColumns(spec: LinkSpec): GridColumn<Row>[] {
  const side = (s: LinkSpec["left"]): GridColumn<Row> => ({
    key: s.field,
    label: capital(s.entity.singular),
    sortable: true,
    render: (row) => <NamedId name={row[s.nameField]} id={row[s.field]} />,
  });
  return [side(spec.left), side(spec.right), { key: "semester", label: "Semester", sortable: true }];
}

function NamedId({ name, id }: { name: unknown; id: unknown }) {
  return (
    <span className="named-id">
      {name === undefined ? null : name === null ? (
        <span className="muted">(missing)</span>
      ) : (
        <span>{String(name)}</span>
      )}
      <span className="mono muted">{String(id)}</span>
    </span>
  );
}

const kExpandNames = { expand: "names" };

function LinkTab({ spec }: { spec: LinkSpec }) {
  const writer = useAuth().can("write");
  const listing = useListing<Row>(spec.path, kExpandNames);
  const [left, setLeft] = useState("");
  const [right, setRight] = useState("");
  const [semester, setSemester] = useState(currentSemester());
  const [fieldErrors, setFieldErrors] = useState<FieldErrors>({});
  const [message, setMessage] = useState<{ text: string; error?: boolean } | null>(null);
  const [confirm, setConfirm] = useState<Row | null>(null);

  const columns = useMemo(() => linkColumns(spec), [spec]);

  const body = (row: Row) => ({ [spec.left.field]: row[spec.left.field], [spec.right.field]: row[spec.right.field], semester: row.semester });

  const add = async (e: FormEvent) => {
    e.preventDefault();
    setFieldErrors({});
    setMessage(null);
    const missing: FieldErrors = {};
    if (!left) missing[spec.left.field] = `Choose a ${spec.left.entity.singular}`;
    if (!right) missing[spec.right.field] = `Choose a ${spec.right.entity.singular}`;
    if (Object.keys(missing).length) return setFieldErrors(missing);
    try {
      await api.post(spec.path, { [spec.left.field]: left, [spec.right.field]: right, semester });
      setMessage({ text: `${spec.addedVerb} ${left} in ${right} for ${semester}.` });
      listing.reload();
    } catch (err) {
      if (err instanceof ApiError) setFieldErrors(err.fieldErrors);
      setMessage({ text: (err as Error).message, error: true });
    }
  };

  const remove = async (row: Row) => {
    try {
      await api.del(spec.path, undefined, body(row));
      setConfirm(null);
      setMessage({ text: `${spec.removedVerb} ${String(row[spec.left.field])} from ${String(row[spec.right.field])} (${String(row.semester)}).` });
      listing.reload();
    } catch (err) {
      setConfirm(null);
      setMessage({ text: (err as Error).message, error: true });
    }
  };

  return (
    <div className="link-tab">
      {writer && (
      <form className="link-form card" onSubmit={add} aria-label={`${spec.addVerb} form`}>
        <h2>
          {spec.addVerb} a {spec.left.entity.singular} {spec.key === "enrollments" ? "in" : "to"} a course
        </h2>
        <div className="form-grid">
          <Picker spec={spec.left.entity} label={capital(spec.left.entity.singular)} value={left} onChange={setLeft} error={fieldErrors[spec.left.field]} />
          <Picker spec={spec.right.entity} label="Course" value={right} onChange={setRight} error={fieldErrors[spec.right.field]} />
          <SemesterPicker value={semester} onChange={setSemester} error={fieldErrors.semester} />
        </div>
        <div className="form-actions">
          <button type="submit" className="primary">
            {spec.addVerb}
          </button>
        </div>
      </form>
      )}
      {message && (
        <p className={message.error ? "form-error" : "note"} role={message.error ? "alert" : "status"}>
          {message.text}
        </p>
      )}
      <div className="toolbar">
        <SearchBox label={spec.key} onSearch={listing.setQuery} />
        {writer && <GenerateForm kind={spec.generateKey} label={spec.key} onDone={listing.reload} />}
      </div>
      <ErrorNote message={listing.error} />
      <DataGrid
        label={spec.title}
        columns={columns}
        rows={listing.rows}
        rowKey={(r) => `${String(r[spec.left.field])}|${String(r[spec.right.field])}|${String(r.semester)}`}
        sort={listing.sort}
        onSort={listing.setSort}
        loading={listing.loading}
        actions={
          writer
            ? (row) => (
                <button type="button" className="danger" onClick={() => setConfirm(row)}>
                  {spec.removeVerb}
                </button>
              )
            : undefined
        }
      />
      <Pager label={spec.title} skip={listing.skip} limit={listing.limit} total={listing.total} shown={listing.rows.length} onChange={listing.setPage} />
      {confirm && (
        <Modal title={`${spec.removeVerb}?`} onClose={() => setConfirm(null)}>
          <p>
            {spec.removeVerb} {spec.left.entity.singular} <strong className="mono">{String(confirm[spec.left.field])}</strong> from course{" "}
            <strong className="mono">{String(confirm[spec.right.field])}</strong> in {String(confirm.semester)}?
          </p>
          <div className="form-actions">
            <button type="button" className="danger" onClick={() => remove(confirm)}>
              {spec.removeVerb}
            </button>
            <button type="button" onClick={() => setConfirm(null)}>
              Cancel
            </button>
          </div>
        </Modal>
      )}
    </div>
  );
}

interface SimulationState {
  running: boolean;
  events?: number;
  by_kind?: Record<string, number>;
  last_error?: string | null;
}

// Start and stop the activity simulation; polls GET /simulation while it runs.
function SimulationPanel() {
  const [state, setState] = useState<SimulationState | null>(null);
  const [rate, setRate] = useState("20");
  const [duration, setDuration] = useState("60");
  const [error, setError] = useState<string | null>(null);

  const refresh = useCallback(() => {
    api
      .get<SimulationState>("/simulation")
      .then((s) => {
        setState(s);
        setError(null);
      })
      .catch((err: Error) => setError(err.message));
  }, []);
  useEffect(refresh, [refresh]);
  useEffect(() => {
    if (!state?.running) return;
    const t = setInterval(refresh, 1000);
    return () => clearInterval(t);
  }, [state?.running, refresh]);

  const start = async (e: FormEvent) => {
    e.preventDefault();
    try {
      await api.post("/simulation/start", { rate: Number(rate), duration_s: Number(duration) });
      refresh();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const stop = async () => {
    try {
      await api.post("/simulation/stop");
      refresh();
    } catch (err) {
      setError((err as Error).message);
    }
  };

  return (
    <form className="simulation card" onSubmit={start} aria-label="Activity simulation">
      <strong>Simulation</strong>
      <label>
        Rate (changes/s)
        <input type="number" min={1} max={10000} value={rate} onChange={(e) => setRate(e.target.value)} />
      </label>
      <label>
        Duration (s)
        <input type="number" min={1} max={86400} value={duration} onChange={(e) => setDuration(e.target.value)} />
      </label>
      {state?.running ? (
        <button type="button" className="danger" onClick={stop}>
          Stop
        </button>
      ) : (
        <button type="submit">Start</button>
      )}
      <span className="muted" role="status">
        {state ? (state.running ? `running · ${state.events ?? 0} events` : `idle${state.events ? ` · ${state.events} events` : ""}`) : ""}
        {state?.last_error ? ` · ${state.last_error}` : ""}
      </span>
      {error && <span className="field-error">Simulation unavailable: {error}</span>}
    </form>
  );
}
