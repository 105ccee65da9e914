// Incremental snapshots (docs/CDC.md "Incremental snapshots"), against the real server and a
// real lake: a 200,000-row table re-read in chunks while a writer updates, inserts and deletes
// in it, `migsbyu cdc` killed with SIGKILL at random moments of the snapshot and restarted each
// time. Every row must end exactly once, the lake's current rows must equal PostgreSQL's, each
// changed row's history must be the writer's (the snapshot adding no version and closing
// nothing), and each restart must resume at the next chunk.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <random>
#include <thread>

#include "cdc/incremental.h"
#include "cdc_test_support.h"
#include "lake/manifest.h"
#include "lake/testing.h"
#include "oltp/migrations.h"
#include "support/test_database.h"

namespace migsbyu::cdc {
namespace {

using namespace std::chrono_literals;
using lake::testing::QueryLines;
using testing::ChildConnector;
using testing::Connect;
using testing::Exec;
using testing::PollUntil;

constexpr int kRows = 200000;
constexpr int kChunkRows = 2000;
constexpr int kKills = 12;

std::string Id(char prefix, int i) {
  char buf[16];
  snprintf(buf, sizeof buf, "%c%06d", prefix, i);
  return buf;
}

// The lake's latest progress: its manifest version and the progress it stores.
struct Stored {
  uint64_t version = 0;
  IncrementalProgress progress;
};
Stored LoadProgress(const std::string& dir) {
  Stored out;
  auto m = lake::LoadLatestManifest(dir);
  if (!m.ok() || !*m) return out;
  out.version = (*m)->version;
  auto p = ProgressFromJson((*m)->snapshot_progress);
  EXPECT_TRUE(p.ok()) << (*m)->snapshot_progress;
  if (p.ok()) out.progress = std::move(p).value();
  return out;
}

// What the writer did: per row it touched, the (major|gpa) values of its versions in order,
// from the value it had before; and whether it ends deleted.
struct History {
  std::vector<std::string> values;
  bool deleted = false;
};

TEST(IncrementalSnapshotTest, ChunksWhileWritingAndKilledAtRandomKeepEveryRowOnceWithItsHistory) {
  ::migsbyu::testing::TestDatabase db("incsnap");
  testing::TempDir dir;
  const std::string lake_dir = dir.path() + "/lake";
  auto conn = Connect(db.url());
  ASSERT_TRUE(oltp::ApplyMigrations(conn).ok());
  Exec(conn,
       "INSERT INTO students SELECT 'S' || lpad(i::text, 6, '0'), 'F' || i, 'L' || i, 'X', 'A', "
       "DATE '2000-01-01', 'M' || (i % 10), 1, 2.00, 'Full-time' "
       "FROM generate_series(0, " +
           std::to_string(kRows - 1) + ") i");
  const std::vector<std::string> args = {
      "--slot",  db.name(),  "--publication",         db.name(),
      "--table", "students", "--snapshot-chunk-rows", std::to_string(kChunkRows)};

  // The initial copy (the slot's exported snapshot) first.
  auto child = std::make_unique<ChildConnector>(db.url(), "lake:" + lake_dir, args);
  ASSERT_TRUE(PollUntil(
      [&] {
        auto m = lake::LoadLatestManifest(lake_dir);
        return m.ok() && *m && (*m)->Rows("students_changes") >= kRows;
      },
      120s))
      << "the initial snapshot never reached the lake";

  std::map<std::string, History> history;
  std::atomic<bool> stop_writer{false};
  std::atomic<int> writes{0};
  std::jthread writer([&] {
    auto w = Connect(db.url());
    std::mt19937 rng(7);
    std::vector<std::string> alive;
    for (int i = 0; i < kRows; ++i) alive.push_back(Id('S', i));
    int inserted = 0;
    while (!stop_writer) {
      int n = writes.fetch_add(1);
      const std::string major = "W" + std::to_string(n);  // every write a new value
      const std::string gpa = std::to_string(rng() % 4) + "." + std::to_string(10 + rng() % 90);
      const std::string value = major + "|" + gpa;
      size_t at = rng() % alive.size();
      const int dice = static_cast<int>(rng() % 10);
      if (dice < 6) {
        const std::string id = alive[at];
        auto r = w.ExecParams("UPDATE students SET major = $1, gpa = $2::numeric WHERE id = $3",
                              {major, gpa, id});
        ASSERT_TRUE(r.ok()) << r.error().ToString();
        auto [it, added] = history.try_emplace(id);
        if (added)
          it->second.values.push_back("M" + std::to_string(std::stoi(id.substr(1)) % 10) + "|2.00");
        it->second.values.push_back(value);
      } else if (dice < 8) {
        const std::string id = Id('N', inserted++);
        auto r = w.ExecParams(
            "INSERT INTO students VALUES ($1, 'F', 'L', 'X', 'A', DATE '2001-01-01', $2, 2, "
            "$3::numeric, 'Part-time')",
            {id, major, gpa});
        ASSERT_TRUE(r.ok()) << r.error().ToString();
        history[id].values.push_back(value);
        alive.push_back(id);
      } else {
        const std::string id = alive[at];
        auto r = w.ExecParams("DELETE FROM students WHERE id = $1", {id});
        ASSERT_TRUE(r.ok()) << r.error().ToString();
        auto [it, added] = history.try_emplace(id);
        if (added)
          it->second.values.push_back("M" + std::to_string(std::stoi(id.substr(1)) % 10) + "|2.00");
        it->second.deleted = true;
        alive[at] = alive.back();
        alive.pop_back();
      }
      std::this_thread::sleep_for(2ms);  // the workload's pace, so the test stays short
    }
  });

  ASSERT_TRUE(RequestIncrementalSnapshot(conn, {"students"}).ok());
  ASSERT_TRUE(PollUntil([&] { return LoadProgress(lake_dir).progress.chunks > 0; }, 120s))
      << "no chunk reached the lake";

  // Kill at a random moment once the process has delivered a chunk of its own; after each
  // restart the stored progress must carry on from where it stood, never from the start.
  std::mt19937 rng(std::random_device{}());
  int kills = 0;
  auto deadline = std::chrono::steady_clock::now() + 180s;
  while (kills < kKills && std::chrono::steady_clock::now() < deadline) {
    Stored at_start = LoadProgress(lake_dir);
    if (!at_start.progress.active()) break;  // the pass ended before enough kills
    if (kills > 0) child = std::make_unique<ChildConnector>(db.url(), "lake:" + lake_dir, args);
    Stored next;
    ASSERT_TRUE(PollUntil(
        [&] {
          next = LoadProgress(lake_dir);
          return next.progress.chunks > at_start.progress.chunks || !next.progress.active();
        },
        60s))
        << "no chunk after the restart at chunk " << at_start.progress.chunks;
    if (next.progress.active() && at_start.progress.last_key) {
      // The next chunk, not the table's first one again.
      ASSERT_TRUE(next.progress.last_key);
      EXPECT_GT((*next.progress.last_key)[0], (*at_start.progress.last_key)[0]);
      EXPECT_EQ(next.progress.pass_start, at_start.progress.pass_start);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 250));
    child->Kill9();
    ++kills;
  }
  EXPECT_GE(kills, 10) << "the snapshot ended before ten kills";
  child = std::make_unique<ChildConnector>(db.url(), "lake:" + lake_dir, args);
  ASSERT_TRUE(PollUntil([&] { return !LoadProgress(lake_dir).progress.active(); }, 180s))
      << "the snapshot never completed";
  stop_writer = true;
  writer.join();
  Exec(conn,
       "INSERT INTO students VALUES ('Z000000', 'F', 'L', 'X', 'A', DATE '2001-01-01', 'END', 2, "
       "1.00, 'Part-time')");
  history["Z000000"].values.push_back("END|1.00");
  ASSERT_TRUE(PollUntil(
      [&] {
        return !QueryLines(lake_dir, "SELECT id FROM students_dim WHERE id = 'Z000000'").empty();
      },
      60s))
      << "the last row never reached the lake";
  EXPECT_EQ(child->Terminate(), 0);
  EXPECT_GT(writes.load(), 100);

  // The lake's current rows equal PostgreSQL's.
  std::vector<std::string> pg_rows;
  auto r = conn.Exec("SELECT id, major, gpa::text FROM students ORDER BY id");
  ASSERT_TRUE(r.ok());
  for (int i = 0; i < r->rows(); ++i) {
    pg_rows.push_back(std::string(r->Get(i, 0)) + "|" + std::string(r->Get(i, 1)) + "|" +
                      std::string(r->Get(i, 2)));
  }
  auto lake_rows = QueryLines(lake_dir,
                              "SELECT id, major, gpa::VARCHAR FROM students_dim "
                              "WHERE current_row_indicator = 'yes' ORDER BY id");
  ASSERT_EQ(lake_rows.size(), pg_rows.size());
  EXPECT_TRUE(lake_rows == pg_rows) << "the lake's current students differ from PostgreSQL's";

  // Every version of every row: an untouched row has its one version, a touched one exactly
  // the writer's history; the snapshot made no version and closed nothing.
  std::map<std::string, History> lake_history;
  for (const auto& line : QueryLines(lake_dir,
                                     "SELECT id, major || '|' || gpa::VARCHAR, is_deleted "
                                     "FROM students_dim ORDER BY id, student_key")) {
    auto bar1 = line.find('|');
    auto bar3 = line.rfind('|');
    auto& h = lake_history[line.substr(0, bar1)];
    h.values.push_back(line.substr(bar1 + 1, bar3 - bar1 - 1));
    h.deleted = line.substr(bar3 + 1) == "true";
  }
  size_t mismatches = 0;
  for (int i = 0; i < kRows; ++i) {
    const std::string id = Id('S', i);
    if (history.count(id)) continue;
    const auto& h = lake_history[id];
    const std::string initial = "M" + std::to_string(i % 10) + "|2.00";
    if (h.values != std::vector<std::string>{initial} || h.deleted) {
      if (++mismatches <= 5) ADD_FAILURE() << id << " untouched but has " << h.values.size();
    }
  }
  for (const auto& [id, expected] : history) {
    const auto& h = lake_history[id];
    if (h.values != expected.values || h.deleted != expected.deleted) {
      if (++mismatches <= 5) {
        ADD_FAILURE() << id << ": " << h.values.size() << " versions (deleted " << h.deleted
                      << "), expected " << expected.values.size() << " (deleted "
                      << expected.deleted << ")";
      }
    }
  }
  EXPECT_EQ(mismatches, 0u);
  EXPECT_EQ(lake_history.size(), kRows + std::count_if(history.begin(), history.end(),
                                                       [](auto& h) { return h.first[0] != 'S'; }));
  // The re-read rows are in the change log as snapshot reads, next to the initial copy's.
  auto reads = QueryLines(lake_dir, "SELECT count(*) FROM students_changes WHERE op = 'r'");
  ASSERT_EQ(reads.size(), 1u);
  EXPECT_GT(std::stoll(reads[0]), kRows + kRows / 2);
  EXPECT_TRUE(
      QueryLines(lake_dir, "SELECT 1 FROM students_changes WHERE op = 'd' AND origin = 'snapshot'")
          .empty());
}

}  // namespace
}  // namespace migsbyu::cdc
