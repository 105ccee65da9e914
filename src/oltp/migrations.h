// The operational schema of the portal: versioned migrations applied once each, in order.
//
// Every component relies on these exact tables (students, professors, courses, takes for
// enrollments, teaches for assignments) and on REPLICA IDENTITY FULL, which lets change data
// capture see whole before-images of updated and deleted rows. Sign-in's tables (users, sessions,
// tokens) live apart, in the private schema that capture never reads (common/private_schema.h).
// Applied migrations are recorded in schema_migrations(version, name, applied_at); each migration
// runs in its own transaction with its record, so a failure leaves the schema at the previous
// version.
//
// Threading: ApplyMigrations uses the caller's connection only. Concurrent callers on different
// connections (two processes starting at once) are serialized by a PostgreSQL advisory lock.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "pg/connection.h"

namespace migsbyu::oltp {

struct Migration {
  int version;
  std::string name;
  std::string sql;  // fixed DDL, no values
};

// Every migration in version order. Versions are unique and increasing; never edit one that has
// shipped: add a new one.
const std::vector<Migration>& Migrations();

// Applies each migration whose version schema_migrations does not record yet. Idempotent.
// Returns the first failure, naming the migration; earlier migrations stay applied.
Status ApplyMigrations(pg::Connection& conn);

// The versions recorded in schema_migrations, ascending (empty if the table does not exist).
Result<std::vector<int>> AppliedVersions(pg::Connection& conn);

}  // namespace migsbyu::oltp
