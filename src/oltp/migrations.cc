#include "oltp/migrations.h"

#include <algorithm>
#include <cstdlib>

namespace migsbyu::oltp {
namespace {

// The advisory-lock key every migrating process takes; any constant unused elsewhere will do.
constexpr const char* kMigrationLockKey = "5569000";

constexpr const char* kInitialSchema = R"sql(
CREATE TABLE students (
  id                text PRIMARY KEY CHECK (id <> ''),
  first_name        text NOT NULL,
  last_name         text NOT NULL,
  gender            text NOT NULL,
  address           text NOT NULL,
  date_of_birth     date NOT NULL,
  major             text NOT NULL,
  year_of_study     integer NOT NULL CHECK (year_of_study >= 1),
  gpa               numeric(3,2) NOT NULL CHECK (gpa BETWEEN 0 AND 4),
  enrollment_status text NOT NULL CHECK (enrollment_status IN ('Full-time', 'Part-time'))
);
CREATE TABLE professors (
  id            text PRIMARY KEY CHECK (id <> ''),
  title         text NOT NULL,
  first_name    text NOT NULL,
  last_name     text NOT NULL,
  gender        text NOT NULL,
  address       text NOT NULL,
  department    text NOT NULL,
  date_of_birth date NOT NULL,
  annual_salary integer NOT NULL CHECK (annual_salary >= 0)
);
CREATE TABLE courses (
  id         text PRIMARY KEY CHECK (id <> ''),
  name       text NOT NULL,
  units      integer NOT NULL CHECK (units BETWEEN 1 AND 4),
  department text NOT NULL
);
CREATE TABLE takes (
  student_id text NOT NULL REFERENCES students(id),
  course_id  text NOT NULL REFERENCES courses(id),
  semester   text NOT NULL CHECK (semester ~ '^(Fall|Spring|Summer) [0-9]{4}$'),
  PRIMARY KEY (student_id, course_id, semester)
);
CREATE INDEX takes_course_id_idx ON takes (course_id);
CREATE TABLE teaches (
  professor_id text NOT NULL REFERENCES professors(id),
  course_id    text NOT NULL REFERENCES courses(id),
  semester     text NOT NULL CHECK (semester ~ '^(Fall|Spring|Summer) [0-9]{4}$'),
  PRIMARY KEY (professor_id, course_id, semester)
);
CREATE INDEX teaches_course_id_idx ON teaches (course_id);
ALTER TABLE students REPLICA IDENTITY FULL;
ALTER TABLE professors REPLICA IDENTITY FULL;
ALTER TABLE courses REPLICA IDENTITY FULL;
ALTER TABLE takes REPLICA IDENTITY FULL;
ALTER TABLE teaches REPLICA IDENTITY FULL;
)sql";

Status ApplyOne(pg::Connection& conn, const Migration& m) {
  auto context = "migration " + std::to_string(m.version) + " (" + m.name + ")";
  auto fail = [&](const Error& e) -> Status {
    (void)conn.Exec("ROLLBACK");
    return e.WithContext(context);
  };
  MIGSBYU_TRY(conn.Exec("BEGIN"));
  if (auto r = conn.Exec(m.sql); !r.ok()) return fail(r.error());
  if (auto r = conn.ExecParams("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                               {std::to_string(m.version), m.name});
      !r.ok()) {
    return fail(r.error());
  }
  if (auto r = conn.Exec("COMMIT"); !r.ok()) return fail(r.error());
  return OkStatus();
}

}  // namespace

const std::vector<Migration>& Migrations() {
  static const std::vector<Migration> migrations = {
      {1, "initial schema", kInitialSchema},
  };
  return migrations;
}

Result<std::vector<int>> AppliedVersions(pg::Connection& conn) {
  MIGSBYU_ASSIGN(auto exists, conn.Exec("SELECT to_regclass('schema_migrations') IS NOT NULL"));
  std::vector<int> versions;
  if (exists.Get(0, 0) != "t") return versions;
  MIGSBYU_ASSIGN(auto rows, conn.Exec("SELECT version FROM schema_migrations ORDER BY version"));
  for (int i = 0; i < rows.rows(); ++i) versions.push_back(std::atoi(rows.Get(i, 0).data()));
  return versions;
}

Status ApplyMigrations(pg::Connection& conn) {
  MIGSBYU_TRY(conn.ExecParams("SELECT pg_advisory_lock($1::bigint)", {kMigrationLockKey}));
  auto run = [&]() -> Status {
    // Checked first rather than CREATE TABLE IF NOT EXISTS, whose NOTICE would reach the user at
    // every start; the advisory lock keeps the check and the creation together.
    MIGSBYU_ASSIGN(auto exists, conn.Exec("SELECT to_regclass('schema_migrations') IS NOT NULL"));
    if (exists.Get(0, 0) != "t") {
      MIGSBYU_TRY(conn.Exec("CREATE TABLE schema_migrations ("
                            " version integer PRIMARY KEY,"
                            " name text NOT NULL,"
                            " applied_at timestamptz NOT NULL DEFAULT now())"));
    }
    MIGSBYU_ASSIGN(auto applied, AppliedVersions(conn));
    for (const auto& m : Migrations()) {
      if (std::find(applied.begin(), applied.end(), m.version) != applied.end()) continue;
      MIGSBYU_TRY(ApplyOne(conn, m));
    }
    return OkStatus();
  };
  Status status = run();
  (void)conn.ExecParams("SELECT pg_advisory_unlock($1::bigint)", {kMigrationLockKey});
  return status;
}

}  // namespace migsbyu::oltp
