// kill -9 of `migsbyu cdc` at random points (during the snapshot, mid-transaction, between
// flushes), restarted each time while a writer keeps committing: the file sink must end up
// holding every change exactly once, in commit order.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <random>
#include <thread>

#include "cdc_test_support.h"
#include "support/test_database.h"

namespace migsbyu::cdc {
namespace {

using namespace std::chrono_literals;
using testing::ChildConnector;
using testing::Connect;
using testing::Exec;
using testing::PollUntil;
using testing::ReadCommitted;

TEST(CrashTest, KillNineAtRandomPointsThenRestartKeepsEveryChangeExactlyOnceInOrder) {
  ::migsbyu::testing::TestDatabase db("cdccrash");
  testing::TempDir dir;
  std::string file = dir.path() + "/changes.jsonl";
  auto conn = Connect(db.url());
  Exec(conn,
       "CREATE TABLE w (seq bigint PRIMARY KEY, v text);"
       "ALTER TABLE w REPLICA IDENTITY FULL;"
       "INSERT INTO w SELECT i, 'initial' FROM generate_series(1, 30000) i");
  std::vector<std::string> args = {"--slot", db.name(), "--table", "w", "--spool-dir", dir.path()};

  std::atomic<bool> stop_writer{false};
  std::atomic<int64_t> next_seq{30001};
  std::jthread writer([&] {
    auto w = Connect(db.url());
    std::mt19937 rng(42);
    while (!stop_writer) {
      // Mostly small transactions, sometimes a big one (to be killed in the middle of).
      int rows = rng() % 20 == 0 ? 2000 : 1 + static_cast<int>(rng() % 20);
      int64_t first = next_seq;
      std::string sql = "BEGIN; INSERT INTO w SELECT i, 'new' FROM generate_series(" +
                        std::to_string(first) + ", " + std::to_string(first + rows - 1) +
                        ") i; UPDATE w SET v = 'updated " + std::to_string(first) +
                        "' WHERE seq = " + std::to_string(1 + rng() % (first - 1)) + "; COMMIT";
      auto r = w.Exec(sql);
      ASSERT_TRUE(r.ok()) << r.error().ToString();
      next_seq = first + rows;
      std::this_thread::sleep_for(5ms);  // the workload's pace, so the test stays short
    }
  });

  std::mt19937 rng(std::random_device{}());
  auto deadline = std::chrono::steady_clock::now() + 150s;
  int kills = 0;
  for (; kills < 20 && std::chrono::steady_clock::now() < deadline; ++kills) {
    ChildConnector child(db.url(), file, args);
    // The kill point: anywhere from the snapshot to a few flushes in.
    std::this_thread::sleep_for(std::chrono::milliseconds(50 + rng() % 700));
    child.Kill9();
  }
  EXPECT_GE(kills, 20);
  stop_writer = true;
  writer.join();
  Exec(conn, "INSERT INTO w VALUES (0, 'end')");

  ChildConnector last(db.url(), file, args);
  testing::FileContents contents;
  ASSERT_TRUE(PollUntil(
      [&] {
        contents = ReadCommitted(file);
        return !contents.changes.empty() && contents.changes.back()["after"]["seq"] == 0;
      },
      180s))
      << "the marker row never arrived";
  EXPECT_EQ(last.Terminate(), 0);
  contents = ReadCommitted(file);

  // Every row exactly once, as a snapshot read or an insert.
  std::map<int64_t, int> rows;
  std::map<int64_t, std::string> value;
  int64_t last_inserted = 0;
  for (const auto& c : contents.changes) {
    int64_t seq = c["after"]["seq"];
    if (c["op"] == "r" || c["op"] == "c") {
      ++rows[seq];
      if (c["op"] == "c" && seq != 0) {
        // One writer: commit order is sequence order.
        ASSERT_GT(seq, last_inserted) << "insert out of commit order";
        last_inserted = seq;
      }
    }
    value[seq] = c["after"]["v"];
  }
  int64_t expected_rows = next_seq;  // 1 .. next_seq - 1, plus the marker 0
  ASSERT_EQ(static_cast<int64_t>(rows.size()), expected_rows);
  for (auto [seq, times] : rows) ASSERT_EQ(times, 1) << "row " << seq;

  // The final state equals the table.
  auto table = conn.Exec("SELECT seq, v FROM w");
  ASSERT_TRUE(table.ok());
  ASSERT_EQ(table->rows(), expected_rows);
  for (int i = 0; i < table->rows(); ++i) {
    int64_t seq = std::stoll(std::string(table->Get(i, 0)));
    ASSERT_EQ(value[seq], table->Get(i, 1)) << "row " << seq;
  }

  // One snapshot, then transactions in strictly increasing commit order, each numbered 0..n-1.
  ASSERT_FALSE(contents.commits.empty());
  EXPECT_EQ(contents.commits[0]["snapshot"], true);
  for (size_t i = 1; i < contents.commits.size(); ++i) {
    EXPECT_EQ(contents.commits[i]["snapshot"], false);
    ASSERT_LT(*Lsn::Parse(contents.commits[i - 1]["end_lsn"].get<std::string>()),
              *Lsn::Parse(contents.commits[i]["end_lsn"].get<std::string>()));
  }
  uint64_t expected_position = 0;
  std::string commit_lsn;
  for (const auto& c : contents.changes) {
    if (c["commit_lsn"] != commit_lsn) {
      commit_lsn = c["commit_lsn"];
      expected_position = 0;
    }
    ASSERT_EQ(c["position"], expected_position++);
  }
}

}  // namespace
}  // namespace migsbyu::cdc
