// The commit protocol, crash leftovers, huge transactions, compaction under concurrent readers.
#include "lake/writer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/log_capture.h"
#include "lake/lake.h"
#include "lake/lake_sink.h"
#include "lake/testing.h"

namespace migsbyu::lake {
namespace {
namespace fs = std::filesystem;

class WriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() /
            (std::string("lake_writer_") +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + "_" +
             std::to_string(getpid())))
               .string();
    fs::remove_all(dir_);
    options_.dir = dir_;
    auto lake = Lake::Open(dir_, 1);
    ASSERT_TRUE(lake.ok()) << lake.error().ToString();
    lake_ = *lake;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<LakeWriter> OpenWriter() {
    auto w = LakeWriter::Open(options_, lake_);
    EXPECT_TRUE(w.ok()) << w.error().ToString();
    return w.ok() ? std::move(*w) : nullptr;
  }

  // Transaction `n` (1-based) inserts `rows` students; commit_lsn = 10n, end_lsn = 10n + 1.
  // `partition`: the Kafka partition the changes were read from (-1: not from Kafka).
  void InsertTransaction(LakeWriter& w, uint64_t n, int rows = 1, bool commit = true,
                         std::shared_ptr<const events::TableSchema> table = nullptr,
                         int32_t partition = -1) {
    if (!table) table = schema_;
    events::TransactionInfo tx{static_cast<uint32_t>(n), Lsn(10 * n), Lsn(10 * n + 1),
                               static_cast<int64_t>(n) * 1000, false};
    ASSERT_TRUE(w.Begin(tx).ok());
    for (int i = 0; i < rows; ++i) {
      events::ChangeEvent e;
      e.op = events::Operation::kInsert;
      e.table = table;
      e.after = events::Row(table->columns.size());
      (*e.after)[0] = events::Value::Text("S" + std::to_string(n) + "_" + std::to_string(i));
      e.commit_lsn = tx.commit_lsn;
      e.lsn = tx.commit_lsn;
      e.position = i;
      e.xid = tx.xid;
      e.commit_time_us = tx.commit_time_us;
      e.source_partition = partition;
      Status s = w.Apply(e);
      ASSERT_TRUE(s.ok()) << s.error().ToString();
    }
    if (commit) {
      ASSERT_TRUE(w.Commit(tx).ok());
    }
  }

  uint64_t Count(const std::string& sql) {
    auto conn = lake_->Connect();
    EXPECT_TRUE(conn.ok()) << conn.error().ToString();
    auto r = conn->connection.Query(sql);
    EXPECT_TRUE(r.ok()) << r.error().ToString();
    return r.ok() ? r->GetUint64(0, 0) : ~0ull;
  }

  std::string dir_;
  WriterOptions options_;
  std::shared_ptr<Lake> lake_;
  std::shared_ptr<const events::TableSchema> schema_ = testing::ContractSchema("students");
};

TEST_F(WriterTest, ManifestRoundTripsThroughJson) {
  Manifest m;
  m.version = 7;
  m.end_lsn = Lsn(123);
  m.commit_lsn = Lsn(120);
  m.commit_time_us = 5;
  m.datasets["students_changes"] = {{"students_changes/part-00000007-0000.parquet", 3}};
  m.watermarks["students"] = {120, 2};
  m.next_keys["student"] = 4;
  m.partition_watermarks["students"] = {{0, {110, 1}}, {2, {120, 2}}};
  auto back = ManifestFromJson(ManifestToJson(m), "test");
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  EXPECT_EQ(back->version, 7u);
  EXPECT_EQ(back->end_lsn, Lsn(123));
  EXPECT_EQ(back->datasets, m.datasets);
  EXPECT_EQ(back->watermarks["students"], (Watermark{120, 2}));
  EXPECT_EQ(back->next_keys, m.next_keys);
  EXPECT_EQ(back->partition_watermarks, m.partition_watermarks);
  EXPECT_FALSE(ManifestFromJson(ManifestToJson(m).substr(0, 40), "torn").ok());
}

TEST_F(WriterTest, TornManifestAndOrphanFilesAfterACrashAreIgnoredAndRemoved) {
  {
    auto w = OpenWriter();
    InsertTransaction(*w, 1, 3);
    ASSERT_TRUE(w->Publish().ok());
  }
  // What a crash can leave: a temporary manifest, a damaged newer manifest, unlisted data files.
  std::ofstream(fs::path(dir_) / kManifestDir / ".tmp-2") << "{\"format\":";
  std::ofstream(ManifestPath(dir_, 2)) << "{\"format\":\"migsbyu-lake/1\",\"vers";
  fs::copy_file(fs::path(dir_) / lake_->Snapshot()->Files("students_changes")[0].path,
                fs::path(dir_) / "students_changes" / "part-00000002-0000.parquet");
  auto reopened = Lake::Open(dir_, 1);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->Position().version, 1u);
  lake_ = *reopened;
  EXPECT_EQ(Count("SELECT count(*) FROM students_changes"), 3u);
  EXPECT_EQ(Count("SELECT count(*) FROM read_parquet('" + dir_ + "/students_changes/*.parquet')"),
            6u);  // the orphan is there before the writer opens...
  auto w = OpenWriter();
  EXPECT_FALSE(fs::exists(ManifestPath(dir_, 2)));
  EXPECT_FALSE(fs::exists(fs::path(dir_) / kManifestDir / ".tmp-2"));
  EXPECT_EQ(Count("SELECT count(*) FROM read_parquet('" + dir_ + "/students_changes/*.parquet')"),
            3u);  // ...and gone after
  EXPECT_EQ(w->published().end_lsn, Lsn(11));
  InsertTransaction(*w, 2, 2);
  ASSERT_TRUE(w->Publish().ok());
  EXPECT_EQ(Count("SELECT count(*) FROM students_dim"), 5u);
  EXPECT_EQ(Count("SELECT max(student_key) FROM students_dim"), 5u);
}

TEST_F(WriterTest, GarbageThatCannotBeRemovedIsLoggedAndTheWriterCarriesOn) {
  {
    auto w = OpenWriter();
    InsertTransaction(*w, 1, 3);
    ASSERT_TRUE(w->Publish().ok());
  }
  // An unlisted "data file" that is a folder with something in it: remove() refuses it.
  const fs::path stuck = fs::path(dir_) / "students_changes" / "part-00000009-0000.parquet";
  fs::create_directories(stuck);
  std::ofstream(stuck / "inside") << "x";
  LogCapture log;
  auto w = OpenWriter();
  ASSERT_NE(w, nullptr);
  EXPECT_NE(log.Text().find("[warning] lake: cannot remove " + stuck.string() + ": "),
            std::string::npos)
      << log.Text();
  EXPECT_TRUE(fs::exists(stuck / "inside"));
  InsertTransaction(*w, 2, 2);
  ASSERT_TRUE(w->Publish().ok());
  EXPECT_EQ(Count("SELECT count(*) FROM students_dim"), 5u);
}

TEST_F(WriterTest, HugeTransactionIsSpilledButInvisibleUntilCommitted) {
  options_.spill_rows = 500;
  auto w = OpenWriter();
  InsertTransaction(*w, 1, 5000, /*commit=*/false);
  size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir_)) {
    files += e.path().extension() == ".parquet";
  }
  EXPECT_GT(files, 5u);  // spilled while the transaction is open
  EXPECT_EQ(lake_->Position().version, 0u);
  EXPECT_EQ(Count("SELECT count(*) FROM students_changes"), 0u);
  auto published = w->Publish();
  ASSERT_TRUE(published.ok());
  EXPECT_FALSE(*published);  // inside the transaction: nothing to publish
  events::TransactionInfo tx{1, Lsn(10), Lsn(11), 1000, false};
  ASSERT_TRUE(w->Commit(tx).ok());
  ASSERT_TRUE(w->Publish().ok());
  EXPECT_EQ(Count("SELECT count(*) FROM students_changes"), 5000u);
  EXPECT_EQ(Count("SELECT count(DISTINCT student_key) FROM students_dim"), 5000u);
}

TEST_F(WriterTest, FailedTransactionIsDroppedAndAcceptedAgain) {
  auto w = OpenWriter();
  InsertTransaction(*w, 1, 2);
  ASSERT_TRUE(w->Publish().ok());
  InsertTransaction(*w, 2, 2, /*commit=*/false);  // the connector lost its connection here
  InsertTransaction(*w, 2, 2);                    // and replays it
  ASSERT_TRUE(w->Publish().ok());
  EXPECT_EQ(Count("SELECT count(*) FROM students_changes"), 4u);
  EXPECT_EQ(Count("SELECT max(student_key) FROM students_dim"), 4u);
}

TEST_F(WriterTest, StreamedSpillsKeepCommitOrderAndADroppedOneLeavesNothing) {
  // Change + version rows: a spill after 20,000 changes; a batch holds 16,384 changes.
  options_.spill_rows = 40000;
  options_.duckdb_threads = 2;
  auto w = OpenWriter();
  InsertTransaction(*w, 1, 18000);
  ASSERT_TRUE(w->Publish().ok());
  InsertTransaction(*w, 2, 18000, /*commit=*/false);  // its COPY holds a full batch when it fails
  InsertTransaction(*w, 2, 18000);                    // replayed
  InsertTransaction(*w, 3, 25000);
  ASSERT_TRUE(w->Publish().ok());
  EXPECT_EQ(Count("SELECT count(*) FROM students_changes"), 61000u);
  EXPECT_EQ(Count("SELECT count(DISTINCT (commit_lsn, position)) FROM students_changes"), 61000u);
  auto conn = lake_->Connect();
  ASSERT_TRUE(conn.ok());
  const auto& files = conn->snapshot->Files("students_changes");
  EXPECT_GE(files.size(), 4u);
  for (const auto& f : files) {
    auto r = conn->connection.Query(
        "SELECT count(*) FILTER (WHERE l IS NOT NULL AND (commit_lsn, position) <= (l, p)) FROM "
        "(SELECT commit_lsn, position, lag(commit_lsn) OVER () AS l, lag(position) OVER () AS p "
        "FROM read_parquet(" +
        duck::QuoteString(dir_ + "/" + f.path) + "))");
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    EXPECT_EQ(r->GetUint64(0, 0), 0u) << f.path << " is not in commit order";
  }
  size_t on_disk = 0;
  for (const auto& e : fs::directory_iterator(fs::path(dir_) / "students_changes")) {
    on_disk += e.path().extension() == ".parquet";
  }
  EXPECT_EQ(on_disk, files.size());  // the dropped transaction's files are gone
}

TEST_F(WriterTest, ChangeFailingOnAValueLeavesNothingInItsRow) {
  auto other = std::make_shared<events::TableSchema>(*schema_);
  other->name = "applicants";  // outside the contract: its change log only
  const int gpa = other->ColumnIndex("gpa"), first_name = other->ColumnIndex("first_name");
  ASSERT_GT(gpa, first_name);  // the bad value comes after one the failed row has set
  auto w = OpenWriter();
  events::TransactionInfo tx{1, Lsn(10), Lsn(11), 1000, false};
  ASSERT_TRUE(w->Begin(tx).ok());
  auto change = [&](uint64_t position, const char* name, const char* grade) {
    events::ChangeEvent e;
    e.op = events::Operation::kInsert;
    e.table = other;
    e.after = events::Row(other->columns.size());
    (*e.after)[0] = events::Value::Text("A" + std::to_string(position));
    if (name) (*e.after)[first_name] = events::Value::Text(name);
    if (grade) (*e.after)[gpa] = events::Value::Text(grade);
    e.commit_lsn = tx.commit_lsn;
    e.lsn = tx.commit_lsn;
    e.position = position;
    e.xid = tx.xid;
    e.commit_time_us = tx.commit_time_us;
    return e;
  };
  ASSERT_TRUE(w->Apply(change(0, "Ann", "3.50")).ok());
  Status bad = w->Apply(change(1, "Bob", "not a number"));
  EXPECT_FALSE(bad.ok());
  ASSERT_TRUE(w->Apply(change(2, nullptr, nullptr)).ok());  // fills the failed change's row
  ASSERT_TRUE(w->Commit(tx).ok());
  ASSERT_TRUE(w->Publish().ok());
  EXPECT_EQ(Count("SELECT count(*) FROM applicants_changes"), 2u);
  EXPECT_EQ(Count("SELECT count(*) FROM applicants_changes WHERE after_id = 'A2' AND "
                  "after_first_name IS NULL AND after_gpa IS NULL"),
            1u);
  EXPECT_EQ(Count("SELECT count(*) FROM applicants_changes WHERE after_id = 'A0' AND "
                  "after_first_name = 'Ann' AND after_gpa = 3.5"),
            1u);
}

TEST_F(WriterTest, PartOfATransactionArrivingLateIsPublished) {
  // As from Kafka: transaction 2's students part, then transaction 1's part of another table
  // (a lower end LSN), then that part again (a redelivery).
  auto other = std::make_shared<events::TableSchema>(*schema_);
  other->name = "applicants";
  auto w = OpenWriter();
  InsertTransaction(*w, 2, 1);
  ASSERT_TRUE(w->Publish().ok());
  InsertTransaction(*w, 1, 2, true, other);
  auto published = w->Publish();
  ASSERT_TRUE(published.ok());
  EXPECT_TRUE(*published);
  EXPECT_EQ(Count("SELECT count(*) FROM applicants_changes"), 2u);
  EXPECT_EQ(w->published().end_lsn, Lsn(21));
  InsertTransaction(*w, 1, 2, true, other);
  published = w->Publish();
  ASSERT_TRUE(published.ok());
  EXPECT_FALSE(*published);
  EXPECT_EQ(Count("SELECT count(*) FROM applicants_changes"), 2u);
}

TEST_F(WriterTest, KafkaPartitionsOfATableAreDeduplicatedEachByItsOwnMark) {
  auto w = OpenWriter();
  InsertTransaction(*w, 2, 1, true, nullptr, /*partition=*/1);
  ASSERT_TRUE(w->Publish().ok());
  // Below the table's watermark, but new in its partition: stored.
  InsertTransaction(*w, 1, 1, true, nullptr, 0);
  // Redeliveries of both partitions: dropped.
  InsertTransaction(*w, 1, 1, true, nullptr, 0);
  InsertTransaction(*w, 2, 1, true, nullptr, 1);
  ASSERT_TRUE(w->Publish().ok());
  EXPECT_EQ(Count("SELECT count(*) FROM students_changes"), 2u);
  EXPECT_EQ(w->published().watermarks.at("students"), (Watermark{20, 0}));
  w.reset();
  // The marks come back from the manifest.
  w = OpenWriter();
  EXPECT_EQ(w->published().partition_watermarks.at("students"),
            (std::map<int32_t, Watermark>{{0, {10, 0}}, {1, {20, 0}}}));
  InsertTransaction(*w, 1, 1, true, nullptr, 0);
  InsertTransaction(*w, 3, 1, true, nullptr, 2);
  ASSERT_TRUE(w->Publish().ok());
  EXPECT_EQ(Count("SELECT count(*) FROM students_changes"), 3u);
}

TEST_F(WriterTest, ALakeWithoutPartitionMarksSeedsTheFirstFromTheTableWatermark) {
  auto w = OpenWriter();
  InsertTransaction(*w, 1);
  InsertTransaction(*w, 2);
  ASSERT_TRUE(w->Publish().ok());
  EXPECT_TRUE(w->published().partition_watermarks.empty());
  // The same topic, now read with its partition known: what the table holds is not stored again.
  InsertTransaction(*w, 2, 1, true, nullptr, 0);
  InsertTransaction(*w, 3, 1, true, nullptr, 0);
  ASSERT_TRUE(w->Publish().ok());
  EXPECT_EQ(Count("SELECT count(*) FROM students_changes"), 3u);
}

TEST_F(WriterTest, CompactionKeepsEveryRowExactlyOnceWhileReadersQuery) {
  options_.max_files_per_dataset = 4;
  options_.retain = std::chrono::milliseconds(0);  // only pins protect files
  auto w = OpenWriter();
  std::atomic<bool> stop{false};
  std::atomic<int> checks{0};
  std::atomic<int> failures{0};
  std::thread reader([&] {
    while (!stop) {
      auto conn = lake_->Connect();
      if (!conn.ok()) {
        ++failures;
        continue;
      }
      uint64_t committed = conn->snapshot->end_lsn.value() / 10;  // transactions in the snapshot
      auto r = conn->connection.Query(
          "SELECT (SELECT count(*) FROM students_changes), "
          "(SELECT count(DISTINCT student_key) FROM students_dim WHERE current_row_indicator = "
          "'yes'), "
          "(SELECT count(*) FROM students_dim)");
      if (!r.ok() || r->GetUint64(0, 0) != 2 * committed || r->GetUint64(1, 0) != 2 * committed ||
          r->GetUint64(2, 0) != 2 * committed) {
        ++failures;
        ADD_FAILURE() << (r.ok()
                              ? "wrong counts at version " + std::to_string(conn->snapshot->version)
                              : r.error().ToString());
      }
      ++checks;
    }
  });
  for (uint64_t n = 1; n <= 60; ++n) {
    InsertTransaction(*w, n, 2);
    auto p = w->Publish();
    ASSERT_TRUE(p.ok()) << p.error().ToString();
  }
  while (checks < 20) std::this_thread::yield();
  stop = true;
  reader.join();
  EXPECT_EQ(failures, 0);
  auto snap = lake_->Snapshot();
  EXPECT_GT(snap->version, 60u);  // compactions published manifests of their own
  EXPECT_LE(snap->Files("students_changes").size(), 5u);
  EXPECT_EQ(Count("SELECT count(*) FROM students_changes"), 120u);
  ASSERT_TRUE(w->CollectGarbage().ok());
  size_t on_disk = 0;
  for (const auto& e : fs::directory_iterator(fs::path(dir_) / "students_changes")) {
    on_disk += e.path().extension() == ".parquet";
  }
  EXPECT_EQ(on_disk, snap->Files("students_changes").size());
}

TEST_F(WriterTest, SinkMakesACommitVisibleWithoutFlushAndWaitForCommitWakes) {
  LakeSinkOptions options;
  options.writer = options_;
  options.commit_interval = std::chrono::milliseconds(20);
  auto sink = LakeSink::Open(options, lake_);
  ASSERT_TRUE(sink.ok());
  EXPECT_EQ((*sink)->ResumeLsn(), std::nullopt);
  events::TransactionInfo tx{1, Lsn(10), Lsn(11), 1000, false};
  ASSERT_TRUE((*sink)->Begin(tx).ok());
  events::ChangeEvent e;
  e.table = schema_;
  e.after = events::Row(schema_->columns.size());
  (*e.after)[0] = events::Value::Text("S1");
  e.commit_lsn = tx.commit_lsn;
  ASSERT_TRUE((*sink)->Apply(e).ok());
  ASSERT_TRUE((*sink)->Commit(tx).ok());
  CommitPosition pos = lake_->WaitForCommit(0, std::chrono::seconds(10));
  EXPECT_EQ(pos.version, 1u);
  EXPECT_EQ(pos.end_lsn, Lsn(11));
  EXPECT_EQ((*sink)->ResumeLsn(), Lsn(11));
  EXPECT_EQ(lake_->Counts()["students_changes"], 1u);
  EXPECT_EQ(lake_->LiveFiles()["students_dim"].size(), 1u);
}

}  // namespace
}  // namespace migsbyu::lake
