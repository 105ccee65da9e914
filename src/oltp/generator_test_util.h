// Test helpers shared by generator_test.cc and simulator_test.cc: a fresh database with the
// portal's schema on the test cluster (support/test_database.h), and ways to read it back.
//
// Threading: one test thread.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "oltp/generator.h"
#include "oltp/migrations.h"
#include "support/test_database.h"

namespace migsbyu::oltp {

class SchemaDatabase {
 public:
  SchemaDatabase() : conn_(Open(db_.url())) {
    auto migrated = ApplyMigrations(conn_);
    EXPECT_TRUE(migrated.ok()) << migrated.error().ToString();
  }
  pg::Connection& conn() { return conn_; }
  const std::string& url() const { return db_.url(); }

  // The single value `sql` selects, as text.
  std::string Scalar(const std::string& sql) {
    auto result = conn_.Exec(sql);
    EXPECT_TRUE(result.ok()) << sql << ": " << result.error().ToString();
    if (!result.ok() || result->rows() != 1) return "<no row>";
    return std::string(result->Get(0, 0));
  }
  int64_t Count(const std::string& sql) { return std::stoll(Scalar(sql)); }
  double Number(const std::string& sql) { return std::stod(Scalar(sql)); }

  // Every row of the five tables, in a canonical order.
  std::string Dump() {
    std::string all;
    for (const char* table : {"students", "professors", "courses", "takes", "teaches"}) {
      all += Scalar(std::string("SELECT coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '') "
                                "FROM ") +
                    table + " t") +
             "\n--\n";
    }
    return all;
  }

  // Generate(), failing the test on error.
  GenerateCounts MustGenerate(const GenerateCounts& wanted, uint64_t seed) {
    auto done = Generate(conn_, wanted, seed, Actor::Cli());
    EXPECT_TRUE(done.ok()) << done.error().ToString();
    return done.ok() ? *done : GenerateCounts{};
  }

 private:
  static pg::Connection Open(const std::string& url) {
    auto conn = pg::Connection::Open(url);
    if (!conn.ok()) {
      ADD_FAILURE() << conn.error().ToString();
      std::abort();
    }
    return std::move(conn).value();
  }

  testing::TestDatabase db_{"gen"};
  pg::Connection conn_;
};

}  // namespace migsbyu::oltp
