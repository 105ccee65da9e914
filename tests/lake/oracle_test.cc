// The lake against an independent oracle. In the test database a trigger records every row
// version of the five tables with its transaction id and statement order; a random workload runs
// from one client (so commit order = transaction id order) while `migsbyu cdc --sink lake:DIR`
// streams into the lake as a child process. The dimensions and the fact must equal what the
// oracle implies: after normal streaming, after kill -9 of the child at random moments and a
// restart (repeated), and after `migsbyu lake rebuild` (same surrogate keys). A table created
// later in PostgreSQL and added to the capture set gets a dimension of its own, checked against
// the same oracle.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <random>
#include <set>

#include "lake/catalog.h"
#include "lake/lake.h"
#include "lake/manifest.h"
#include "oltp/migrations.h"
#include "pg/connection.h"
#include "support/test_database.h"

namespace migsbyu {
namespace {
namespace fs = std::filesystem;

constexpr int kKillCycles = 20;

const char* kOracleSql = R"sql(
CREATE TABLE oracle_log(seq bigserial PRIMARY KEY, txid bigint NOT NULL DEFAULT txid_current(),
                        tbl text NOT NULL, op text NOT NULL, old_row jsonb, new_row jsonb);
CREATE FUNCTION oracle_record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO oracle_log(tbl, op, old_row, new_row) VALUES (TG_TABLE_NAME, TG_OP,
    CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END,
    CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END);
  RETURN NULL;
END $$;
CREATE TRIGGER oracle AFTER INSERT OR UPDATE OR DELETE ON students FOR EACH ROW EXECUTE FUNCTION oracle_record();
CREATE TRIGGER oracle AFTER INSERT OR UPDATE OR DELETE ON professors FOR EACH ROW EXECUTE FUNCTION oracle_record();
CREATE TRIGGER oracle AFTER INSERT OR UPDATE OR DELETE ON courses FOR EACH ROW EXECUTE FUNCTION oracle_record();
CREATE TRIGGER oracle AFTER INSERT OR UPDATE OR DELETE ON takes FOR EACH ROW EXECUTE FUNCTION oracle_record();
CREATE TRIGGER oracle AFTER INSERT OR UPDATE OR DELETE ON teaches FOR EACH ROW EXECUTE FUNCTION oracle_record();
)sql";

// A dimension as the oracle sees it: the table, the lake's names, the columns compared, the
// natural key and the tracked columns (empty: every column).
struct OracleDim {
  std::string table;
  std::string dim;
  std::string key_column;
  std::vector<std::string> columns;
  std::vector<std::string> id_columns;
  std::vector<std::string> tracked;

  static OracleDim Of(const lake::KnownTable& t) {
    OracleDim d{t.name, t.DimName(), t.KeyColumn(), {}, {"id"}, {}};
    for (const auto& c : t.columns) d.columns.push_back(c.name);
    return d;
  }
};

// A child `migsbyu` process with its output in a log file.
class Child {
 public:
  Child(std::vector<std::string> args, const std::string& log) {
    pid_ = fork();
    if (pid_ == 0) {
      FILE* out = freopen(log.c_str(), "a", stdout);
      (void)out;
      dup2(fileno(stdout), fileno(stderr));
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
  }
  ~Child() { Kill(SIGKILL); }
  void Kill(int signal) {
    if (pid_ <= 0) return;
    kill(pid_, signal);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  // Waits for the child to exit; returns its exit status.
  int Wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  pid_t pid_ = -1;
};

class LakeOracleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() / ("lake_oracle_" + std::to_string(getpid()))).string();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto conn = pg::Connection::Open(db_.url());
    ASSERT_TRUE(conn.ok()) << conn.error().ToString();
    pg_.emplace(std::move(*conn));
    ASSERT_TRUE(oltp::ApplyMigrations(*pg_).ok());
    auto oracle = pg_->Exec(kOracleSql);
    ASSERT_TRUE(oracle.ok()) << oracle.error().ToString();
    slot_ = "lake_oracle_" + std::to_string(getpid());
  }

  void TearDown() override {
    child_.reset();
    if (::testing::Test::HasFailure()) {
      std::printf("lake directory and child log kept in %s\n", dir_.c_str());
    } else {
      fs::remove_all(dir_);
    }
  }

  // `extra`: more arguments (--table, --scd).
  void StartCapture(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args{MIGSBYU_BINARY,
                                  "cdc",
                                  "--database-url",
                                  db_.url(),
                                  "--sink",
                                  "lake:" + dir_ + "/lake",
                                  "--slot",
                                  slot_,
                                  "--publication",
                                  slot_,
                                  "--status-interval-ms",
                                  "200"};
    args.insert(args.end(), extra.begin(), extra.end());
    child_ = std::make_unique<Child>(std::move(args), dir_ + "/capture.log");
  }

  pg::PgResult Sql(const std::string& sql, const pg::Params& params = {}) {
    auto r = pg_->ExecParams(sql, params);
    EXPECT_TRUE(r.ok()) << sql << ": " << r.error().ToString();
    return r.ok() ? std::move(*r) : pg::PgResult();
  }

  // One random transaction of 1 to 4 operations over a small pool of ids, so that re-inserts,
  // no-op updates and several changes of one row in one transaction all happen.
  void RandomTransaction() {
    auto pick = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); };
    auto id = [&](char prefix, int pool) {
      char buf[8];
      snprintf(buf, sizeof buf, "%c%02d", prefix, pick(pool));
      return std::string(buf);
    };
    const char* semesters[] = {"Fall 2024", "Spring 2025"};
    const char* majors[] = {"Math", "Biology", "Physics", "Art History"};
    Sql("BEGIN");
    int ops = 1 + pick(4);
    for (int i = 0; i < ops; ++i) {
      std::string s = id('S', 12), p = id('P', 5), c = id('C', 4);
      std::string sem = semesters[pick(2)];
      switch (pick(14)) {
        case 0:
        case 1:
          Sql("INSERT INTO students VALUES ($1, 'First', 'Last', 'Female', 'Street 1', "
              "'2004-05-01', $2, $3::int, $4::numeric, 'Full-time') ON CONFLICT DO NOTHING",
              {s, majors[pick(4)], std::to_string(1 + pick(4)), std::to_string(pick(400) / 100.0)});
          break;
        case 2:
          Sql("UPDATE students SET gpa = $2::numeric, major = $3 WHERE id = $1",
              {s, std::to_string(pick(400) / 100.0), majors[pick(4)]});
          break;
        case 3:
          Sql("UPDATE students SET major = major WHERE id = $1", {s});  // no-op update
          break;
        case 4:
          Sql("DELETE FROM takes WHERE student_id = $1", {s});
          Sql("DELETE FROM students WHERE id = $1", {s});
          break;
        case 5:
          Sql("INSERT INTO professors VALUES ($1, 'Dr.', 'Ada', 'Lovelace', 'Female', 'Road 2', "
              "'Mathematics', '1970-01-02', $2::int) ON CONFLICT DO NOTHING",
              {p, std::to_string(60000 + 5000 * pick(20))});
          break;
        case 6:
          Sql("UPDATE professors SET annual_salary = annual_salary + 5000 WHERE id = $1", {p});
          break;
        case 7:
          Sql("DELETE FROM teaches WHERE professor_id = $1", {p});
          Sql("DELETE FROM professors WHERE id = $1", {p});
          break;
        case 8:
          Sql("INSERT INTO courses VALUES ($1, 'Course', $2::int, 'Mathematics') "
              "ON CONFLICT DO NOTHING",
              {c, std::to_string(1 + pick(4))});
          break;
        case 9:
          Sql("UPDATE courses SET units = $2::int WHERE id = $1", {c, std::to_string(1 + pick(4))});
          break;
        case 10:
          Sql("INSERT INTO takes SELECT $1, $2, $3 WHERE EXISTS (SELECT FROM students WHERE id = "
              "$1) "
              "AND EXISTS (SELECT FROM courses WHERE id = $2) ON CONFLICT DO NOTHING",
              {s, c, sem});
          break;
        case 11:
          Sql("DELETE FROM takes WHERE student_id = $1 AND course_id = $2 AND semester = $3",
              {s, c, sem});
          break;
        case 12:
          Sql("INSERT INTO teaches SELECT $1, $2, $3 WHERE EXISTS (SELECT FROM professors WHERE "
              "id = $1) AND EXISTS (SELECT FROM courses WHERE id = $2) ON CONFLICT DO NOTHING",
              {p, c, sem});
          break;
        case 13:
          Sql("DELETE FROM teaches WHERE professor_id = $1 AND course_id = $2 AND semester = $3",
              {p, c, sem});
          break;
      }
    }
    Sql("COMMIT");
  }

  // One random transaction on the rooms table of the test below: inserts, updates of a tracked
  // column, of the untracked one only, no-op updates, key changes and deletes over a few keys.
  void RandomRoomsTransaction() {
    auto pick = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); };
    const char* buildings[] = {"North", "South"};
    Sql("BEGIN");
    int ops = 1 + pick(3);
    for (int i = 0; i < ops; ++i) {
      std::string b = buildings[pick(2)], n = std::to_string(1 + pick(4));
      switch (pick(7)) {
        case 0:
        case 1:
          Sql("INSERT INTO rooms VALUES ($1, $2::int, $3::int, 'new') ON CONFLICT DO NOTHING",
              {b, n, std::to_string(10 * (1 + pick(5)))});
          break;
        case 2:
          Sql("UPDATE rooms SET capacity = $3::int WHERE building = $1 AND number = $2::int",
              {b, n, std::to_string(10 * (1 + pick(5)))});
          break;
        case 3:  // the untracked column only: no version
          Sql("UPDATE rooms SET note = $3 WHERE building = $1 AND number = $2::int",
              {b, n, "note " + std::to_string(pick(100))});
          break;
        case 4:
          Sql("UPDATE rooms SET capacity = capacity WHERE building = $1 AND number = $2::int",
              {b, n});
          break;
        case 5:  // a key change: the old key ends as deleted, the new one begins
          Sql("UPDATE rooms SET number = $3::int WHERE building = $1 AND number = $2::int AND "
              "NOT EXISTS (SELECT FROM rooms WHERE building = $1 AND number = $3::int)",
              {b, n, std::to_string(1 + pick(4))});
          break;
        case 6:
          Sql("DELETE FROM rooms WHERE building = $1 AND number = $2::int", {b, n});
          break;
      }
    }
    Sql("COMMIT");
  }

  // Waits until the lake holds every change the oracle recorded, not counting the rows of
  // snapshots (a table added to the capture set makes one, which reads every captured table).
  void WaitForStreamedChanges(const std::vector<std::string>& tables) {
    auto expected = Sql("SELECT count(*) FROM oracle_log");
    uint64_t want = std::stoull(std::string(expected.Get(0, 0)));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
    auto lake = OpenLake();
    uint64_t have = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      // A table's change log is a view once it has a change.
      auto counts = lake->Counts();
      std::string count = "SELECT (0";
      for (const auto& t : tables) {
        if (!counts.count(lake::ChangesDataset(t))) continue;
        count += " + (SELECT count(*) FROM " + lake::ChangesDataset(t) +
                 " WHERE origin IS DISTINCT FROM 'snapshot')";
      }
      auto rows = LakeRows(count + ")::VARCHAR");
      have = rows.size() == 1 ? std::stoull(rows[0]) : 0;
      if (have >= want) break;
      lake->WaitForCommit(lake->Position().version, std::chrono::milliseconds(200));
    }
    ASSERT_EQ(have, want) << "the lake did not catch up; see " << dir_ << "/capture.log";
  }

  // Waits until the lake holds as many changes as the oracle recorded, polling its manifests.
  void WaitForLake() {
    auto expected = Sql("SELECT count(*) FROM oracle_log");
    uint64_t want = std::stoull(std::string(expected.Get(0, 0)));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
    auto lake = OpenLake();
    uint64_t have = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      auto counts = lake->Counts();
      have = 0;
      for (const auto& t : lake::KnownTables()) have += counts[lake::ChangesDataset(t.name)];
      if (have >= want) break;
      lake->WaitForCommit(lake->Position().version, std::chrono::milliseconds(200));
    }
    ASSERT_EQ(have, want) << "the lake did not catch up; see " << dir_ << "/capture.log";
  }

  std::shared_ptr<lake::Lake> OpenLake() {
    auto lake = lake::Lake::Open(dir_ + "/lake", 1);
    EXPECT_TRUE(lake.ok());
    return *lake;
  }

  std::vector<std::string> LakeRows(const std::string& sql) {
    auto lake = OpenLake();
    auto conn = lake->Connect();
    EXPECT_TRUE(conn.ok()) << conn.error().ToString();
    auto rows = conn->connection.Query(sql);
    EXPECT_TRUE(rows.ok()) << rows.error().ToString();
    std::vector<std::string> out;
    if (!rows.ok()) return out;
    for (uint64_t r = 0; r < rows->RowCount(); ++r) {
      std::string line;
      for (uint64_t c = 0; c < rows->ColumnCount(); ++c) {
        line += (c ? "|" : "") + (rows->IsNull(c, r) ? std::string("NULL") : rows->GetString(c, r));
      }
      out.push_back(line);
    }
    return out;
  }

  // The dimension the oracle implies, rows as "key|attrs...|start_us|end_us|current|deleted".
  std::vector<std::string> ExpectedDim(const OracleDim& t) {
    std::string cols;
    for (const auto& c : t.columns) cols += ", new_row->>'" + c + "'";
    auto id_of = [&](const std::string& image) {
      std::string e = "concat_ws(chr(31)";
      for (const auto& c : t.id_columns) e += ", " + image + "->>'" + c + "'";
      return e + ")";
    };
    // An update changes nothing when every tracked column (and the key) keeps its value.
    std::string same = "old_row = new_row";
    if (!t.tracked.empty()) {
      same = "true";
      for (const auto& c : t.tracked) {
        same += " AND old_row->'" + c + "' IS NOT DISTINCT FROM new_row->'" + c + "'";
      }
      for (const auto& c : t.id_columns) {
        same += " AND old_row->'" + c + "' IS NOT DISTINCT FROM new_row->'" + c + "'";
      }
    }
    auto r =
        Sql("SELECT op, " + id_of("old_row") + ", " + id_of("new_row") + ", " + same +
                ", (extract(epoch FROM pg_xact_commit_timestamp((txid % 4294967296)::text::xid))"
                " * 1000000)::bigint" +
                cols + " FROM oracle_log WHERE tbl = $1 ORDER BY txid, seq",
            {t.table});
    struct Version {
      std::vector<std::string> values;
      int64_t start, end;
      bool deleted = false;
    };
    std::vector<Version> versions;
    std::map<std::string, size_t> current;
    for (int i = 0; i < r.rows(); ++i) {
      std::string op(r.Get(i, 0));
      int64_t ct = std::stoll(std::string(r.Get(i, 4)));
      auto close = [&](const std::string& id, bool deleted) {
        auto it = current.find(id);
        if (it == current.end()) return;
        versions[it->second].end = ct;
        versions[it->second].deleted = deleted;
        current.erase(it);
      };
      if (op == "UPDATE" && r.Get(i, 3) == "t") continue;  // changes nothing
      // A key change ends the old id as deleted.
      bool rekeyed = op == "UPDATE" && r.Get(i, 1) != r.Get(i, 2);
      if (op != "INSERT") close(std::string(r.Get(i, 1)), op == "DELETE" || rekeyed);
      if (op == "DELETE") continue;
      Version v{{}, ct, lake::kEndOfTimeUs};
      for (size_t c = 0; c < t.columns.size(); ++c) {
        v.values.push_back(r.IsNull(i, 5 + c) ? "NULL" : std::string(r.Get(i, 5 + c)));
      }
      current[std::string(r.Get(i, 2))] = versions.size();
      versions.push_back(v);
    }
    std::vector<std::string> out;
    for (size_t k = 0; k < versions.size(); ++k) {
      std::string line = std::to_string(k + 1);
      for (const auto& v : versions[k].values) line += "|" + v;
      line += "|" + std::to_string(versions[k].start) + "|" + std::to_string(versions[k].end) +
              "|" + (versions[k].end == lake::kEndOfTimeUs ? "yes" : "no") + "|" +
              (versions[k].deleted ? "true" : "false");
      out.push_back(line);
    }
    return out;
  }

  std::vector<std::string> ActualDim(const OracleDim& t) {
    std::string cols;
    for (const auto& c : t.columns) cols += ", " + c + "::VARCHAR";
    return LakeRows("SELECT " + t.key_column + cols +
                    ", epoch_us(row_effective_start), epoch_us(row_effective_end), "
                    "current_row_indicator, is_deleted FROM " +
                    t.dim + " ORDER BY 1");
  }

  void ExpectLakeMatchesOracle(const std::string& when) {
    SCOPED_TRACE(when);
    for (const auto& t : lake::KnownTables()) {
      if (t.entity.empty()) continue;
      auto expected = ExpectedDim(OracleDim::Of(t));
      EXPECT_GT(expected.size(), 5u) << "the workload should give " << t.DimName() << " versions";
      EXPECT_EQ(ActualDim(OracleDim::Of(t)), expected) << t.DimName();
    }
    // The fact's net counts describe the current enrollments × assignments.
    auto state =
        Sql("SELECT t.student_id || '|' || coalesce(te.professor_id, 'NULL') || '|' || "
            "t.course_id || '|' || t.semester || '|1' FROM takes t LEFT JOIN teaches te "
            "USING (course_id, semester) ORDER BY 1");
    std::vector<std::string> expected;
    for (int i = 0; i < state.rows(); ++i) expected.emplace_back(state.Get(i, 0));
    EXPECT_EQ(LakeRows("SELECT student_id || '|' || coalesce(professor_id, 'NULL') || '|' || "
                       "course_id || '|' || semester || '|' || sum(course_enrollment_count) AS r "
                       "FROM course_enrollment_fact GROUP BY student_id, professor_id, course_id, "
                       "semester HAVING sum(course_enrollment_count) <> 0 ORDER BY r"),
              expected);
    // Each key is the version of that id in force at the fact row's change.
    for (auto [entity, id_col] : std::vector<std::pair<std::string, std::string>>{
             {"student", "student_id"}, {"professor", "professor_id"}, {"course", "course_id"}}) {
      const auto* t = lake::FindEntity(entity);
      EXPECT_EQ(
          LakeRows("SELECT count(*) FROM course_enrollment_fact f WHERE f." + id_col +
                   " IS NOT NULL AND f." + t->KeyColumn() + " IS DISTINCT FROM (SELECT max(d." +
                   t->KeyColumn() + ") FROM " + t->DimName() + " d WHERE d.id = f." + id_col +
                   " AND (d.source_lsn < f.source_lsn OR (d.source_lsn = f.source_lsn AND "
                   "d.source_position <= f.source_position)))"),
          std::vector<std::string>{"0"})
          << entity << " keys";
    }
  }

  testing::TestDatabase db_{"lake_oracle"};
  std::optional<pg::Connection> pg_;
  std::string dir_;
  std::string slot_;
  std::unique_ptr<Child> child_;
  std::mt19937 rng_{20241125};
};

TEST_F(LakeOracleTest, DimensionsAndFactEqualTheOracleAfterStreamingCrashesAndRebuild) {
  StartCapture();
  // The slot and its (empty) snapshot exist once the lake committed its first manifest.
  auto lake = OpenLake();
  auto first = lake->WaitForCommit(0, std::chrono::seconds(60));
  ASSERT_GE(first.version, 1u) << "no first commit; see " << dir_ << "/capture.log";

  for (int i = 0; i < 150; ++i) RandomTransaction();
  WaitForLake();
  if (HasFatalFailure()) return;
  ExpectLakeMatchesOracle("after streaming");
  // The workload exercised what the dimensions must get right.
  auto kinds =
      Sql("SELECT count(*) FILTER (WHERE op = 'UPDATE' AND old_row = new_row), "
          "count(*) FILTER (WHERE op = 'DELETE' AND tbl = 'students'), "
          "count(*) FILTER (WHERE tbl = 'takes') FROM oracle_log");
  EXPECT_GT(std::stoi(std::string(kinds.Get(0, 0))), 0) << "no no-op updates";
  EXPECT_GT(std::stoi(std::string(kinds.Get(0, 1))), 0) << "no deletes";
  EXPECT_GT(std::stoi(std::string(kinds.Get(0, 2))), 0) << "no enrollments";

  // Kill -9 at random moments: right after the workload (often while the child starts up or
  // reads), or as soon as the child committed something (while it writes the rest).
  std::uniform_int_distribution<int> transactions(1, 30);
  int progressed = 0;
  for (int cycle = 0; cycle < kKillCycles; ++cycle) {
    uint64_t before = lake->Position().version;
    int n = transactions(rng_);
    for (int i = 0; i < n; ++i) RandomTransaction();
    if (cycle % 2) lake->WaitForCommit(before, std::chrono::seconds(5));
    progressed += lake->Position().version > before;
    child_->Kill(SIGKILL);
    StartCapture();
  }
  EXPECT_GE(progressed, kKillCycles / 2) << "children killed before committing anything";
  for (int i = 0; i < 20; ++i) RandomTransaction();
  WaitForLake();
  if (HasFatalFailure()) return;
  ExpectLakeMatchesOracle("after kill -9 and restarts");
  auto fact_before = LakeRows("SELECT * FROM course_enrollment_fact ORDER BY ALL");
  child_->Kill(SIGTERM);

  Child rebuild({MIGSBYU_BINARY, "lake", "rebuild", "--lake-dir", dir_ + "/lake"},
                dir_ + "/rebuild.log");
  ASSERT_EQ(rebuild.Wait(), 0) << "see " << dir_ << "/rebuild.log";
  ExpectLakeMatchesOracle("after rebuild");
  EXPECT_EQ(LakeRows("SELECT * FROM course_enrollment_fact ORDER BY ALL"), fact_before);
}

// A table the portal does not know, created in PostgreSQL while capture runs and added to the
// capture set with --table: its changes give a dimension rooms_dim keyed by its composite primary
// key, with versions only for changes of the tracked columns (--scd rooms:track=capacity), equal
// to what the oracle implies after streaming, after kill -9 and restarts, and after a rebuild.
TEST_F(LakeOracleTest, TableAddedToTheCaptureSetGetsADimensionEqualToTheOracle) {
  StartCapture();
  auto lake = OpenLake();
  ASSERT_GE(lake->WaitForCommit(0, std::chrono::seconds(60)).version, 1u)
      << "no first commit; see " << dir_ << "/capture.log";
  for (int i = 0; i < 40; ++i) RandomTransaction();
  WaitForLake();
  if (HasFatalFailure()) return;

  Sql("CREATE TABLE rooms (building text, number int, capacity int NOT NULL, note text, "
      "PRIMARY KEY (building, number))");
  Sql("CREATE TRIGGER oracle AFTER INSERT OR UPDATE OR DELETE ON rooms FOR EACH ROW "
      "EXECUTE FUNCTION oracle_record()");
  const std::vector<std::string> tables = {"students", "professors", "courses",
                                           "takes",    "teaches",    "rooms"};
  std::vector<std::string> extra;
  for (const auto& t : tables) extra.insert(extra.end(), {"--table", t});
  extra.insert(extra.end(), {"--scd", "rooms:track=capacity"});
  child_->Kill(SIGTERM);
  StartCapture(extra);
  // The restarted capture adds the table to its publication at start (and copies its rows, none
  // here, by an incremental snapshot): every change committed after that is streamed.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  auto published = [&] {
    auto r =
        Sql("SELECT count(*) FROM pg_publication_tables WHERE pubname = $1 AND "
            "schemaname = 'public' AND tablename = 'rooms'",
            {slot_});
    return r.rows() == 1 && std::string(r.Get(0, 0)) == "1";
  };
  while (!published() && std::chrono::steady_clock::now() < deadline) {
    lake->WaitForCommit(lake->Position().version, std::chrono::milliseconds(200));
  }
  ASSERT_TRUE(published()) << "rooms never joined the publication; see " << dir_ << "/capture.log";

  for (int i = 0; i < 60; ++i) {
    RandomRoomsTransaction();
    if (i % 4 == 0) RandomTransaction();
  }
  for (int cycle = 0; cycle < 3; ++cycle) {
    WaitForStreamedChanges(tables);
    if (HasFatalFailure()) return;
    for (int i = 0; i < 10; ++i) RandomRoomsTransaction();
    child_->Kill(SIGKILL);
    StartCapture(extra);
  }
  for (int i = 0; i < 10; ++i) RandomRoomsTransaction();
  WaitForStreamedChanges(tables);
  if (HasFatalFailure()) return;

  OracleDim rooms{"rooms",
                  "rooms_dim",
                  "rooms_key",
                  {"building", "number", "capacity", "note"},
                  {"building", "number"},
                  {"capacity"}};
  auto expected = ExpectedDim(rooms);
  // The workload exercised what the dimension must get right.
  auto kinds = Sql(
      "SELECT count(*) FILTER (WHERE op = 'UPDATE' AND old_row->'number' <> new_row->'number'), "
      "count(*) FILTER (WHERE op = 'UPDATE' AND old_row->'capacity' = new_row->'capacity' AND "
      "old_row->'note' IS DISTINCT FROM new_row->'note'), count(*) FILTER (WHERE op = 'DELETE') "
      "FROM oracle_log WHERE tbl = 'rooms'");
  EXPECT_GT(std::stoi(std::string(kinds.Get(0, 0))), 0) << "no key changes";
  EXPECT_GT(std::stoi(std::string(kinds.Get(0, 1))), 0) << "no untracked-only updates";
  EXPECT_GT(std::stoi(std::string(kinds.Get(0, 2))), 0) << "no deletes";
  EXPECT_GT(expected.size(), 10u);
  EXPECT_EQ(ActualDim(rooms), expected) << "after streaming, kill -9 and restarts";
  ExpectLakeMatchesOracle("with rooms captured");
  child_->Kill(SIGTERM);

  Child rebuild({MIGSBYU_BINARY, "lake", "rebuild", "--lake-dir", dir_ + "/lake", "--scd",
                 "rooms:track=capacity"},
                dir_ + "/rebuild.log");
  ASSERT_EQ(rebuild.Wait(), 0) << "see " << dir_ << "/rebuild.log";
  EXPECT_EQ(ActualDim(rooms), expected) << "after rebuild";
}

}  // namespace
}  // namespace migsbyu
