#include "analytics/console.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "analytics/fixture_lake.h"

namespace migsbyu::analytics {
namespace {

class ConsoleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(lake_.Execute(testing::ReadFileOrDie(testing::StandardFixtureSql())).ok());
    ASSERT_TRUE(lake_.Publish().ok());
    ConsoleOptions options;
    options.time_limit = std::chrono::milliseconds(300);
    auto console = SqlConsole::Open(lake_, options);
    ASSERT_TRUE(console.ok()) << console.error().ToString();
    console_ = std::move(console).value();
  }

  ConsoleResult Ok(const std::string& sql, std::optional<int64_t> limit = std::nullopt) {
    auto result = console_->Run(sql, limit);
    EXPECT_TRUE(result.ok()) << sql << ": " << result.error().ToString();
    return result.ok() ? *result : ConsoleResult{};
  }

  // Expects a refusal whose message contains `why`; returns the message.
  std::string Refused(const std::string& sql, const std::string& why) {
    auto result = console_->Run(sql, std::nullopt);
    EXPECT_FALSE(result.ok()) << "ran: " << sql;
    if (result.ok()) return "";
    EXPECT_EQ(result.error().code(), ErrorCode::kInvalidArgument) << sql;
    EXPECT_NE(result.error().message().find(why), std::string::npos)
        << sql << " gave: " << result.error().message();
    return result.error().message();
  }

  std::string LakeFile(const std::string& name) { return lake_.Directory() + "/" + name; }

  testing::FixtureLake lake_;
  std::unique_ptr<SqlConsole> console_;
};

TEST_F(ConsoleTest, RunsAReadQueryOverTheLakeViews) {
  ConsoleResult r =
      Ok("SELECT id, gpa, row_effective_start FROM students_dim "
         "WHERE current_row_indicator = 'yes' ORDER BY id");
  EXPECT_EQ(r.columns, nlohmann::json::parse(R"j([{"name":"id","type":"VARCHAR"},
      {"name":"gpa","type":"DECIMAL(3,2)"},
      {"name":"row_effective_start","type":"TIMESTAMP WITH TIME ZONE"}])j"));
  EXPECT_EQ(r.rows, nlohmann::json::parse(R"([["S1",2.1,"2026-05-10T10:00:00.000000Z"],
      ["S2",4.0,"2026-01-10T10:00:00.000000Z"],["S3",1.2,"2026-03-10T10:00:00.000000Z"]])"));
  EXPECT_FALSE(r.truncated);
  EXPECT_GE(r.elapsed_ms, 0);
  auto json = r.ToJson();
  EXPECT_TRUE(json.contains("columns") && json.contains("rows") && json.contains("truncated") &&
              json.contains("elapsed_ms"));
}

TEST_F(ConsoleTest, AcceptsCommentsSemicolonsAndOtherReadForms) {
  EXPECT_EQ(Ok("  -- count\n/* block */ SELECT count(*) AS n FROM takes_changes;  ").rows,
            nlohmann::json::parse("[[7]]"));
  EXPECT_EQ(Ok("SELECT 1 AS one -- trailing comment").rows, nlohmann::json::parse("[[1]]"));
  EXPECT_EQ(Ok("WITH t AS (SELECT 2 AS two) SELECT * FROM t").rows, nlohmann::json::parse("[[2]]"));
  EXPECT_EQ(Ok("FROM courses_dim SELECT id ORDER BY id").rows,
            nlohmann::json::parse(R"([["MAT101"],["PHY101"]])"));
  EXPECT_EQ(Ok("SELECT range AS i FROM range(5) ORDER BY i DESC").rows,
            nlohmann::json::parse("[[4],[3],[2],[1],[0]]"));
}

TEST_F(ConsoleTest, MayReadTheLakesOwnFiles) {
  ConsoleResult r =
      Ok("SELECT count(*) FROM read_parquet('" + LakeFile("students_dim-v1.parquet") + "')");
  EXPECT_EQ(r.rows, nlohmann::json::parse("[[7]]"));
}

// The same lake, named through a symbolic link to its folder.
class LinkedLake : public LakeAccess {
 public:
  LinkedLake(LakeAccess& lake, std::string link) : lake_(lake), link_(std::move(link)) {}
  Status Read(const std::function<Status(duck::Connection&)>& read) override {
    return lake_.Read(read);
  }
  LakeCommit Latest() override { return lake_.Latest(); }
  std::optional<LakeCommit> WaitForCommit(uint64_t v, std::chrono::milliseconds t) override {
    return lake_.WaitForCommit(v, t);
  }
  std::string Directory() override { return link_; }

 private:
  LakeAccess& lake_;
  std::string link_;
};

TEST_F(ConsoleTest, LakeFolderNamedThroughASymbolicLinkStillReads) {
  std::string link = lake_.Directory() + "-link";
  std::filesystem::create_directory_symlink(lake_.Directory(), link);
  LinkedLake linked(lake_, link);
  auto console = SqlConsole::Open(linked);
  ASSERT_TRUE(console.ok()) << console.error().ToString();
  auto views = (*console)->Run("SELECT count(*) FROM students_dim", std::nullopt);
  EXPECT_TRUE(views.ok()) << views.error().ToString();
  auto through_link = (*console)->Run(
      "SELECT count(*) FROM read_parquet('" + link + "/students_dim-v1.parquet')", std::nullopt);
  EXPECT_TRUE(through_link.ok()) << through_link.error().ToString();
  EXPECT_FALSE((*console)->Run("SELECT * FROM read_text('/etc/passwd')", std::nullopt).ok());
  std::filesystem::remove(link);
}

TEST_F(ConsoleTest, RefusesReadingFilesOutsideTheLake) {
  Refused("SELECT * FROM read_csv('/etc/passwd', sep = ':')", "refused");
  Refused("SELECT * FROM read_text('/etc/passwd')", "/etc/passwd");
  Refused("SELECT * FROM read_text('" + LakeFile("../../etc/passwd") + "')", "refused");
  Refused("SELECT * FROM glob('/*')", "refused");
  Refused("SELECT * FROM read_csv('https://example.com/x.csv')", "sql: ");
}

TEST_F(ConsoleTest, RefusesCopyTo) {
  Refused("COPY (SELECT * FROM students_dim) TO '/tmp/migsbyu-console-stolen.csv'", "COPY");
  Refused("COPY students_dim TO '" + LakeFile("copy.csv") + "'", "COPY");
  EXPECT_FALSE(std::filesystem::exists(LakeFile("copy.csv")));
  EXPECT_FALSE(std::filesystem::exists("/tmp/migsbyu-console-stolen.csv"));
}

TEST_F(ConsoleTest, RefusesAttachInstallLoadSetAndPragma) {
  Refused("ATTACH '" + LakeFile("attached.db") + "' AS other", "ATTACH");
  EXPECT_FALSE(std::filesystem::exists(LakeFile("attached.db")));
  Refused("INSTALL httpfs", "INSTALL");
  Refused("LOAD httpfs", "LOAD");
  Refused("SET enable_external_access = true", "SET");
  Refused("RESET lock_configuration", "RESET");
  Refused("PRAGMA version", "PRAGMA");
  Refused("PRAGMA enable_profiling", "PRAGMA");
  Refused("CALL pragma_version()", "CALL");
}

TEST_F(ConsoleTest, RefusesWritesAndEverythingButOneQuery) {
  Refused("CREATE TABLE t AS SELECT 1", "CREATE");
  Refused("CREATE OR REPLACE VIEW students_dim AS SELECT 1", "CREATE");
  Refused("INSERT INTO students_dim SELECT * FROM students_dim", "INSERT");
  Refused("DROP VIEW students_dim", "DROP");
  Refused("EXPORT DATABASE '" + LakeFile("export") + "'", "EXPORT");
  Refused("EXPLAIN SELECT 1", "EXPLAIN");
  Refused("BEGIN TRANSACTION", "BEGIN");
  Refused("DETACH memory", "DETACH");
  Refused("SELECT 1; DROP VIEW students_dim", "several statements");
  Refused("   ", "empty");
  Refused("-- only a comment", "empty");
  Refused("SELECT $1", "parameters");
  // The views are intact after all that.
  EXPECT_EQ(Ok("SELECT count(*) FROM students_dim").rows, nlohmann::json::parse("[[7]]"));
}

TEST_F(ConsoleTest, ConfigurationIsLockedEvenIfASetGotThrough) {
  // The sandbox's own settings say what the statement checks rely on.
  ConsoleResult r =
      Ok("SELECT name, value FROM duckdb_settings() WHERE name IN "
         "('enable_external_access', 'lock_configuration') ORDER BY name");
  EXPECT_EQ(r.rows, nlohmann::json::parse(
                        R"([["enable_external_access","false"],["lock_configuration","true"]])"));
}

TEST_F(ConsoleTest, TruncatesAtTheRowLimit) {
  ConsoleResult ten = Ok("SELECT range FROM range(50)", 10);
  EXPECT_EQ(ten.rows.size(), 10u);
  EXPECT_TRUE(ten.truncated);
  ConsoleResult all = Ok("SELECT range FROM range(50)", 50);
  EXPECT_EQ(all.rows.size(), 50u);
  EXPECT_FALSE(all.truncated);
  ConsoleResult by_default = Ok("SELECT range FROM range(5000)");
  EXPECT_EQ(by_default.rows.size(), 1000u);
  EXPECT_TRUE(by_default.truncated);
  EXPECT_FALSE(console_->Run("SELECT 1", 0).ok());
  EXPECT_FALSE(console_->Run("SELECT 1", 10001).ok());
}

TEST_F(ConsoleTest, InterruptsAQueryOverTheTimeLimit) {
  Refused("SELECT sum(a.range * b.range) FROM range(1000000000) a, range(1000000000) b",
          "time limit");
  // The console keeps working after an interrupt.
  EXPECT_EQ(Ok("SELECT 42").rows, nlohmann::json::parse("[[42]]"));
}

TEST_F(ConsoleTest, SeesTheLakesNextCommit) {
  EXPECT_EQ(Ok("SELECT count(*) FROM course_enrollment_fact").rows, nlohmann::json::parse("[[6]]"));
  ASSERT_TRUE(lake_
                  .Execute("INSERT INTO course_enrollment_fact VALUES "
                           "(7, 1, 1, 'Fall 2026', 1, '2026-05-11 10:00:00+00', 600)")
                  .ok());
  ASSERT_TRUE(lake_.Publish(Lsn(600)).ok());
  EXPECT_EQ(Ok("SELECT count(*) FROM course_enrollment_fact").rows, nlohmann::json::parse("[[7]]"));
}

}  // namespace
}  // namespace migsbyu::analytics
