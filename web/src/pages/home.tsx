// Home: what MigsbyU is, with the architecture and both schemas drawn as inline SVG.
import { Link } from "../lib/router";

interface Table {
  name: string;
  x: number;
  y: number;
  columns: string[]; // "id PK", "student_id FK"
  tone?: "fact" | "dim" | "link";
}
interface Relation {
  from: string;
  to: string;
  label?: string;
}

const kTableWidth = 200;
const kRowH = 18;
const kHeadH = 26;

const height = (t: Table) => kHeadH + t.columns.length * kRowH + 8;

// An entity–relationship diagram: tables as boxes, relations as lines between their nearest edges.
function SchemaDiagram({ title, tables, relations, width, heightPx }: { title: string; tables: Table[]; relations: Relation[]; width: number; heightPx: number }) {
  const byName = new Map(tables.map((t) => [t.name, t]));
  const anchor = (a: Table, b: Table): [number, number] => {
    const ay = a.y + Math.min(height(a), kHeadH + 2 * kRowH) / 2 + 10;
    if (b.x > a.x + kTableWidth / 2) return [a.x + kTableWidth, ay];
    if (b.x + kTableWidth / 2 < a.x) return [a.x, ay];
    return [a.x + kTableWidth / 2, b.y > a.y ? a.y + height(a) : a.y];
  };
  return (
    <svg viewBox={`0 0 ${width} ${heightPx}`} className="diagram" role="img" aria-label={title}>
      <title>{title}</title>
      <defs>
        <marker id={`arrow-${title.length}`} viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
          <path d="M0,0 L10,5 L0,10 z" className="arrow-head" />
        </marker>
      </defs>
      {relations.map((r, i) => {
        const a = byName.get(r.from)!;
        const b = byName.get(r.to)!;
        const [x1, y1] = anchor(a, b);
        const [x2, y2] = anchor(b, a);
        return (
          <g key={i}>
            <path d={`M${x1},${y1} C${(x1 + x2) / 2},${y1} ${(x1 + x2) / 2},${y2} ${x2},${y2}`} className="relation" markerEnd={`url(#arrow-${title.length})`} />
            {r.label && (
              <text x={(x1 + x2) / 2} y={(y1 + y2) / 2 - 4} className="relation-label" textAnchor="middle">
                {r.label}
              </text>
            )}
          </g>
        );
      })}
      {tables.map((t) => (
        <g key={t.name} transform={`translate(${t.x},${t.y})`} className={`table-box ${t.tone ?? ""}`}>
          <rect width={kTableWidth} height={height(t)} rx="6" className="table-body" />
          <rect width={kTableWidth} height={kHeadH} rx="6" className="table-head" />
          <text x="10" y="18" className="table-name">
            {t.name}
          </text>
          {t.columns.map((c, i) => {
            const [name, ...tags] = c.split(" ");
            return (
              <g key={c}>
                <text x="10" y={kHeadH + 14 + i * kRowH} className="column">
                  {name}
                </text>
                <text x={kTableWidth - 10} y={kHeadH + 14 + i * kRowH} className="column-tag" textAnchor="end">
                  {tags.join(" ")}
                </text>
              </g>
            );
          })}
        </g>
      ))}
    </svg>
  );
}

const OPERATIONAL: Table[] = [
  { name: "students", x: 10, y: 10, columns: ["id PK", "first_name", "last_name", "gender", "address", "date_of_birth", "major", "year_of_study", "gpa 0–4", "enrollment_status"] },
  { name: "takes (enrollments)", x: 290, y: 40, tone: "link", columns: ["student_id PK FK", "course_id PK FK", "semester PK"] },
  { name: "courses", x: 570, y: 120, columns: ["id PK", "name", "units 1–4", "department"] },
  { name: "teaches (assignments)", x: 290, y: 200, tone: "link", columns: ["professor_id PK FK", "course_id PK FK", "semester PK"] },
  { name: "professors", x: 10, y: 230, columns: ["id PK", "title", "first_name", "last_name", "gender", "address", "department", "date_of_birth", "annual_salary"] },
];
const OPERATIONAL_REL: Relation[] = [
  { from: "takes (enrollments)", to: "students" },
  { from: "takes (enrollments)", to: "courses" },
  { from: "teaches (assignments)", to: "professors" },
  { from: "teaches (assignments)", to: "courses" },
];

const scd = ["row_effective_start", "row_effective_end", "current_row_indicator", "is_deleted", "source_lsn"];
const ANALYTICS: Table[] = [
  { name: "students_dim", x: 10, y: 10, tone: "dim", columns: ["student_key SK", "id", "…attributes", ...scd] },
  { name: "courses_dim", x: 570, y: 10, tone: "dim", columns: ["course_key SK", "id", "name·units·department", ...scd] },
  { name: "course_enrollment_fact", x: 290, y: 110, tone: "fact", columns: ["student_key FK", "professor_key FK", "course_key FK", "semester", "course_enrollment_count ±1"] },
  { name: "professors_dim", x: 10, y: 230, tone: "dim", columns: ["professor_key SK", "id", "…attributes", ...scd] },
];
const ANALYTICS_REL: Relation[] = [
  { from: "course_enrollment_fact", to: "students_dim" },
  { from: "course_enrollment_fact", to: "courses_dim" },
  { from: "course_enrollment_fact", to: "professors_dim" },
];

function Architecture() {
  const boxes = [
    { x: 10, y: 70, w: 130, label: "Web portal", sub: "React · :8501" },
    { x: 175, y: 70, w: 130, label: "REST API", sub: "portal → oltp" },
    { x: 340, y: 70, w: 130, label: "PostgreSQL 15", sub: "wal_level=logical" },
    { x: 505, y: 70, w: 130, label: "CDC", sub: "pgoutput client" },
    { x: 670, y: 10, w: 130, label: "Transport", sub: "in-process · Kafka" },
    { x: 670, y: 130, w: 130, label: "Lake", sub: "Parquet · SCD2" },
    { x: 505, y: 190, w: 130, label: "Analytics", sub: "DuckDB 1.4" },
    { x: 175, y: 190, w: 130, label: "Analytics API", sub: "SQL · as-of · SSE" },
  ];
  const arrows: [number, number, number, number, string][] = [
    [140, 95, 175, 95, "HTTP"],
    [305, 95, 340, 95, "SQL"],
    [470, 95, 505, 95, "WAL"],
    [635, 85, 670, 40, ""],
    [735, 60, 735, 130, "events"],
    [670, 170, 635, 210, ""],
    [505, 215, 305, 215, "queries"],
    [175, 215, 75, 120, "JSON · SSE"],
  ];
  return (
    <svg viewBox="0 0 810 250" className="diagram" role="img" aria-label="Architecture: changes flow from PostgreSQL through CDC into the lake">
      <title>Architecture</title>
      <defs>
        <marker id="arch-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
          <path d="M0,0 L10,5 L0,10 z" className="arrow-head" />
        </marker>
      </defs>
      {arrows.map(([x1, y1, x2, y2, label], i) => (
        <g key={i}>
          <line x1={x1} y1={y1} x2={x2} y2={y2} className="relation" markerEnd="url(#arch-arrow)" />
          {label && (
            <text x={(x1 + x2) / 2 + (x1 === x2 ? 8 : 0)} y={(y1 + y2) / 2 - 5} className="relation-label" textAnchor={x1 === x2 ? "start" : "middle"}>
              {label}
            </text>
          )}
        </g>
      ))}
      {boxes.map((b) => (
        <g key={b.label} transform={`translate(${b.x},${b.y})`} className="table-box">
          <rect width={b.w} height="50" rx="8" className="table-body" />
          <text x={b.w / 2} y="22" textAnchor="middle" className="table-name">
            {b.label}
          </text>
          <text x={b.w / 2} y="39" textAnchor="middle" className="column">
            {b.sub}
          </text>
        </g>
      ))}
    </svg>
  );
}

export function HomePage() {
  return (
    <section className="home" aria-labelledby="home-title">
      <h1 id="home-title">MigsbyU</h1>
      <p className="lead">
        A university’s course-management portal — students, professors, courses, enrollments and teaching assignments — whose
        every change flows by change data capture into an analytics lake that remembers. Each record keeps its whole history
        (SCD Type 2), any table can be seen as it was at any instant, and changes reach the analytics pages within a second.
      </p>
      <div className="cards">
        <Link href="/operational/students" className="card nav-card">
          <h2>Operational</h2>
          <p>Add, edit, delete and generate records; enroll students and assign professors; run the activity simulation.</p>
        </Link>
        <Link href="/analytics/students" className="card nav-card">
          <h2>Analytics</h2>
          <p>Every version of every record, histories, time travel, the enrollment fact, charts and a SQL console.</p>
        </Link>
        <Link href="/pipeline" className="card nav-card">
          <h2>Pipeline</h2>
          <p>Replication slot lag, events per second, freshness and the last committed LSN, live.</p>
        </Link>
      </div>
      <h2>Architecture</h2>
      <p>
        The portal writes to PostgreSQL. Our own logical-replication client decodes the write-ahead log (pgoutput) into change
        events, which reach the lake in commit order; the lake appends them to Parquet and builds the dimensions and the fact,
        which DuckDB queries.
      </p>
      <figure className="card diagram-card">
        <Architecture />
      </figure>
      <div className="schemas">
        <figure className="card diagram-card">
          <figcaption>Operational schema (PostgreSQL)</figcaption>
          <SchemaDiagram title="Operational schema" tables={OPERATIONAL} relations={OPERATIONAL_REL} width={780} heightPx={440} />
        </figure>
        <figure className="card diagram-card">
          <figcaption>Analytics schema (lake: SCD Type 2 dimensions and the enrollment fact)</figcaption>
          <SchemaDiagram title="Analytics schema" tables={ANALYTICS} relations={ANALYTICS_REL} width={780} heightPx={400} />
        </figure>
      </div>
    </section>
  );
}
