// Several `migsbyu lake consume` processes, one consumer group, one lake directory: the tables
// are split between the members (each written by the member holding its partition), one member
// derives the fact, and after a kill -9 of that member mid-stream the others take over its
// tables and the fact. The lake must end with every change exactly once, dimensions and fact
// as the changes imply, and the same dimensions and fact as `migsbyu lake rebuild` gives.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "lake/catalog.h"
#include "lake/lake.h"
#include "lake/manifest.h"
#include "lake/testing.h"
#include "transport/kafka/kafka_sink.h"
#include "transport/kafka/testing.h"

namespace migsbyu::lake {
namespace {
namespace fs = std::filesystem;
using events::Value;
using Clock = std::chrono::steady_clock;

constexpr const char* kTables[] = {"students", "professors", "courses", "takes", "teaches"};

using testing::ChangeIn;
using testing::ContractSchema;

// `migsbyu lake consume` as a child process, its output in a file.
class Member {
 public:
  Member(const std::string& brokers, const std::string& dir, const std::string& log) : log_(log) {
    std::vector<std::string> args = {MIGSBYU_BINARY,
                                     "--log-level",
                                     "info",
                                     "lake",
                                     "consume",
                                     "--brokers",
                                     brokers,
                                     "--group",
                                     "lake-group",
                                     "--lake-dir",
                                     dir,
                                     "--kafka-property",
                                     "session.timeout.ms=6000",
                                     "--kafka-property",
                                     "heartbeat.interval.ms=300",
                                     "--kafka-property",
                                     "topic.metadata.refresh.interval.ms=500",
                                     "--kafka-property",
                                     "log_level=3"};
    pid_ = fork();
    if (pid_ == 0) {
      int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
  }
  ~Member() { Kill9(); }
  void Kill9() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  // SIGTERM (a clean stop: final flush and publish) and wait; the exit status.
  int Terminate() {
    if (pid_ <= 0) return -1;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }
  std::string Log() const {
    std::ifstream in(log_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  // Tables this member said it started writing.
  std::set<std::string> TablesWritten() const {
    std::set<std::string> tables;
    std::istringstream lines(Log());
    for (std::string line; std::getline(lines, line);) {
      auto at = line.find("lake: writing table ");
      if (at == std::string::npos) continue;
      std::string rest = line.substr(at + 20);
      tables.insert(rest.substr(0, rest.find(' ')));
    }
    return tables;
  }
  bool Derives() const { return Log().find("deriving the enrollment fact") != std::string::npos; }

 private:
  std::string log_;
  pid_t pid_ = -1;
};

// A random but reproducible workload over the five tables, with the state it leaves.
class Workload {
 public:
  struct Tx {
    events::TransactionInfo info;
    std::vector<events::ChangeEvent> changes;
  };

  explicit Workload(uint32_t seed) : random_(seed) {
    for (const char* t : kTables) schemas_[t] = ContractSchema(t);
  }

  Tx Next() {
    Tx tx;
    ++n_;
    tx.info = {static_cast<uint32_t>(n_), Lsn(100 * n_), Lsn(100 * n_ + 8),
               1700000000000000 + static_cast<int64_t>(n_) * 1000, false};
    int ops = 1 + Pick(3);
    for (int i = 0; i < ops; ++i) Step(tx);
    return tx;
  }

  // One change in every table, so that each topic ends at this transaction.
  Tx Marker() {
    Tx tx;
    ++n_;
    tx.info = {static_cast<uint32_t>(n_), Lsn(100 * n_), Lsn(100 * n_ + 8),
               1700000000000000 + static_cast<int64_t>(n_) * 1000, false};
    Upsert(tx, "students", "S999");
    Upsert(tx, "professors", "P999");
    Upsert(tx, "courses", "C999");
    Link(tx, "teaches", {"P999", "C999", "Fall 2024"}, true);
    Link(tx, "takes", {"S999", "C999", "Fall 2024"}, true);
    return tx;
  }

  std::map<std::string, uint64_t> produced;                           // changes per table
  std::map<std::string, std::map<std::string, std::string>> current;  // table → id → gpa/name
  std::set<std::vector<std::string>> enrolled, assigned;              // (person, course, semester)

 private:
  int Pick(int n) { return static_cast<int>(random_() % n); }

  void Add(Tx& tx, const std::string& table, char op, std::optional<events::Row> before,
           std::optional<events::Row> after) {
    tx.changes.push_back(ChangeIn(tx.info, tx.changes.size(), schemas_.at(table),
                                  static_cast<events::Operation>(op), std::move(before),
                                  std::move(after)));
    ++produced[table];
  }

  events::Row Entity(const std::string& table, const std::string& id, const std::string& v) {
    if (table == "students") {
      return {Value::Text(id),         Value::Text("Ada"),      Value::Text("L"),
              Value::Text("Female"),   Value::Text("Street 1"), Value::Integer(12000),
              Value::Text("Physics"),  Value::Integer(2),       Value::Text(v),
              Value::Text("Full-time")};
    }
    if (table == "professors") {
      return {Value::Text(id),        Value::Text("Dr"),     Value::Text("Grace"),
              Value::Text("H"),       Value::Text("Female"), Value::Text("Street 2"),
              Value::Text("Physics"), Value::Integer(10000), Value::Integer(std::stoi(v))};
    }
    return {Value::Text(id), Value::Text(v), Value::Integer(3), Value::Text("Physics")};
  }

  std::string NewValue(const std::string& table) {
    if (table == "students")
      return std::to_string(1 + Pick(3)) + "." + std::to_string(10 + Pick(90));
    if (table == "professors") return std::to_string(50000 + 1000 * Pick(50));
    return "Course " + std::to_string(Pick(1000));
  }

  void Upsert(Tx& tx, const std::string& table, const std::string& id) {
    auto& ids = current[table];
    std::string v = NewValue(table);
    auto it = ids.find(id);
    if (it == ids.end()) {
      Add(tx, table, 'c', std::nullopt, Entity(table, id, v));
    } else {
      Add(tx, table, 'u', Entity(table, id, it->second), Entity(table, id, v));
    }
    ids[id] = v;
  }

  void Link(Tx& tx, const std::string& table, const std::vector<std::string>& link, bool add) {
    auto& set = table == "takes" ? enrolled : assigned;
    events::Row row = {Value::Text(link[0]), Value::Text(link[1]), Value::Text(link[2])};
    if (add && set.insert(link).second) Add(tx, table, 'c', std::nullopt, row);
    if (!add && set.erase(link)) Add(tx, table, 'd', row, std::nullopt);
  }

  void Step(Tx& tx) {
    static const char* kPrefix[] = {"S", "P", "C"};
    static const int kIds[] = {30, 8, 6};
    int what = Pick(10);
    if (what < 4) {  // an entity: insert, update or (students) delete
      int e = Pick(3);
      std::string table = kTables[e];
      std::string id = kPrefix[e] + std::to_string(1 + Pick(kIds[e]));
      auto& ids = current[table];
      if (table == "students" && ids.count(id) && Pick(4) == 0) {
        Add(tx, table, 'd', Entity(table, id, ids[id]), std::nullopt);
        ids.erase(id);
        return;
      }
      Upsert(tx, table, id);
      return;
    }
    std::string semester = Pick(2) ? "Fall 2024" : "Spring 2025";
    std::string course = "C" + std::to_string(1 + Pick(kIds[2]));
    if (what < 8) {
      Link(tx, "takes", {"S" + std::to_string(1 + Pick(kIds[0])), course, semester}, Pick(3) > 0);
    } else {
      Link(tx, "teaches", {"P" + std::to_string(1 + Pick(kIds[1])), course, semester}, Pick(3) > 0);
    }
  }

  std::mt19937 random_;
  uint64_t n_ = 0;
  std::map<std::string, std::shared_ptr<const events::TableSchema>> schemas_;
};

class KafkaGroupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* t : kTables) cluster_.CreateTopic(std::string("migsbyu.public.") + t, 1);
    dir_ = (fs::temp_directory_path() / ("lake_group_" + std::to_string(getpid()))).string();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    kafka::KafkaSinkOptions o = cluster_.SinkOptions();
    o.create_topics = false;
    auto producer = kafka::KafkaSink::Create(o);
    ASSERT_TRUE(producer.ok()) << producer.error().ToString();
    producer_ = std::move(*producer);
  }
  void TearDown() override {
    fs::remove_all(dir_);
    for (int i = 0; i < 3; ++i) fs::remove(LogPath(i));
  }

  std::string LogPath(int member) const {
    return dir_ + "_member" + std::to_string(member) + ".log";
  }

  void Produce(const Workload::Tx& tx) {
    ASSERT_TRUE(producer_->Begin(tx.info).ok());
    for (const auto& c : tx.changes) ASSERT_TRUE(producer_->Apply(c).ok());
    ASSERT_TRUE(producer_->Commit(tx.info).ok());
  }
  void FlushProducer() {
    auto flushed = producer_->Flush();
    ASSERT_TRUE(flushed.ok()) << flushed.error().ToString();
  }

  // One string per query result: rows joined by '\n', columns by '|'.
  std::string Rows(const std::string& sql) { return testing::QueryText(dir_, sql); }

  kafka::testing::MockCluster cluster_{1};
  std::unique_ptr<kafka::KafkaSink> producer_;
  std::string dir_;
};

TEST_F(KafkaGroupTest, MembersSplitTheTablesAndTakeOverAfterKillNine) {
  Workload work(20261128);
  // Last change of every table, by the workload's (commit_lsn, position).
  std::map<std::string, Watermark> last;
  auto produce = [&](const Workload::Tx& tx) {
    Produce(tx);
    for (const auto& c : tx.changes) last[c.table->name] = {c.commit_lsn.value(), c.position};
  };
  for (int i = 0; i < 150; ++i) produce(work.Next());
  FlushProducer();

  std::vector<std::unique_ptr<Member>> members;
  for (int i = 0; i < 3; ++i) {
    members.push_back(std::make_unique<Member>(cluster_.bootstraps(), dir_, LogPath(i)));
  }
  const auto started = Clock::now();
  const auto deadline = started + std::chrono::seconds(100);  // ample under a loaded machine
  auto elapsed = [&] {
    return std::to_string(
               std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started)
                   .count()) +
           " ms";
  };
  auto poll = [&](const std::function<bool()>& done) {
    while (!done() && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return done();
  };
  // The group settles with the five tables split over the three members, and one derives.
  auto settled = [&] {
    std::set<std::string> tables;
    int writers = 0, deriving = 0;
    for (const auto& m : members) {
      auto written = m->TablesWritten();
      tables.insert(written.begin(), written.end());
      writers += !written.empty();
      deriving += m->Derives();
    }
    return tables.size() == 5 && writers >= 2 && deriving == 1;
  };
  ASSERT_TRUE(poll(settled)) << members[0]->Log() << members[1]->Log() << members[2]->Log();
  std::printf("group settled after %s\n", elapsed().c_str());
  std::vector<std::set<std::string>> split;
  for (const auto& m : members) split.push_back(m->TablesWritten());
  for (size_t i = 0; i < split.size(); ++i) {
    for (size_t j = i + 1; j < split.size(); ++j) {
      for (const auto& t : split[i]) {
        EXPECT_FALSE(split[j].count(t)) << t << " written by members " << i << " and " << j;
      }
    }
  }

  // Mid-stream: more transactions while the members consume; the deriver dies among them.
  size_t victim = 0;
  while (!members[victim]->Derives()) ++victim;
  for (int batch = 0; batch < 10; ++batch) {
    for (int i = 0; i < 15; ++i) produce(work.Next());
    FlushProducer();
    if (batch == 4) members[victim]->Kill9();
  }
  produce(work.Marker());
  FlushProducer();

  // Everything arrives, and the fact is derived from all of it (a survivor took the role).
  auto complete = [&] {
    auto m = LoadLatestManifest(dir_);
    if (!m.ok() || !*m) return false;
    for (const char* t : kTables) {
      auto w = (*m)->watermarks.find(t);
      auto d = (*m)->derived.find(t);
      if (w == (*m)->watermarks.end() || w->second != last[t]) return false;
      if (d == (*m)->derived.end() || d->second != last[t]) return false;
    }
    return true;
  };
  bool done = poll(complete);
  std::printf("lake complete after %s\n", elapsed().c_str());
  int derivers = 0;
  for (size_t i = 0; i < members.size(); ++i) derivers += i != victim && members[i]->Derives();
  for (size_t i = 0; i < members.size(); ++i) {
    if (i != victim) {
      EXPECT_EQ(members[i]->Terminate(), 0) << members[i]->Log();
    }
  }
  auto describe = [&] {
    std::string text = "expected:";
    for (const auto& [t, w] : last) {
      text += " " + t + "=" + std::to_string(w.commit_lsn) + "/" + std::to_string(w.position);
    }
    auto m = LoadLatestManifest(dir_);
    if (m.ok() && *m) text += "\nlatest manifest: " + ManifestToJson(**m);
    return text + "\n";
  };
  std::printf("members stopped after %s\n", elapsed().c_str());
  ASSERT_TRUE(done) << "the lake did not catch up within 100 s\n"
                    << describe() << members[0]->Log() << members[1]->Log() << members[2]->Log();
  EXPECT_EQ(derivers, 1) << "a survivor takes over the fact";

  // Every change exactly once.
  for (const char* t : kTables) {
    EXPECT_EQ(
        Rows("SELECT count(*), count(DISTINCT (commit_lsn, position)) FROM " + ChangesDataset(t)),
        std::to_string(work.produced[t]) + "|" + std::to_string(work.produced[t]) + "\n")
        << t;
  }
  // The dimensions' current rows and the fact's net counts are what the changes imply.
  for (const auto& [table, column] : std::vector<std::pair<std::string, std::string>>{
           {"students", "gpa"}, {"professors", "annual_salary"}, {"courses", "name"}}) {
    std::string expected;
    for (const auto& [id, v] : work.current[table]) expected += id + "|" + v + "\n";
    EXPECT_EQ(Rows("SELECT id, " + column + " FROM " + table +
                   "_dim WHERE current_row_indicator = 'yes' ORDER BY id"),
              expected)
        << table;
  }
  std::map<std::vector<std::string>, int> net;
  for (const auto& e : work.enrolled) {
    bool any = false;
    for (const auto& a : work.assigned) {
      if (a[1] == e[1] && a[2] == e[2]) {
        net[{e[0], a[0], e[1], e[2]}] = 1;
        any = true;
      }
    }
    if (!any) net[{e[0], "NULL", e[1], e[2]}] = 1;
  }
  std::string expected_net;
  for (const auto& [k, n] : net)
    expected_net += k[0] + "|" + k[1] + "|" + k[2] + "|" + k[3] + "|1\n";
  EXPECT_EQ(Rows("SELECT student_id, coalesce(professor_id, 'NULL') AS p, course_id, semester, "
                 "sum(course_enrollment_count) FROM course_enrollment_fact GROUP BY ALL "
                 "HAVING sum(course_enrollment_count) <> 0 ORDER BY student_id, p, course_id, "
                 "semester"),
            expected_net);

  // The same dimensions and fact, keys included, as a rebuild from the change logs.
  const std::string dims_sql =
      "SELECT 's', student_key, id, gpa, row_effective_start, row_effective_end, "
      "current_row_indicator, is_deleted FROM students_dim UNION ALL "
      "SELECT 'p', professor_key, id, annual_salary::VARCHAR, row_effective_start, "
      "row_effective_end, current_row_indicator, is_deleted FROM professors_dim UNION ALL "
      "SELECT 'c', course_key, id, name, row_effective_start, row_effective_end, "
      "current_row_indicator, is_deleted FROM courses_dim ORDER BY ALL";
  const std::string fact_sql =
      "SELECT student_key, professor_key, course_key, semester, course_enrollment_count, "
      "event_time, source_lsn, source_position, student_id, professor_id, course_id "
      "FROM course_enrollment_fact ORDER BY ALL";
  std::string dims = Rows(dims_sql), fact = Rows(fact_sql);
  pid_t rebuild = fork();
  if (rebuild == 0) {
    execl(MIGSBYU_BINARY, MIGSBYU_BINARY, "--log-level", "warn", "lake", "rebuild", "--lake-dir",
          dir_.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  waitpid(rebuild, &status, 0);
  ASSERT_EQ(status, 0);
  EXPECT_EQ(Rows(dims_sql), dims);
  EXPECT_EQ(Rows(fact_sql), fact);
}

}  // namespace
}  // namespace migsbyu::lake
