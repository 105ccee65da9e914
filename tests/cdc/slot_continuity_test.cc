// Capture through operations (docs/CDC.md), against the real server and a real lake.
// Slot continuity and reconciling snapshots: a slot dropped while capture is down, then rows
// changed and deleted; a slot invalidated by max_slot_wal_keep_size on a private cluster. By
// default capture refuses to start, names the slot and both positions and changes nothing; with
// SlotLossPolicy::kResnapshot the lake ends equal to PostgreSQL, with no version for an
// unchanged row, a 'snapshot' version for a changed one and the deleted ones closed.
// An idle slot is acknowledged only as far as the lake recorded it.
// Poison changes: a value PostgreSQL holds that the lake cannot store goes to the dead letters
// and capture goes on (or, without dead letters, is retried and holds capture back).
#include <gtest/gtest.h>

#include <future>
#include <set>

#include "cdc/connector.h"
#include "cdc/slot.h"
#include "cdc_test_support.h"
#include "lake/dead_letters.h"
#include "lake/lake.h"
#include "lake/lake_sink.h"
#include "lake/testing.h"
#include "lake/writer.h"
#include "oltp/migrations.h"
#include "support/test_database.h"

namespace migsbyu::cdc {
namespace {

using namespace std::chrono_literals;
using lake::testing::QueryLines;
using testing::Connect;
using testing::Exec;
using testing::PollUntil;

constexpr int kStudents = 200;
constexpr int kChanged = 50;  // S000..S049
constexpr int kDeleted = 10;  // S190..S199

std::string StudentId(int i) {
  char buf[8];
  snprintf(buf, sizeof buf, "S%03d", i);
  return buf;
}

// Rows of `dataset` in the lake at `dir` (0 while it has none), without querying a view that
// may not exist yet.
uint64_t Rows(const std::string& dir, const std::string& dataset) {
  auto lake = lake::Lake::Open(dir);
  if (!lake.ok()) return 0;
  auto counts = (*lake)->Counts();
  auto it = counts.find(dataset);
  return it == counts.end() ? 0 : it->second;
}

// A connector feeding a LakeSink on `dir`, on a thread of its own, until Stop() or an error.
class LakeCapture {
 public:
  LakeCapture(ConnectorOptions options, const std::string& dir) {
    lake::LakeSinkOptions sink_options;
    sink_options.writer.dir = dir;
    auto sink = lake::LakeSink::Open(sink_options, nullptr);
    EXPECT_TRUE(sink.ok()) << sink.error().ToString();
    sink_ = std::move(sink).value();
    connector_ = std::make_unique<Connector>(std::move(options), sink_.get());
    result_ = std::async(std::launch::async, [this] { return connector_->Run(stop_.get_token()); });
  }
  ~LakeCapture() { (void)Stop(); }

  // Whether Run() returned by itself within `limit`.
  bool Ended(std::chrono::seconds limit) {
    return result_.wait_for(limit) == std::future_status::ready;
  }
  Status Stop() {
    if (!result_.valid()) return OkStatus();
    stop_.request_stop();
    Status st = result_.get();
    sink_.reset();  // publishes what is committed
    return st;
  }
  Metrics GetMetrics() const { return connector_->GetMetrics(); }

 private:
  std::unique_ptr<lake::LakeSink> sink_;
  std::unique_ptr<Connector> connector_;
  std::stop_source stop_;
  std::future<Status> result_;
};

class SlotContinuityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    conn_.emplace(Connect(db_.url()));
    ASSERT_TRUE(oltp::ApplyMigrations(*conn_).ok());
    options_.database_url = db_.url();
    options_.slot_name = db_.name();
    options_.publication_name = db_.name();
    options_.status_interval = 50ms;
    options_.max_backoff = 500ms;
    lake_dir_ = dir_.path() + "/lake";
  }

  std::vector<std::string> Pg(const std::string& sql) {
    auto r = conn_->Exec(sql);
    EXPECT_TRUE(r.ok()) << sql << ": " << (r.ok() ? "" : r.error().ToString());
    std::vector<std::string> out;
    if (!r.ok()) return out;
    for (int i = 0; i < r->rows(); ++i) {
      std::string line;
      for (int c = 0; c < r->columns(); ++c) {
        if (c) line += '|';
        line += r->IsNull(i, c) ? "NULL" : std::string(r->Get(i, c));
      }
      out.push_back(line);
    }
    return out;
  }

  // The current students in the lake and in PostgreSQL, as id|major|gpa lines.
  std::vector<std::string> LakeStudents() {
    return QueryLines(lake_dir_,
                      "SELECT id, major, gpa::VARCHAR FROM students_dim "
                      "WHERE current_row_indicator = 'yes' ORDER BY id");
  }
  std::vector<std::string> PgStudents() {
    return Pg("SELECT id, major, gpa::text FROM students ORDER BY id");
  }

  lake::CommitPosition LakePosition() {
    auto lake = lake::Lake::Open(lake_dir_);
    EXPECT_TRUE(lake.ok());
    return lake.ok() ? (*lake)->Position() : lake::CommitPosition{};
  }

  migsbyu::testing::TestDatabase db_{"slot"};
  testing::TempDir dir_;
  std::optional<pg::Connection> conn_;
  ConnectorOptions options_;
  std::string lake_dir_;
};

TEST_F(SlotContinuityTest, SlotDroppedWhileDownStopsByDefaultAndResnapshotReconciles) {
  {
    // Streamed, so that a version the second snapshot made would show as origin 'snapshot'.
    LakeCapture capture(options_, lake_dir_);
    ASSERT_TRUE(
        PollUntil([&] { return capture.GetMetrics().state == ConnectorState::kStreaming; }, 60s));
    for (int i = 0; i < kStudents; ++i) {
      ASSERT_TRUE(conn_
                      ->ExecParams("INSERT INTO students VALUES ($1, 'First', 'Last', 'Female', "
                                   "'Street 1', '2004-05-01', 'Math', 2, 3.50, 'Full-time')",
                                   {StudentId(i)})
                      .ok());
    }
    ASSERT_TRUE(PollUntil([&] { return LakeStudents().size() == kStudents; }, 120s));
    ASSERT_TRUE(capture.Stop().ok());
  }
  Exec(*conn_, "SELECT pg_drop_replication_slot('" + db_.name() + "')");
  Exec(*conn_, "UPDATE students SET major = 'Physics', gpa = 3.90 WHERE id < 'S050'");
  Exec(*conn_, "DELETE FROM students WHERE id >= 'S190'");
  const lake::CommitPosition before = LakePosition();
  ASSERT_GT(before.version, 0u);

  // Default: refuses, saying which slot, where the lake stands and how to recover.
  {
    LakeCapture capture(options_, lake_dir_);
    ASSERT_TRUE(capture.Ended(60s)) << "capture carried on without its slot";
    Status st = capture.Stop();
    ASSERT_FALSE(st.ok());
    const std::string message = st.error().message();
    EXPECT_NE(message.find("'" + db_.name() + "' is missing"), std::string::npos) << message;
    EXPECT_NE(message.find(before.end_lsn.ToString()), std::string::npos) << message;
    EXPECT_NE(message.find("confirmed_flush_lsn: none"), std::string::npos) << message;
    EXPECT_NE(message.find("--on-slot-loss=resnapshot"), std::string::npos) << message;
    EXPECT_EQ(capture.GetMetrics().state, ConnectorState::kStopped);
  }
  EXPECT_EQ(LakePosition().version, before.version) << "a refused start wrote to the lake";
  EXPECT_TRUE(
      Pg("SELECT 1 FROM pg_replication_slots WHERE slot_name = '" + db_.name() + "'").empty())
      << "a refused start created a slot";

  // Resnapshot: the lake's current rows become PostgreSQL's.
  const int64_t server_before =
      std::stoll(Pg("SELECT (extract(epoch FROM clock_timestamp()) * "
                    "1000000)::int8")[0]);
  options_.on_slot_loss = SlotLossPolicy::kResnapshot;
  {
    LakeCapture capture(options_, lake_dir_);
    ASSERT_TRUE(PollUntil([&] { return capture.GetMetrics().slot_resnapshots == 1; }, 120s));
    ASSERT_TRUE(PollUntil([&] { return LakeStudents() == PgStudents(); }, 120s));
    ASSERT_TRUE(capture.Stop().ok());
  }
  const int64_t server_after =
      std::stoll(Pg("SELECT (extract(epoch FROM clock_timestamp()) * "
                    "1000000)::int8")[0]);
  ASSERT_EQ(LakeStudents().size(), static_cast<size_t>(kStudents - kDeleted));
  // Per id: versions, the current version's origin (or 'closed'), deleted flag of the last one.
  auto versions = QueryLines(
      lake_dir_,
      "SELECT id, count(*), max(CASE WHEN current_row_indicator = 'yes' THEN origin END), "
      "bool_or(is_deleted) FROM students_dim GROUP BY id ORDER BY id");
  ASSERT_EQ(versions.size(), static_cast<size_t>(kStudents));
  for (int i = 0; i < kStudents; ++i) {
    const std::string id = StudentId(i);
    if (i < kChanged) {
      EXPECT_EQ(versions[i], id + "|2|snapshot|false");
    } else if (i >= kStudents - kDeleted) {
      EXPECT_EQ(versions[i], id + "|1|NULL|true");
    } else {
      EXPECT_EQ(versions[i], id + "|1|database|false") << "an unchanged row got a version";
    }
  }
  // The deletions are in the change log, marked as the snapshot's.
  EXPECT_EQ(QueryLines(lake_dir_,
                       "SELECT count(*) FROM students_changes WHERE op = 'd' AND origin = "
                       "'snapshot'"),
            std::vector<std::string>{std::to_string(kDeleted)});
  // The snapshot's instant is the server's, and no interval is inverted.
  auto starts = QueryLines(lake_dir_,
                           "SELECT DISTINCT epoch_us(row_effective_start) FROM students_dim "
                           "WHERE origin = 'snapshot'");
  ASSERT_EQ(starts.size(), 1u);
  EXPECT_GE(std::stoll(starts[0]), server_before);
  EXPECT_LE(std::stoll(starts[0]), server_after);
  EXPECT_EQ(QueryLines(lake_dir_,
                       "SELECT count(*) FROM students_dim "
                       "WHERE row_effective_end < row_effective_start"),
            std::vector<std::string>{"0"});

  // A rebuild from the change log gives the same dimension.
  const auto dim_sql =
      "SELECT student_key, id, major, gpa, row_effective_start, row_effective_end, "
      "current_row_indicator, is_deleted, origin FROM students_dim ORDER BY student_key";
  const auto dim = QueryLines(lake_dir_, dim_sql);
  {
    lake::WriterOptions w;
    w.dir = lake_dir_;
    auto writer = lake::LakeWriter::Open(w, nullptr);
    ASSERT_TRUE(writer.ok()) << writer.error().ToString();
    ASSERT_TRUE((*writer)->Rebuild().ok());
  }
  EXPECT_EQ(QueryLines(lake_dir_, dim_sql), dim);
}

TEST_F(SlotContinuityTest, AnIdleSlotAdvancesOnlyAsFarAsTheLakeRecorded) {
  // WAL the captured tables have no part in: the slot may only move past it once the lake has
  // recorded the position, so that a restart finds the slot where the lake is.
  Exec(*conn_, "CREATE TABLE other (v text)");
  options_.idle_position_interval = 100ms;
  auto confirmed = [&] {
    auto info = ReadSlot(*conn_, db_.name());
    return info.ok() ? info->confirmed_flush_lsn : Lsn();
  };
  Lsn data_end;
  {
    LakeCapture capture(options_, lake_dir_);
    ASSERT_TRUE(
        PollUntil([&] { return capture.GetMetrics().state == ConnectorState::kStreaming; }, 60s));
    Exec(*conn_,
         "INSERT INTO students VALUES ('S1', 'First', 'Last', 'Female', 'Street 1', "
         "'2004-05-01', 'Math', 2, 3.50, 'Full-time')");
    ASSERT_TRUE(PollUntil([&] { return LakeStudents().size() == 1; }, 60s));
    data_end = LakePosition().end_lsn;
    ASSERT_TRUE(PollUntil(
        [&] {
          Exec(*conn_, "INSERT INTO other SELECT repeat('x', 100) FROM generate_series(1, 100)");
          Lsn slot = confirmed();
          EXPECT_LE(slot, LakePosition().end_lsn)
              << "the slot confirmed what the lake does not hold";
          return slot > data_end;
        },
        60s));
    ASSERT_TRUE(capture.Stop().ok());
  }
  EXPECT_GT(LakePosition().end_lsn, data_end);
  EXPECT_LE(confirmed(), LakePosition().end_lsn);
  // The next start finds the slot usable and goes on streaming.
  LakeCapture capture(options_, lake_dir_);
  Exec(*conn_, "UPDATE students SET major = 'Art' WHERE id = 'S1'");
  ASSERT_TRUE(
      PollUntil([&] { return LakeStudents() == std::vector<std::string>{"S1|Art|3.50"}; }, 60s))
      << capture.GetMetrics().last_error;
  EXPECT_EQ(capture.GetMetrics().reconnects, 0u) << capture.GetMetrics().last_error;
}

TEST_F(SlotContinuityTest, UnstorableValueGoesToTheDeadLettersAndCaptureGoesOn) {
  // numeric(3,2) holds NaN in PostgreSQL; the lake's DECIMAL(3,2) cannot.
  Exec(*conn_,
       "CREATE TABLE poison (id int PRIMARY KEY, v numeric(3,2));"
       "ALTER TABLE poison REPLICA IDENTITY FULL");
  options_.tables = {"poison"};
  auto store = lake::DeadLetterStore::Open(lake_dir_);
  ASSERT_TRUE(store.ok()) << store.error().ToString();
  options_.dead_letters = store->get();
  auto stored = [&] {
    return QueryLines(lake_dir_,
                      "SELECT after_id, after_v::VARCHAR FROM poison_changes ORDER BY 1");
  };
  {
    LakeCapture capture(options_, lake_dir_);
    ASSERT_TRUE(
        PollUntil([&] { return capture.GetMetrics().state == ConnectorState::kStreaming; }, 60s));
    Exec(*conn_, "INSERT INTO poison VALUES (1, 1.25)");
    Exec(*conn_,
         "BEGIN; INSERT INTO poison VALUES (2, 'NaN'); INSERT INTO poison VALUES (3, 2.5);"
         "COMMIT");
    Exec(*conn_, "INSERT INTO poison VALUES (4, 3.75)");
    ASSERT_TRUE(PollUntil([&] { return Rows(lake_dir_, "poison_changes") == 3; }, 120s));
    EXPECT_EQ(stored(), (std::vector<std::string>{"1|1.25", "3|2.50", "4|3.75"}));
    Metrics m = capture.GetMetrics();
    EXPECT_EQ(m.dead_letters, 1u);
    EXPECT_EQ(m.state, ConnectorState::kStreaming);
    EXPECT_EQ(m.reconnects, 0u) << m.last_error;
    ASSERT_TRUE(capture.Stop().ok());
  }
  auto letters = lake::ListDeadLetters(lake_dir_);
  ASSERT_TRUE(letters.ok());
  ASSERT_EQ(letters->size(), 1u);
  const auto& d = letters->front();
  EXPECT_EQ(d.source, "postgres");
  EXPECT_EQ(d.table, "public.poison");
  EXPECT_NE(d.reason.find("'NaN' does not fit DECIMAL(3,2)"), std::string::npos) << d.reason;
  ASSERT_TRUE(d.value.has_value());
  EXPECT_NE(d.value->find("\"v\":\"NaN\""), std::string::npos) << *d.value;
  EXPECT_TRUE(d.lsn.has_value() && d.commit_lsn.has_value());

  // --on-error=stop: the refusal is retried, and nothing after it is stored.
  options_.dead_letters = nullptr;
  Exec(*conn_, "INSERT INTO poison VALUES (5, 'NaN'); INSERT INTO poison VALUES (6, 1.00)");
  LakeCapture capture(options_, lake_dir_);
  ASSERT_TRUE(PollUntil([&] { return capture.GetMetrics().reconnects >= 2; }, 120s));
  EXPECT_NE(capture.GetMetrics().last_error.find("does not fit"), std::string::npos)
      << capture.GetMetrics().last_error;
  EXPECT_EQ(Rows(lake_dir_, "poison_changes"), 3u);
}

TEST_F(SlotContinuityTest, CaptureSetFollowsTheTableOption) {
  Exec(*conn_,
       "CREATE TABLE extra (id int PRIMARY KEY, v text);"
       "ALTER TABLE extra REPLICA IDENTITY FULL;"
       "INSERT INTO extra SELECT i, 'v' || i FROM generate_series(1, 3) i;"
       "CREATE TABLE nokey (v int)");
  Exec(*conn_,
       "INSERT INTO students VALUES ('S1', 'First', 'Last', 'Female', 'Street 1', "
       "'2004-05-01', 'Math', 2, 3.50, 'Full-time');"
       "INSERT INTO courses VALUES ('C1', 'Intro', 3, 'Mathematics')");
  auto publication = [&] {
    return Pg("SELECT tablename FROM pg_publication_tables WHERE pubname = '" + db_.name() +
              "' ORDER BY 1");
  };
  auto count = [&](const std::string& sql) { return QueryLines(lake_dir_, sql); };
  options_.tables = {"students", "courses"};
  {
    LakeCapture capture(options_, lake_dir_);
    ASSERT_TRUE(PollUntil(
        [&] { return LakeStudents().size() == 1 && Rows(lake_dir_, "courses_changes") == 1; },
        120s));
    ASSERT_TRUE(capture.Stop().ok());
  }
  EXPECT_EQ(publication(), (std::vector<std::string>{"courses", "students"}));
  // While capture is down: a change of a captured table, a row of a table not yet captured.
  Exec(*conn_, "UPDATE students SET major = 'Art' WHERE id = 'S1'");
  Exec(*conn_, "INSERT INTO extra VALUES (4, 'v4')");

  // courses leaves the capture set, extra joins it.
  options_.tables = {"students", "extra"};
  {
    LakeCapture capture(options_, lake_dir_);
    ASSERT_TRUE(PollUntil([&] { return Rows(lake_dir_, "extra_changes") == 4; }, 120s));
    EXPECT_EQ(publication(), (std::vector<std::string>{"extra", "students"}));
    // The existing rows of extra were copied; S1's change was streamed, not summarized.
    EXPECT_EQ(count("SELECT op, after_id, after_v FROM extra_changes ORDER BY after_id"),
              (std::vector<std::string>{"r|1|v1", "r|2|v2", "r|3|v3", "r|4|v4"}));
    EXPECT_EQ(count("SELECT major, origin FROM students_dim ORDER BY student_key"),
              (std::vector<std::string>{"Math|snapshot", "Art|database"}));
    // A removed table is no longer captured: its change, committed before extra's, never comes.
    Exec(*conn_, "UPDATE courses SET units = 4 WHERE id = 'C1'");
    Exec(*conn_, "INSERT INTO extra VALUES (5, 'v5')");
    ASSERT_TRUE(PollUntil([&] { return Rows(lake_dir_, "extra_changes") == 5; }, 120s));
    ASSERT_TRUE(capture.Stop().ok());
  }
  // ... and keeps its history.
  EXPECT_EQ(count("SELECT id, units, current_row_indicator FROM courses_dim"),
            std::vector<std::string>{"C1|3|yes"});
  EXPECT_EQ(count("SELECT count(*) FROM courses_changes"), std::vector<std::string>{"1"});

  // A table without a primary key is refused, and nothing changes.
  options_.tables = {"students", "nokey"};
  LakeCapture capture(options_, lake_dir_);
  ASSERT_TRUE(capture.Ended(60s));
  Status st = capture.Stop();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("public.nokey has no primary key"), std::string::npos)
      << st.error().message();
  EXPECT_EQ(publication(), (std::vector<std::string>{"extra", "students"}));
}

TEST(SlotInvalidationTest, SlotLostToMaxSlotWalKeepSizeIsReportedAndRefused) {
  testing::PrivateCluster cluster(MIGSBYU_PG_SCRIPT);
  auto conn = Connect(cluster.url());
  Exec(conn,
       "CREATE TABLE r (id int PRIMARY KEY); ALTER TABLE r REPLICA IDENTITY FULL;"
       "CREATE TABLE filler (v text)");
  Exec(conn, "ALTER SYSTEM SET max_slot_wal_keep_size = '64MB'");
  Exec(conn, "SELECT pg_reload_conf()");
  ConnectorOptions o;
  o.database_url = cluster.url();
  o.tables = {"r"};
  o.status_interval = 50ms;
  o.max_backoff = 500ms;
  o.slot_check_interval = 100ms;
  o.slot_warn_safe_bytes = int64_t{1} << 40;  // any limited safe size warns
  const std::string lake_dir = cluster.dir() + "/lake";
  Lsn held;
  Exec(conn, "INSERT INTO r SELECT generate_series(1, 10)");
  {
    LakeCapture capture(o, lake_dir);
    ASSERT_TRUE(PollUntil([&] { return Rows(lake_dir, "r_changes") == 10; }, 120s));
    // Health while streaming: the warning is up before the slot is lost.
    ASSERT_TRUE(
        PollUntil([&] { return capture.GetMetrics().slot_safe_wal_size.has_value(); }, 60s));
    Metrics m = capture.GetMetrics();
    EXPECT_TRUE(m.slot_wal_status == "reserved" || m.slot_wal_status == "extended")
        << m.slot_wal_status;
    EXPECT_TRUE(m.slot_retention_warning);
    ASSERT_TRUE(capture.Stop().ok());
    auto lake = lake::Lake::Open(lake_dir);
    ASSERT_TRUE(lake.ok());
    held = (*lake)->Position().end_lsn;
  }
  // Capture is down; the server writes more WAL than the slot may keep, and checkpoints.
  Exec(conn, "ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'");
  Exec(conn, "SELECT pg_reload_conf()");
  ASSERT_TRUE(PollUntil(
      [&] {
        Exec(conn, "INSERT INTO filler SELECT repeat('x', 1000) FROM generate_series(1, 2000)");
        Exec(conn, "SELECT pg_switch_wal()");
        Exec(conn, "CHECKPOINT");
        auto info = ReadSlot(conn, "migsbyu");
        return info.ok() && info->wal_status == "lost";
      },
      120s));
  {
    LakeCapture capture(o, lake_dir);
    ASSERT_TRUE(capture.Ended(60s)) << "capture carried on with an invalidated slot";
    Metrics m = capture.GetMetrics();
    EXPECT_EQ(m.slot_wal_status, "lost");
    EXPECT_TRUE(m.slot_retention_warning);
    Status st = capture.Stop();
    ASSERT_FALSE(st.ok());
    const std::string message = st.error().message();
    EXPECT_NE(message.find("'migsbyu' was invalidated: wal_status 'lost'"), std::string::npos)
        << message;
    EXPECT_NE(message.find(held.ToString()), std::string::npos) << message;
    EXPECT_NE(message.find("--on-slot-loss=resnapshot"), std::string::npos) << message;
  }
  // Resnapshot recovers: a new slot, and the rows written meanwhile reach the lake.
  Exec(conn, "INSERT INTO r SELECT generate_series(11, 15)");
  o.on_slot_loss = SlotLossPolicy::kResnapshot;
  LakeCapture capture(o, lake_dir);
  // The first snapshot's 10 rows, then the second one's 15.
  ASSERT_TRUE(PollUntil([&] { return Rows(lake_dir, "r_changes") == 25; }, 120s));
  EXPECT_EQ(QueryLines(lake_dir, "SELECT count(*) FROM r_changes WHERE op = 'r'"),
            std::vector<std::string>{"25"});
  auto info = ReadSlot(conn, "migsbyu");
  ASSERT_TRUE(info.ok());
  EXPECT_NE(info->wal_status, "lost");
  ASSERT_TRUE(capture.Stop().ok());
}

}  // namespace
}  // namespace migsbyu::cdc
