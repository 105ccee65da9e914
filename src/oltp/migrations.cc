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

// Sign-in (auth/accounts.h). Its tables live in the private schema (common/private_schema.h),
// which change capture never publishes: none of them, nor any credential, reaches the lake, a
// Kafka topic or a change file. Passwords are Argon2id strings; sessions and tokens are kept only
// as the digests of their secrets. `generation` counts committed changes that can refuse a
// credential (a revocation, a disabled user, a new role): each serving process polls it and
// reloads its cache when it moves, so a change made by another process (`migsbyu token revoke`)
// takes effect there within its poll interval. Last-seen and last-used times change without
// moving it. Nothing of the login rate limiter is stored: its counts live in the process.
constexpr const char* kSignIn = R"sql(
CREATE SCHEMA migsbyu_auth;
REVOKE ALL ON SCHEMA migsbyu_auth FROM PUBLIC;
CREATE TABLE migsbyu_auth.users (
  id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name                text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
  role                text NOT NULL CHECK (role IN ('viewer', 'analyst', 'registrar', 'admin')),
  pii                 boolean NOT NULL,
  password_hash       text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
  disabled            boolean NOT NULL DEFAULT false,
  created_at          timestamptz NOT NULL DEFAULT now(),
  password_changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE migsbyu_auth.sessions (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  digest       text NOT NULL UNIQUE CHECK (digest ~ '^[0-9a-f]{64}$'),
  user_id      bigint NOT NULL REFERENCES migsbyu_auth.users (id) ON DELETE CASCADE,
  created_at   timestamptz NOT NULL,
  last_seen_at timestamptz NOT NULL,
  expires_at   timestamptz NOT NULL,
  revoked_at   timestamptz,
  peer         text NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user_id_idx ON migsbyu_auth.sessions (user_id);
CREATE TABLE migsbyu_auth.tokens (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name         text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
  digest       text NOT NULL UNIQUE CHECK (digest ~ '^[0-9a-f]{64}$'),
  role         text NOT NULL CHECK (role IN ('viewer', 'analyst', 'registrar', 'admin')),
  pii          boolean NOT NULL,
  created_by   text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz,
  revoked_at   timestamptz,
  last_used_at timestamptz
);
CREATE UNIQUE INDEX tokens_live_name_idx ON migsbyu_auth.tokens (name) WHERE revoked_at IS NULL;
CREATE TABLE migsbyu_auth.generation (
  single boolean PRIMARY KEY DEFAULT true CHECK (single),
  value  bigint NOT NULL
);
INSERT INTO migsbyu_auth.generation (value) VALUES (0);
CREATE FUNCTION migsbyu_auth.bump_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE migsbyu_auth.generation SET value = value + 1;
  RETURN NULL;
END
$$;
CREATE TRIGGER users_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON migsbyu_auth.users
  FOR EACH STATEMENT EXECUTE FUNCTION migsbyu_auth.bump_generation();
CREATE TRIGGER sessions_changed
  AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF user_id, expires_at, revoked_at
  ON migsbyu_auth.sessions FOR EACH STATEMENT EXECUTE FUNCTION migsbyu_auth.bump_generation();
CREATE TRIGGER tokens_changed
  AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF digest, role, pii, expires_at, revoked_at
  ON migsbyu_auth.tokens FOR EACH STATEMENT EXECUTE FUNCTION migsbyu_auth.bump_generation();
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
      {2, "sign-in: users, sessions and tokens in the private schema", kSignIn},
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
      MIGSBYU_TRY(
          conn.Exec("CREATE TABLE schema_migrations ("
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
