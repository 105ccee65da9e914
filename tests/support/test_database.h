// Test support: the real PostgreSQL server that scripts/test.sh starts for `make test`.
//
// scripts/test.sh exports MIGSBYU_TEST_DATABASE_URL (a URL to the cluster's `postgres` database,
// superuser `migsbyu`, replication allowed) plus MIGSBYU_TEST_PGDATA and MIGSBYU_TEST_PGPORT for
// tests that restart the server. A test that needs PostgreSQL and runs without them fails with a
// message saying so; it never silently passes.
//
// TestDatabase gives each test its own fresh database, so tests can run in parallel and leave
// nothing behind: its destructor drops the database with its replication slots.
//
// Threading: construct and destroy on the test's thread.
#pragma once

#include <string>

namespace migsbyu::testing {

// The URL of the test cluster's `postgres` database. Fails the calling test when unset.
std::string ServerUrl();

// `url` with its database name replaced by `dbname`.
std::string WithDatabase(const std::string& url, const std::string& dbname);

class TestDatabase {
 public:
  // Creates a database named after `prefix` with a unique suffix.
  explicit TestDatabase(const std::string& prefix = "t");
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;
  ~TestDatabase();

  const std::string& name() const { return name_; }
  const std::string& url() const { return url_; }

 private:
  std::string name_;
  std::string url_;
};

}  // namespace migsbyu::testing
