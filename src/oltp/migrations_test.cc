#include "oltp/migrations.h"

#include <gtest/gtest.h>

#include <thread>

#include "support/test_database.h"

namespace migsbyu::oltp {
namespace {

pg::Connection Open(const std::string& url) {
  auto conn = pg::Connection::Open(url);
  EXPECT_TRUE(conn.ok()) << conn.error().ToString();
  return std::move(conn).value();
}

TEST(MigrationsTest, AppliesEveryMigrationOnceAndIsIdempotent) {
  testing::TestDatabase db;
  auto conn = Open(db.url());
  ASSERT_TRUE(ApplyMigrations(conn).ok());
  ASSERT_TRUE(ApplyMigrations(conn).ok());
  auto versions = AppliedVersions(conn);
  ASSERT_TRUE(versions.ok());
  std::vector<int> expected;
  for (const auto& m : Migrations()) expected.push_back(m.version);
  EXPECT_EQ(*versions, expected);
}

TEST(MigrationsTest, ConcurrentMigratorsApplyEachMigrationOnce) {
  testing::TestDatabase db;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      auto conn = pg::Connection::Open(db.url());
      if (!conn.ok() || !ApplyMigrations(*conn).ok()) ++failures;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto conn = Open(db.url());
  auto n = conn.Exec("SELECT count(*) FROM schema_migrations");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->Get(0, 0), std::to_string(Migrations().size()));
}

TEST(MigrationsTest, EveryTableHasReplicaIdentityFull) {
  testing::TestDatabase db;
  auto conn = Open(db.url());
  ASSERT_TRUE(ApplyMigrations(conn).ok());
  auto r = conn.Exec(
      "SELECT relname, relreplident FROM pg_class WHERE relname IN "
      "('students','professors','courses','takes','teaches') ORDER BY relname");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->rows(), 5);
  for (int i = 0; i < r->rows(); ++i) EXPECT_EQ(r->Get(i, 1), "f") << r->Get(i, 0);
}

TEST(MigrationsTest, ConstraintsRejectOutOfRangeValues) {
  testing::TestDatabase db;
  auto conn = Open(db.url());
  ASSERT_TRUE(ApplyMigrations(conn).ok());
  const std::string insert =
      "INSERT INTO students VALUES ($1, 'A', 'B', 'Female', 'Addr', '2000-01-01', 'Physics', $2, "
      "$3, $4)";
  ASSERT_TRUE(conn.ExecParams(insert, {"S1", "1", "4.00", "Full-time"}).ok());
  auto year = conn.ExecParams(insert, {"S2", "0", "3.00", "Full-time"});
  ASSERT_FALSE(year.ok());
  EXPECT_EQ(year.error().code(), ErrorCode::kValidation);
  auto gpa = conn.ExecParams(insert, {"S3", "1", "4.01", "Full-time"});
  ASSERT_FALSE(gpa.ok());
  EXPECT_EQ(gpa.error().code(), ErrorCode::kValidation);
  auto status = conn.ExecParams(insert, {"S4", "1", "3.00", "Sometimes"});
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code(), ErrorCode::kValidation);
  ASSERT_TRUE(conn.Exec("INSERT INTO courses VALUES ('C1', 'Intro', 3, 'Physics')").ok());
  auto semester = conn.ExecParams("INSERT INTO takes VALUES ('S1', 'C1', $1)", {"Winter 2024"});
  ASSERT_FALSE(semester.ok());
  EXPECT_EQ(semester.error().code(), ErrorCode::kValidation);
  ASSERT_TRUE(conn.ExecParams("INSERT INTO takes VALUES ('S1', 'C1', $1)", {"Summer 2024"}).ok());
  auto dangling = conn.ExecParams("INSERT INTO takes VALUES ('S9', 'C1', $1)", {"Fall 2024"});
  ASSERT_FALSE(dangling.ok());
  EXPECT_EQ(dangling.error().code(), ErrorCode::kConflict);
  auto referenced = conn.Exec("DELETE FROM students WHERE id = 'S1'");
  ASSERT_FALSE(referenced.ok());
  EXPECT_EQ(referenced.error().code(), ErrorCode::kConflict);
}

}  // namespace
}  // namespace migsbyu::oltp
