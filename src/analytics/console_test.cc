#include "analytics/console.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>
#include <thread>

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

TEST_F(ConsoleTest, NestedAndOtherTypesComeWithTheirNamesAsText) {
  ConsoleResult r =
      Ok("SELECT [1, 2] AS l, {'x': 1} AS s, INTERVAL 1 DAY AS i, "
         "170141183460469231731687303715884105727::HUGEINT AS h, "
         "TIMESTAMP '2026-01-02 03:04:05' AS ts, NULL::INTEGER AS n, 'NaN'::DOUBLE AS nan, 1 AS l");
  std::vector<std::string> types;
  for (const auto& c : r.columns) types.push_back(c["type"]);
  EXPECT_EQ(types,
            (std::vector<std::string>{"INTEGER[]", "STRUCT(x INTEGER)", "INTERVAL", "HUGEINT",
                                      "TIMESTAMP", "INTEGER", "DOUBLE", "INTEGER"}));
  EXPECT_EQ(r.columns[7]["name"], "l_1");  // duplicate names are told apart
  EXPECT_EQ(r.rows, nlohmann::json::parse(R"j([["[1, 2]", "{'x': 1}", "1 day",
      "170141183460469231731687303715884105727", "2026-01-02 03:04:05", null, "nan", 1]])j"));
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

// testdata/console_cases.txt: every case, then checks that no refused statement left a trace.
TEST_F(ConsoleTest, CasesFromTheDataFile) {
  std::istringstream lines(
      testing::ReadFileOrDie(std::string(MIGSBYU_ANALYTICS_TESTDATA) + "/console_cases.txt"));
  std::string line;
  int cases = 0;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto bar = line.find(" | ");
    ASSERT_NE(bar, std::string::npos) << "malformed case: " << line;
    std::string expectation = line.substr(0, bar);
    std::string sql = line.substr(bar + 3);
    for (size_t at; (at = sql.find("${LAKE}")) != std::string::npos;) {
      sql.replace(at, 7, lake_.Directory());
    }
    while (!expectation.empty() && expectation.back() == ' ') expectation.pop_back();
    ++cases;
    if (expectation.starts_with("ok ")) {
      EXPECT_EQ(Ok(sql).rows.size(), std::stoul(expectation.substr(3))) << sql;
    } else if (expectation.starts_with("refuse ")) {
      Refused(sql, expectation.substr(7));
    } else {
      ADD_FAILURE() << "unknown expectation: " << line;
    }
  }
  EXPECT_GE(cases, 40);
  for (const char* name : {"copy.csv", "attached.db", "export"}) {
    EXPECT_FALSE(std::filesystem::exists(LakeFile(name))) << name;
  }
  EXPECT_FALSE(std::filesystem::exists("/tmp/migsbyu-console-stolen.csv"));
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

TEST_F(ConsoleTest, AnInterruptStopsOnlyItsOwnQuery) {
  std::thread slow([&] {
    Refused("SELECT sum(a.range * b.range) FROM range(1000000000) a, range(1000000000) b",
            "time limit");
  });
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(Ok("SELECT count(*) FROM takes_changes").rows, nlohmann::json::parse("[[7]]"));
  }
  slow.join();
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
