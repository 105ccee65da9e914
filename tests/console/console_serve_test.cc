// The SQL console's hostile corpus (src/analytics/testdata/console_hostile.txt) against a real
// `migsbyu serve` over real HTTP, with capture into a real lake from the test PostgreSQL cluster.
// Every query must be refused or bounded and none may answer 5xx; afterwards the portal must
// still answer, a new change must still reach the lake, and no query may have left a file.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "lake/catalog.h"
#include "oltp/entity.h"
#include "support/child_process.h"
#include "support/test_database.h"

namespace migsbyu {
namespace {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// The limits the server runs the console with: small, so that the bombs stop quickly.
constexpr int kTimeLimitMs = 2000;
constexpr int kMemoryMb = 512;
constexpr int kMaxBytes = 1 << 20;
constexpr int kWorkers = 2;
constexpr int kClients = 4;  // more than the workers: the queue is exercised too
constexpr int kRowLimit = 100;

std::string ReadText(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Polls `condition` every 50 ms until it holds or `seconds` pass.
template <typename F>
bool Eventually(F condition, int seconds) {
  auto deadline = Clock::now() + std::chrono::seconds(seconds);
  while (!condition()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

// The arguments of `migsbyu serve` on `database_url` with the console's test limits.
std::vector<std::string> ServeArgs(const std::string& database_url, const std::string& slot,
                                   const fs::path& lake) {
  std::vector<std::string> args = {MIGSBYU_BINARY,
                                   "serve",
                                   "--database-url",
                                   database_url,
                                   "--api-address",
                                   "127.0.0.1:0",
                                   "--web-address",
                                   "",
                                   "--lake-dir",
                                   lake.string(),
                                   "--slot",
                                   slot,
                                   "--publication",
                                   "console_corpus",
                                   "--threads",
                                   "16",
                                   "--console-workers",
                                   std::to_string(kWorkers),
                                   "--console-queue",
                                   "32",
                                   "--console-time-limit-ms",
                                   std::to_string(kTimeLimitMs),
                                   "--console-memory-mb",
                                   std::to_string(kMemoryMb),
                                   "--console-max-bytes",
                                   std::to_string(kMaxBytes)};
  // Once the portal requires sign-in, the test runs it the way scripts do without credentials.
  std::string help;
  if (FILE* out = popen((std::string(MIGSBYU_BINARY) + " serve --help").c_str(), "r")) {
    char buffer[4096];
    for (size_t n; (n = fread(buffer, 1, sizeof buffer, out)) > 0;) help.append(buffer, n);
    pclose(out);
  }
  if (help.find("--no-auth") != std::string::npos) args.push_back("--no-auth");
  return args;
}

// The API's port once the server has said it serves; 0 if it did not within a minute.
int WaitForPort(testing::ChildProcess& server) {
  static const std::regex api("API: http://127\\.0\\.0\\.1:(\\d+)/docs");
  int port = 0;
  Eventually(
      [&] {
        std::smatch m;
        std::string log = server.Log();
        if (std::regex_search(log, m, api)) port = std::stoi(m[1]);
        return port != 0 || !server.Running();
      },
      60);
  return port;
}

// A valid new student, from the examples of the entity's own description.
std::string StudentBody(const std::string& id) {
  nlohmann::json body = nlohmann::json::object();
  for (const auto& field : oltp::Students().fields) body[field.name] = field.example;
  body["id"] = id;
  return body.dump();
}

struct Case {
  std::string expectation;  // refuse <text> | bounded | truncated <by> | ok
  std::string sql;
  int line = 0;
};

std::vector<Case> LoadCorpus(const std::string& lake) {
  std::istringstream lines(ReadText(MIGSBYU_CONSOLE_CORPUS));
  std::vector<Case> cases;
  int number = 0;
  for (std::string line; std::getline(lines, line);) {
    ++number;
    if (line.empty() || line[0] == '#') continue;
    auto bar = line.find(" | ");
    if (bar == std::string::npos) {
      ADD_FAILURE() << "line " << number << " is not <expectation> | <sql>: " << line;
      continue;
    }
    Case c{line.substr(0, bar), line.substr(bar + 3), number};
    while (!c.expectation.empty() && c.expectation.back() == ' ') c.expectation.pop_back();
    for (size_t at; (at = c.sql.find("${LAKE}")) != std::string::npos;) c.sql.replace(at, 7, lake);
    cases.push_back(std::move(c));
  }
  return cases;
}

// What is wrong with the answer to `c`; empty when it is as expected.
std::string Judge(const Case& c, const httplib::Result& answer) {
  if (!answer) return "no answer: " + httplib::to_string(answer.error());
  int status = answer->status;
  auto body = nlohmann::json::parse(answer->body, nullptr, false);
  std::string said = " (" + std::to_string(status) + ": " + answer->body.substr(0, 300) + ")";
  if (status >= 500) return "a 5xx" + said;
  if (body.is_discarded() || !body.is_object()) return "not a JSON object" + said;
  std::string detail = body.contains("detail") && body["detail"].is_string()
                           ? body["detail"].get<std::string>()
                           : std::string();
  if (status == 400 && !detail.starts_with("sql: ")) return "a 400 not about the query" + said;
  bool within_caps = status == 200 && body["rows"].is_array() &&
                     body["rows"].size() <= static_cast<size_t>(kRowLimit) &&
                     body["rows"].dump().size() <= static_cast<size_t>(kMaxBytes);
  if (c.expectation.starts_with("refuse ")) {
    std::string why = c.expectation.substr(7);
    if (status != 400 || detail.find(why) == std::string::npos) return "not refused: " + why + said;
  } else if (c.expectation == "bounded") {
    if (status != 400 && !within_caps) return "neither stopped nor within the caps" + said;
  } else if (c.expectation.starts_with("truncated ")) {
    if (!within_caps || body["truncated_by"] != c.expectation.substr(10)) {
      return "not " + c.expectation + said;
    }
  } else if (c.expectation == "ok") {
    if (status != 200) return "not answered" + said;
  } else {
    return "unknown expectation " + c.expectation;
  }
  return "";
}

TEST(ConsoleServeTest, HostileCorpusLeavesThePortalServingAndCapturing) {
  testing::TestDatabase db("console_corpus");
  fs::path dir = fs::temp_directory_path() / ("migsbyu-console-corpus-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::path lake = dir / "lake";
  testing::ChildProcess server(ServeArgs(db.url(), db.name(), lake), (dir / "serve.log").string());
  int port = WaitForPort(server);
  ASSERT_NE(port, 0) << server.Log();
  auto client = [port] {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(120, 0);
    return c;
  };
  auto post_sql = [&](const std::string& sql) {
    return client().Post("/analytics/sql",
                         nlohmann::json{{"sql", sql}, {"limit", kRowLimit}}.dump(),
                         "application/json");
  };
  // The lake has a commit with files to read (and to reach for by path).
  for (const char* id : {"S1", "S2", "S3"}) {
    auto created = client().Post("/students/", StudentBody(id), "application/json");
    ASSERT_TRUE(created && created->status == 200) << (created ? created->body : "no answer");
  }
  ASSERT_TRUE(Eventually(
      [&] {
        auto r = post_sql("SELECT count(DISTINCT id) FROM students_dim");
        return r && r->status == 200 && nlohmann::json::parse(r->body)["rows"] == "[[3]]"_json;
      },
      60))
      << server.Log();

  std::vector<Case> cases = LoadCorpus(lake.string());
  ASSERT_GE(cases.size(), 150u);
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::vector<std::string> failures;
  std::map<int, int> statuses;
  auto started = Clock::now();
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&] {
      for (size_t k; (k = next++) < cases.size();) {
        auto answer = post_sql(cases[k].sql);
        std::string wrong = Judge(cases[k], answer);
        std::lock_guard lock(mu);
        statuses[answer ? answer->status : 0]++;
        if (!wrong.empty()) {
          failures.push_back("line " + std::to_string(cases[k].line) + ": " +
                             cases[k].sql.substr(0, 200) + ": " + wrong);
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  std::string summary;
  for (const auto& [status, count] : statuses) {
    summary += " " + std::to_string(status) + "×" + std::to_string(count);
  }
  std::printf("console corpus: %zu queries in %.1f s with %d clients and %d workers:%s\n",
              cases.size(), seconds, kClients, kWorkers, summary.c_str());
  for (const auto& f : failures) ADD_FAILURE() << f;

  // The portal still answers, capture still runs, and the console still reads the lake.
  auto health = client().Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200) << health->body;
  auto created = client().Post("/students/", StudentBody("S-after"), "application/json");
  ASSERT_TRUE(created && created->status == 200) << (created ? created->body : "no answer");
  EXPECT_TRUE(Eventually(
      [&] {
        auto r = client().Get("/analytics/dimensions/students?id=S-after");
        return r && r->status == 200 && nlohmann::json::parse(r->body).size() == 1;
      },
      60))
      << "the new student did not reach the lake:\n"
      << server.Log();
  auto counted = post_sql("SELECT count(*) FROM students_dim WHERE id = 'S-after'");
  ASSERT_TRUE(counted);
  EXPECT_EQ(counted->status, 200) << counted->body;
  EXPECT_EQ(nlohmann::json::parse(counted->body)["rows"], "[[1]]"_json) << counted->body;

  // Nothing but the lake's own files in the lake; nothing the corpus named outside it.
  for (const auto& entry : fs::recursive_directory_iterator(lake)) {
    if (!entry.is_regular_file()) continue;
    std::string relative = fs::relative(entry.path(), lake).string();
    bool lake_file = (relative.starts_with("_manifests/") && relative.ends_with(".json")) ||
                     relative.starts_with("_locks/") || relative.ends_with(".parquet");
    EXPECT_TRUE(lake_file) << "a file the lake did not write: " << relative;
  }
  for (const char* path : {"/tmp/migsbyu-console-stolen.csv", "/tmp/migsbyu-console-stolen.parquet",
                           "/tmp/migsbyu-console-stolen.db"}) {
    EXPECT_FALSE(fs::exists(path)) << path;
  }

  int stopped = server.Stop(SIGINT);
  EXPECT_TRUE(WIFEXITED(stopped) && WEXITSTATUS(stopped) == 0) << stopped << "\n" << server.Log();
  fs::remove_all(dir);
}

// The personal columns `migsbyu serve` masks (oltp's) are named as the lake's views name them.
TEST(ConsoleServeTest, PersonalColumnsAreColumnsOfTheLake) {
  std::set<std::string> lake_columns;
  for (const auto& table : lake::KnownTables()) {
    for (const auto& column : table.columns) lake_columns.insert(column.name);
  }
  ASSERT_FALSE(oltp::PiiColumnNames().empty());
  for (const auto& name : oltp::PiiColumnNames()) EXPECT_TRUE(lake_columns.count(name)) << name;
}

}  // namespace
}  // namespace migsbyu
