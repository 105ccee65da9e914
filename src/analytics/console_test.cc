// The SQL console over the fixture lake, each query in a real worker process (the `migsbyu`
// binary of this build), and the console's handling of workers that misbehave.
#include "analytics/console.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "analytics/console_testing.h"
#include "analytics/fixture_lake.h"

namespace migsbyu::analytics {
namespace {

using Clock = std::chrono::steady_clock;

// A query that runs far longer than any test's time limit (hours), in little memory: the rows
// stream through the sum.
constexpr const char* kSlowQuery = "SELECT sum(range % 7) FROM range(1000000000000)";

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The processes whose command line contains `text`, zombies (which have none) aside.
std::vector<pid_t> ProcessesNamed(const std::string& text) {
  std::vector<pid_t> found;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    if (ReadText(entry.path() / "cmdline").find(text) != std::string::npos) {
      found.push_back(static_cast<pid_t>(std::stoi(name)));
    }
  }
  return found;
}

// The pids of this process's children: the console's workers (the test starts no others).
std::vector<pid_t> Workers() {
  std::vector<pid_t> found;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string stat = ReadText(entry.path() / "stat");
    auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream fields(stat.substr(close + 2));
    std::string state;
    pid_t ppid = 0;
    fields >> state >> ppid;
    if (ppid != getpid()) continue;
    found.push_back(static_cast<pid_t>(std::stoi(name)));
  }
  return found;
}

// The value of `key` in a /proc status-like file ("Key:\tvalue").
std::string StatusValue(const std::string& text, const std::string& key) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with(key + ":")) {
      std::string value = line.substr(key.size() + 1);
      value.erase(0, value.find_first_not_of(" \t"));
      return value;
    }
  }
  return "";
}

class ConsoleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(lake_.Execute(testing::ReadFileOrDie(testing::StandardFixtureSql())).ok());
    ASSERT_TRUE(lake_.Publish().ok());
    console_ = OpenConsole(testing::TestConsoleOptions());
    ConsoleOptions quick = testing::TestConsoleOptions();
    quick.time_limit = std::chrono::milliseconds(2000);
    quick_ = OpenConsole(quick);
  }

  std::unique_ptr<SqlConsole> OpenConsole(ConsoleOptions options) {
    auto console = SqlConsole::Open(lake_, std::move(options));
    EXPECT_TRUE(console.ok()) << console.error().ToString();
    return console.ok() ? std::move(console).value() : nullptr;
  }

  ConsoleResult Ok(const std::string& sql, std::optional<int64_t> limit = std::nullopt,
                   PersonalData personal = PersonalData::kShown) {
    auto result = console_->Run(sql, limit, personal);
    EXPECT_TRUE(result.ok()) << sql << ": " << result.error().ToString();
    return result.ok() ? *result : ConsoleResult{};
  }

  // Expects a refusal whose message contains `why`; returns the message.
  std::string Refused(const std::string& sql, const std::string& why,
                      SqlConsole* console = nullptr) {
    auto result = (console ? console : console_.get())->Run(sql, std::nullopt);
    EXPECT_FALSE(result.ok()) << "ran: " << sql;
    if (result.ok()) return "";
    EXPECT_EQ(result.error().code(), ErrorCode::kInvalidArgument) << sql;
    EXPECT_NE(result.error().message().find(why), std::string::npos)
        << sql << " gave: " << result.error().message();
    return result.error().message();
  }

  // Polls `condition` until it holds; fails the test after 30 s.
  template <typename F>
  bool Eventually(F condition) {
    auto deadline = Clock::now() + std::chrono::seconds(30);
    while (!condition()) {
      if (Clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }

  testing::FixtureLake lake_;
  std::unique_ptr<SqlConsole> console_;
  std::unique_ptr<SqlConsole> quick_;  // time limit 2 s, for the tests that reach it
};

TEST_F(ConsoleTest, RunsAReadQueryOverTheLakeViews) {
  auto before = Clock::now();
  ConsoleResult r =
      Ok("SELECT id, gpa, row_effective_start FROM students_dim "
         "WHERE current_row_indicator = 'yes' ORDER BY id");
  double waited_ms = std::chrono::duration<double, std::milli>(Clock::now() - before).count();
  EXPECT_EQ(r.columns, nlohmann::json::parse(R"j([{"name":"id","type":"VARCHAR"},
      {"name":"gpa","type":"DECIMAL(3,2)"},
      {"name":"row_effective_start","type":"TIMESTAMP WITH TIME ZONE"}])j"));
  EXPECT_EQ(r.rows, nlohmann::json::parse(R"([["S1",2.1,"2026-05-10T10:00:00.000000Z"],
      ["S2",4.0,"2026-01-10T10:00:00.000000Z"],["S3",1.2,"2026-03-10T10:00:00.000000Z"]])"));
  EXPECT_FALSE(r.truncated);
  EXPECT_FALSE(r.truncated_by.has_value());
  // The time measured is that of this query: some of what the caller waited, never more.
  EXPECT_GT(r.elapsed_ms, 0);
  EXPECT_LE(r.elapsed_ms, waited_ms);
  auto json = r.ToJson();
  for (const char* key : {"columns", "rows", "truncated", "truncated_by", "elapsed_ms"}) {
    EXPECT_TRUE(json.contains(key)) << key;
  }
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
  EXPECT_GE(cases, 60);
  for (const char* name : {"copy.csv", "attached.db", "export"}) {
    EXPECT_FALSE(std::filesystem::exists(lake_.Directory() + "/" + name)) << name;
  }
  EXPECT_FALSE(std::filesystem::exists("/tmp/migsbyu-console-stolen.csv"));
  EXPECT_EQ(Ok("SELECT count(*) FROM students_dim").rows, nlohmann::json::parse("[[7]]"));
}

TEST_F(ConsoleTest, TruncatesAtTheRowLimit) {
  ConsoleResult ten = Ok("SELECT range FROM range(50)", 10);
  EXPECT_EQ(ten.rows.size(), 10u);
  EXPECT_TRUE(ten.truncated);
  EXPECT_EQ(ten.truncated_by, "rows");
  ConsoleResult all = Ok("SELECT range FROM range(50)", 50);
  EXPECT_EQ(all.rows.size(), 50u);
  EXPECT_FALSE(all.truncated);
  ConsoleResult by_default = Ok("SELECT range FROM range(5000)");
  EXPECT_EQ(by_default.rows.size(), 1000u);
  EXPECT_TRUE(by_default.truncated);
  EXPECT_FALSE(console_->Run("SELECT 1", 0).ok());
  EXPECT_FALSE(console_->Run("SELECT 1", 10001).ok());
}

TEST_F(ConsoleTest, TruncatesAtTheByteCap) {
  ConsoleOptions options = testing::TestConsoleOptions();
  options.max_result_bytes = 10000;
  auto console = OpenConsole(options);
  // Rows of 1,000 characters: nine fit in 10,000 bytes of JSON, ten do not.
  auto r = console->Run("SELECT repeat('x', 1000) AS x FROM range(100)", 50);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->rows.size(), 9u);
  EXPECT_TRUE(r->truncated);
  EXPECT_EQ(r->truncated_by, "bytes");
  EXPECT_LE(r->rows.dump().size(), 10000u);
  // One value larger than the whole cap: no row at all, and the answer says why.
  auto huge = console->Run("SELECT repeat('x', 1000000) AS x", 1);
  ASSERT_TRUE(huge.ok()) << huge.error().ToString();
  EXPECT_TRUE(huge->rows.empty());
  EXPECT_EQ(huge->truncated_by, "bytes");
}

TEST_F(ConsoleTest, StopsAQueryOverTheTimeLimitAndKeepsWorking) {
  Refused(kSlowQuery, "time limit of 2000 ms", quick_.get());
  EXPECT_TRUE(Workers().empty()) << "a stopped worker was left behind";
  auto after = quick_->Run("SELECT 42", std::nullopt);
  ASSERT_TRUE(after.ok()) << after.error().ToString();
  EXPECT_EQ(after->rows, nlohmann::json::parse("[[42]]"));
}

TEST_F(ConsoleTest, AQueryOverTheMemoryLimitFailsAlone) {
  // The query of issue 10, which grew the portal to 24 GB when it ran in the portal's process.
  std::string message = Refused("SELECT len(list_sort(range(500000000)))", "memory limit (1 GiB)");
  EXPECT_EQ(message.find("SET threads"), std::string::npos) << "DuckDB's advice is for its "
                                                               "own users: "
                                                            << message;
  EXPECT_EQ(Ok("SELECT count(*) FROM takes_changes").rows, nlohmann::json::parse("[[7]]"));
}

TEST_F(ConsoleTest, AStoppedQueryStopsOnlyItself) {
  std::thread slow([&] { Refused(kSlowQuery, "time limit", quick_.get()); });
  for (int i = 0; i < 5; ++i) {
    auto r = quick_->Run("SELECT count(*) FROM takes_changes", std::nullopt);
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    EXPECT_EQ(r->rows, nlohmann::json::parse("[[7]]"));
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

TEST_F(ConsoleTest, PersonalDataIsMaskedInTheViewsThemselves) {
  auto masked = [&](const std::string& sql) {
    auto r = console_->Run(sql, std::nullopt, PersonalData::kMasked);
    EXPECT_TRUE(r.ok()) << sql << ": " << r.error().ToString();
    return r.ok() ? r->rows : nlohmann::json();
  };
  EXPECT_EQ(masked("SELECT DISTINCT address, date_of_birth FROM students_dim"),
            nlohmann::json::parse(R"([["***", "***"]])"));
  // No expression over the view reaches the value underneath.
  EXPECT_EQ(masked("SELECT max(address), min(CAST(date_of_birth AS VARCHAR)), "
                   "substr(max(address), 1, 1), count(DISTINCT address), "
                   "bool_or(address LIKE '%Main%') FROM students_dim"),
            nlohmann::json::parse(R"([["***", "***", "*", 1, false]])"));
  EXPECT_EQ(masked("SELECT count(*) FROM students_dim s JOIN professors_dim p "
                   "ON s.address <> p.address"),
            nlohmann::json::parse("[[0]]"));
  EXPECT_EQ(masked("SELECT address FROM professors_dim LIMIT 1"),
            nlohmann::json::parse(R"([["***"]])"));
  // With the grant, the values.
  EXPECT_EQ(Ok("SELECT address FROM students_dim WHERE id = 'S2' LIMIT 1").rows,
            nlohmann::json::parse(R"([["2 Main St"]])"));
  // Masked is the default.
  EXPECT_EQ(console_->Run("SELECT address FROM students_dim LIMIT 1", std::nullopt)->rows,
            nlohmann::json::parse(R"([["***"]])"));
}

TEST_F(ConsoleTest, OpenRefusesAConsoleWithoutPersonalColumns) {
  ConsoleOptions options = testing::TestConsoleOptions();
  options.personal_columns.clear();
  EXPECT_FALSE(SqlConsole::Open(lake_, options).ok());
}

// The worker, observed from outside while it runs a query: its environment, limits, privileges,
// descriptors and process group.
TEST_F(ConsoleTest, TheWorkerRunsConfined) {
  ASSERT_EQ(setenv("DATABASE_URL", "postgresql://portal:secret@127.0.0.1/migsbyu", 1), 0);
  std::thread slow([&] { Refused(kSlowQuery, "time limit", quick_.get()); });
  std::vector<pid_t> workers;
  ASSERT_TRUE(Eventually([&] {
    workers = Workers();
    // Running the query: past confinement, with the request read.
    return !workers.empty() &&
           StatusValue(ReadText("/proc/" + std::to_string(workers[0]) + "/status"), "Seccomp") ==
               "2" &&
           StatusValue(ReadText("/proc/" + std::to_string(workers[0]) + "/status"), "Threads") !=
               "1";
  }));
  std::string proc = "/proc/" + std::to_string(workers[0]);
  std::string status = ReadText(proc + "/status");
  EXPECT_EQ(ReadText(proc + "/environ"), "") << "the worker inherited an environment";
  EXPECT_EQ(StatusValue(status, "NoNewPrivs"), "1");
  EXPECT_EQ(StatusValue(status, "Seccomp"), "2");
  EXPECT_EQ(StatusValue(status, "CapEff"), "0000000000000000");
  EXPECT_EQ(StatusValue(status, "CapPrm"), "0000000000000000");
  EXPECT_EQ(getpgid(workers[0]), workers[0]) << "not in a process group of its own";
  EXPECT_EQ(getsid(workers[0]), workers[0]) << "not in a session of its own";
  std::string limits = ReadText(proc + "/limits");
  auto limit_line = [&](const std::string& name) {
    auto at = limits.find(name);
    return at == std::string::npos ? std::string() : limits.substr(at, limits.find('\n', at) - at);
  };
  EXPECT_NE(limit_line("Max address space").find("1073741824           1073741824"),
            std::string::npos)
      << limit_line("Max address space");
  EXPECT_NE(limit_line("Max core file size").find("0                    0"), std::string::npos)
      << limit_line("Max core file size");
  EXPECT_NE(limit_line("Max file size").find("0                    0"), std::string::npos)
      << limit_line("Max file size");
  // 2 s of wall-clock time on 2 threads, plus one second; SIGKILL one second later.
  EXPECT_NE(limit_line("Max cpu time").find("5                    6"), std::string::npos)
      << limit_line("Max cpu time");
  // Descriptors: the socket (stdin and stdout), /dev/null (stderr), and whatever DuckDB opened
  // since (the lake's files), read-only.
  for (const auto& fd : std::filesystem::directory_iterator(proc + "/fd")) {
    std::error_code ec;
    std::string target = std::filesystem::read_symlink(fd.path(), ec).string();
    std::string info = ReadText(proc + "/fdinfo/" + fd.path().filename().string());
    if (ec || info.empty()) continue;  // closed meanwhile
    std::string n = fd.path().filename();
    if (n == "0" || n == "1") {
      EXPECT_TRUE(target.starts_with("socket:")) << n << " -> " << target;
    } else if (n == "2") {
      EXPECT_EQ(target, "/dev/null");
    } else {
      int flags = std::stoi(StatusValue(info, "flags"), nullptr, 8);
      EXPECT_EQ(flags & O_ACCMODE, O_RDONLY) << "descriptor " << n << " -> " << target;
    }
  }
  slow.join();
  unsetenv("DATABASE_URL");
}

TEST_F(ConsoleTest, AFullQueueAnswersTooManyRequests) {
  ConsoleOptions options = testing::TestConsoleOptions();
  options.max_workers = 1;
  options.max_queued = 1;
  options.time_limit = std::chrono::milliseconds(2000);
  auto console = OpenConsole(options);
  std::thread running([&] { Refused(kSlowQuery, "time limit", console.get()); });
  ASSERT_TRUE(Eventually([&] { return console->Load().running == 1; }));
  std::thread queued([&] { Refused(kSlowQuery, "time limit", console.get()); });
  ASSERT_TRUE(Eventually([&] { return console->Load().queued == 1; }));
  auto refused = console->Run("SELECT 1", std::nullopt);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), ErrorCode::kTooManyRequests);
  EXPECT_NE(refused.error().message().find("queue is full"), std::string::npos)
      << refused.error().message();
  running.join();
  queued.join();
  // The places come back.
  EXPECT_EQ(console->Load().running, 0);
  EXPECT_TRUE(console->Run("SELECT 1", std::nullopt).ok());
}

// testdata/hostile_workers.txt: workers that misbehave (shell scripts standing in for a worker
// that a query took over). Each must end in the expected error, the portal reading no more than
// its bound, and leave no process behind.
TEST_F(ConsoleTest, HostileWorkersFailCleanly) {
  std::istringstream lines(
      testing::ReadFileOrDie(std::string(MIGSBYU_ANALYTICS_TESTDATA) + "/hostile_workers.txt"));
  int cases = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    auto bar = line.find(" | ");
    ASSERT_NE(bar, std::string::npos) << "malformed case: " << line;
    std::istringstream head(line.substr(0, bar));
    int status = 0;
    std::string why;
    head >> status;
    std::getline(head >> std::ws, why);
    while (!why.empty() && why.back() == ' ') why.pop_back();
    ConsoleOptions options = testing::TestConsoleOptions();
    options.worker_program = "/bin/sh";
    options.worker_args = {"-c", line.substr(bar + 3)};
    options.time_limit = std::chrono::milliseconds(1000);
    auto console = OpenConsole(options);
    auto result = console->Run("SELECT 1", std::nullopt);
    ++cases;
    ASSERT_FALSE(result.ok()) << line;
    int http = result.error().code() == ErrorCode::kInvalidArgument ? 400
               : result.error().code() == ErrorCode::kUnavailable   ? 503
                                                                    : 500;
    EXPECT_EQ(http, status) << line << ": " << result.error().ToString();
    EXPECT_NE(result.error().message().find(why), std::string::npos)
        << line << ": " << result.error().message();
    EXPECT_TRUE(Workers().empty()) << line;
    // What a worker started in its process group dies with it.
    EXPECT_TRUE(Eventually([] { return ProcessesNamed("30.4217").empty(); })) << line;
  }
  EXPECT_GE(cases, 8);
}

}  // namespace
}  // namespace migsbyu::analytics
