// Tables end to end on the file system: snapshots of appends, row-level changes and compactions
// read back at every snapshot, schema changes read by field id, writers racing for a version
// (threads and processes), a commit stopped after each step, expiration.
#include "lake/iceberg/table.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <thread>

#include "lake/duck.h"
#include "lake/iceberg/files.h"
#include "lake/iceberg/parquet.h"
#include "lake/iceberg/scan.h"
#include "lake/iceberg/testing.h"

namespace migsbyu::iceberg {
namespace {

namespace fs = std::filesystem;

Schema Students() {
  return Schema{0,
                {Field{1, "id", Type::Of(TypeId::kLong), false, ""},
                 Field{2, "name", Type::Of(TypeId::kString), false, ""},
                 Field{3, "gpa", Type::Decimal(3, 2), false, ""}},
                {}};
}

// An append of a file that need not exist (commits read no data file).
SnapshotUpdate FakeAppend(const Table& table, int64_t rows) {
  DataFile f;
  f.file_path = table.NewDataFileUri();
  f.record_count = rows;
  f.file_size_in_bytes = 100;
  SnapshotUpdate u;
  u.added_files = {f};
  return u;
}

class TableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = TableDirectory(root_.path(), "lake", "students");
    ASSERT_TRUE(dir.ok());
    dir_ = *dir;
    auto table = Table::Create(dir_, Students());
    ASSERT_TRUE(table.ok()) << table.error().ToString();
    table_.emplace(std::move(table).value());
    t0_ = NowMs();
  }

  // Commit options with the snapshot time `offset_ms` after the test began (commit times are
  // kept no lower than the table's last update, so tests give times after the table's creation).
  CommitOptions At(int64_t offset_ms) const {
    CommitOptions o;
    o.now_ms = t0_ + offset_ms;
    return o;
  }
  // A new data file of `table`'s current schema holding `values` ("(1, 'a', 3.50), ...").
  DataFile Write(Table& table, const std::string& values) {
    const Schema& schema = table.metadata().CurrentSchema();
    std::string names;
    for (const auto& f : schema.fields)
      names += (names.empty() ? "" : ", ") + duck::QuoteIdentifier(f.name);
    auto file = WriteDataFile(*conn_, "(VALUES " + values + ") AS t(" + names + ")", schema,
                              table.NewDataFileUri());
    EXPECT_TRUE(file.ok()) << file.error().ToString();
    return file.ok() ? *file : DataFile{};
  }

  DataFile Deletes(Table& table, std::vector<PositionDelete> deletes) {
    auto file = WritePositionDeletes(*conn_, std::move(deletes), table.NewDeleteFileUri());
    EXPECT_TRUE(file.ok()) << file.error().ToString();
    return file.ok() ? *file : DataFile{};
  }

  // The rows of a plan as "id|name|gpa[|more]" strings, sorted.
  std::vector<std::string> Rows(const ScanPlan& plan) {
    auto query = ScanQuery(plan);
    EXPECT_TRUE(query.ok()) << query.error().ToString();
    std::string concat;
    for (const auto& f : plan.schema.fields) {
      concat += (concat.empty() ? "" : " || '|' || ") + std::string("coalesce(CAST(") +
                duck::QuoteIdentifier(f.name) + " AS VARCHAR), 'NULL')";
    }
    auto result = conn_->Query("SELECT " + concat + " AS r FROM (" + *query + ") ORDER BY r");
    EXPECT_TRUE(result.ok()) << result.error().ToString();
    std::vector<std::string> rows;
    for (uint64_t r = 0; result.ok() && r < result->RowCount(); ++r)
      rows.push_back(result->GetString(0, r));
    return rows;
  }

  std::vector<std::string> Rows(const Table& table,
                                std::optional<int64_t> snapshot = std::nullopt) {
    auto plan = table.PlanScan(snapshot);
    EXPECT_TRUE(plan.ok()) << plan.error().ToString();
    return plan.ok() ? Rows(*plan) : std::vector<std::string>{};
  }

  // Every file a snapshot of `table` reaches, as local paths.
  std::set<std::string> Reached(const Table& table) {
    std::set<std::string> out;
    for (const auto& s : table.metadata().snapshots) {
      out.insert(*LocalPath(s.manifest_list));
      auto list = table.ReadManifestList(s);
      EXPECT_TRUE(list.ok());
      for (const auto& m : *list) {
        out.insert(*LocalPath(m.manifest_path));
        auto entries = table.ReadManifest(m);
        EXPECT_TRUE(entries.ok());
        for (const auto& e : *entries) {
          if (e.status != EntryStatus::kDeleted) out.insert(*LocalPath(e.file.file_path));
        }
      }
    }
    return out;
  }

  testing::ScratchDirectory root_{"iceberg_table"};
  testing::DuckSession duck_;
  duck::Connection* conn_ = &duck_.conn;
  std::string dir_;
  std::optional<Table> table_;
  int64_t t0_ = 0;
};

TEST_F(TableTest, AppendsRowDeltaAndCompactionKeepEverySnapshotReadable) {
  Table& t = *table_;
  EXPECT_TRUE(Rows(t).empty());  // no snapshot yet
  DataFile a = Write(t, "(1, 'ann', 3.50), (2, 'bob', 2.00), (3, 'cy', 4.00)");
  auto s1 = t.Commit({Operation::kAppend, {a}, {}, {}, {}}, At(1000));
  ASSERT_TRUE(s1.ok()) << s1.error().ToString();
  DataFile b = Write(t, "(4, 'dee', 1.25), (5, 'eve', 3.00)");
  auto s2 = t.Commit({Operation::kAppend, {b}, {}, {}, {}}, At(2000));
  ASSERT_TRUE(s2.ok());

  // A row-level change in one snapshot: bob's version is closed (deleted by position) and a
  // new one appended; dee is deleted.
  DataFile c = Write(t, "(2, 'bob2', 2.50)");
  DataFile d = Deletes(t, {{a.file_path, 1}, {b.file_path, 0}});
  EXPECT_FALSE(d.referenced_data_file.has_value());  // two files
  SnapshotUpdate delta{Operation::kOverwrite, {c, d}, {}, {a.file_path, b.file_path}, {}};
  auto s3 = t.Commit(delta, At(3000));
  ASSERT_TRUE(s3.ok()) << s3.error().ToString();
  DataFile e = Write(t, "(6, 'fay', 3.75)");
  auto s4 = t.Commit({Operation::kAppend, {e}, {}, {}, {}}, At(4000));
  ASSERT_TRUE(s4.ok());

  std::vector<std::string> at1 = {"1|ann|3.50", "2|bob|2.00", "3|cy|4.00"};
  std::vector<std::string> at2 = {"1|ann|3.50", "2|bob|2.00", "3|cy|4.00", "4|dee|1.25",
                                  "5|eve|3.00"};
  std::vector<std::string> at3 = {"1|ann|3.50", "2|bob2|2.50", "3|cy|4.00", "5|eve|3.00"};
  std::vector<std::string> at4 = {"1|ann|3.50", "2|bob2|2.50", "3|cy|4.00", "5|eve|3.00",
                                  "6|fay|3.75"};
  EXPECT_EQ(Rows(t, s1->snapshot_id), at1);
  EXPECT_EQ(Rows(t, s2->snapshot_id), at2);
  EXPECT_EQ(Rows(t, s3->snapshot_id), at3);
  EXPECT_EQ(Rows(t), at4);

  // Sequence numbers: each file keeps the one of the snapshot that added it; the delete file
  // applies to the files at or below its number, not to fay's newer file.
  auto plan4 = t.PlanScan();
  ASSERT_TRUE(plan4.ok());
  std::map<std::string, int64_t> seq;
  for (const auto& f : plan4->data_files) seq[f.path] = f.sequence_number;
  EXPECT_EQ(seq, (std::map<std::string, int64_t>{
                     {a.file_path, 1}, {b.file_path, 2}, {c.file_path, 3}, {e.file_path, 4}}));
  ASSERT_EQ(plan4->delete_files.size(), 1u);
  EXPECT_EQ(plan4->delete_files[0].sequence_number, 3);

  // Compaction: the live rows rewritten into one file, the applied deletes dropped.
  auto query = ScanQuery(*plan4);
  ASSERT_TRUE(query.ok());
  auto compacted = WriteDataFile(*conn_, "(" + *query + " ORDER BY id)",
                                 t.metadata().CurrentSchema(), t.NewDataFileUri());
  ASSERT_TRUE(compacted.ok()) << compacted.error().ToString();
  SnapshotUpdate rewrite{Operation::kReplace,
                         {*compacted},
                         {a.file_path, b.file_path, c.file_path, d.file_path, e.file_path},
                         {},
                         {}};
  auto s5 = t.Commit(rewrite, At(5000));
  ASSERT_TRUE(s5.ok()) << s5.error().ToString();
  EXPECT_EQ(Rows(t), at4);
  auto plan5 = t.PlanScan();
  ASSERT_EQ(plan5->data_files.size(), 1u);
  EXPECT_TRUE(plan5->delete_files.empty());
  // Readers of older snapshots are unaffected.
  EXPECT_EQ(Rows(t, s3->snapshot_id), at3);
  EXPECT_EQ(Rows(t, s1->snapshot_id), at1);

  const auto& snaps = t.metadata().snapshots;
  ASSERT_EQ(snaps.size(), 5u);
  EXPECT_EQ(snaps[2].summary.at("operation"), "overwrite");
  EXPECT_EQ(snaps[2].summary.at("added-position-deletes"), "2");
  EXPECT_EQ(snaps[2].summary.at("added-position-delete-files"), "1");
  EXPECT_EQ(snaps[2].summary.at("total-records"), "6");
  EXPECT_EQ(snaps[4].summary.at("operation"), "replace");
  EXPECT_EQ(snaps[4].summary.at("deleted-data-files"), "4");
  EXPECT_EQ(snaps[4].summary.at("removed-position-deletes"), "2");
  EXPECT_EQ(snaps[4].summary.at("total-records"), "5");
  EXPECT_EQ(snaps[4].summary.at("total-delete-files"), "0");
  EXPECT_EQ(snaps[4].summary.at("total-data-files"), "1");
  for (size_t i = 0; i < snaps.size(); ++i)
    EXPECT_EQ(snaps[i].sequence_number, static_cast<int64_t>(i + 1));

  // The replaced files are recorded as deleted by the compaction's snapshot.
  auto list = t.ReadManifestList(snaps[4]);
  ASSERT_TRUE(list.ok());
  int deleted = 0;
  for (const auto& m : *list) {
    auto entries = t.ReadManifest(m);
    ASSERT_TRUE(entries.ok());
    for (const auto& entry : *entries) {
      if (entry.status == EntryStatus::kDeleted) {
        ++deleted;
        EXPECT_EQ(entry.snapshot_id, s5->snapshot_id);
      }
    }
  }
  EXPECT_EQ(deleted, 5);

  // Time travel by timestamp goes by the snapshot log.
  auto as_of = t.PlanScanAsOf(t0_ + 2500);
  ASSERT_TRUE(as_of.ok());
  EXPECT_EQ(Rows(*as_of), at2);
  EXPECT_EQ(t.PlanScanAsOf(t0_ + 999).error().code(), ErrorCode::kNotFound);

  // What an operation may not do.
  EXPECT_EQ(t.Commit({Operation::kReplace, {}, {"file:///nope.parquet"}, {}, {}}).error().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(t.Commit({Operation::kAppend, {d}, {}, {}, {}}).error().code(),
            ErrorCode::kInvalidArgument);
  DataFile outside = e;
  outside.file_path = "file:///elsewhere/x.parquet";
  EXPECT_EQ(t.Commit({Operation::kAppend, {outside}, {}, {}, {}}).error().code(),
            ErrorCode::kInvalidArgument);
  SnapshotUpdate plain_key = FakeAppend(t, 1);
  plain_key.summary["total-records"] = "7";
  EXPECT_EQ(t.Commit(plain_key).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(t.metadata().snapshots.size(), 5u);
}

TEST_F(TableTest, SchemaChangesReadOlderFilesByFieldId) {
  Table& t = *table_;
  DataFile a = Write(t, "(1, 'ann', 3.50), (2, 'bob', 2.00)");
  auto s1 = t.Commit({Operation::kAppend, {a}, {}, {}, {}});
  ASSERT_TRUE(s1.ok());
  auto changed = t.UpdateSchema({SchemaChange::RenameColumn("name", "full_name"),
                                 SchemaChange::AddColumn("email", Type::Of(TypeId::kString)),
                                 SchemaChange::WidenColumn("gpa", Type::Decimal(5, 2))});
  ASSERT_TRUE(changed.ok()) << changed.error().ToString();
  EXPECT_FALSE(changed->snapshot_id.has_value());
  const Schema& now = t.metadata().CurrentSchema();
  EXPECT_EQ(now.schema_id, 1);
  EXPECT_EQ(now.Find("full_name")->id, 2);
  EXPECT_EQ(now.Find("email")->id, 4);
  EXPECT_EQ(t.metadata().last_column_id, 4);
  DataFile b = Write(t, "(3, 'cy', 123.45, 'cy@u.edu')");
  ASSERT_TRUE(t.Commit({Operation::kAppend, {b}, {}, {}, {}}).ok());

  // The current schema over both files: the renamed column keeps its values, the added one is
  // NULL in the older file, the widened one reads the older values.
  EXPECT_EQ(Rows(t), (std::vector<std::string>{"1|ann|3.50|NULL", "2|bob|2.00|NULL",
                                               "3|cy|123.45|cy@u.edu"}));
  // The first snapshot with the schema it was written with.
  EXPECT_EQ(Rows(t, s1->snapshot_id), (std::vector<std::string>{"1|ann|3.50", "2|bob|2.00"}));
  // A change back to an earlier shape reuses that schema's id.
  ASSERT_TRUE(t.UpdateSchema({SchemaChange::DropColumn("email")}).ok());
  ASSERT_TRUE(t.UpdateSchema({SchemaChange::AddColumn("email2", Type::Of(TypeId::kString))}).ok());
  EXPECT_EQ(t.metadata().CurrentSchema().Find("email2")->id, 5);  // never 4 again
  EXPECT_EQ(
      t.UpdateSchema({SchemaChange::WidenColumn("id", Type::Of(TypeId::kInt))}).error().code(),
      ErrorCode::kInvalidArgument);
}

TEST_F(TableTest, WritersRacingForAVersionAreSerialized) {
  auto other = Table::Open(dir_);
  ASSERT_TRUE(other.ok());
  DataFile a = Write(*table_, "(1, 'ann', 3.50)");
  DataFile b = Write(*other, "(2, 'bob', 2.00)");
  ASSERT_TRUE(table_->Commit({Operation::kAppend, {a}, {}, {}, {}}).ok());
  // `other` still holds version 1: its first attempt loses the link of version 2 and retries.
  auto late = other->Commit({Operation::kAppend, {b}, {}, {}, {}});
  ASSERT_TRUE(late.ok()) << late.error().ToString();
  EXPECT_EQ(late->attempts, 2);
  EXPECT_EQ(late->version, 3);
  EXPECT_EQ(Rows(*other), (std::vector<std::string>{"1|ann|3.50", "2|bob|2.00"}));

  // A compaction planned on an old version conflicts with a delete committed since that may
  // refer to a file it removes: the deleted row would come back.
  ASSERT_TRUE(table_->Refresh().ok());
  DataFile merged = Write(*table_, "(1, 'ann', 3.50), (2, 'bob', 2.00)");
  DataFile del = Deletes(*other, {{a.file_path, 0}});
  EXPECT_EQ(del.referenced_data_file, a.file_path);
  ASSERT_TRUE(other->Commit({Operation::kDelete, {del}, {}, {a.file_path}, {}}).ok());
  auto compaction =
      table_->Commit({Operation::kReplace, {merged}, {a.file_path, b.file_path}, {}, {}});
  ASSERT_FALSE(compaction.ok());
  EXPECT_EQ(compaction.error().code(), ErrorCode::kConflict) << compaction.error().ToString();
  // ... and a delete planned against a file a compaction removed since conflicts too.
  ASSERT_TRUE(table_->Refresh().ok());
  DataFile merged2 = Write(*table_, "(2, 'bob', 2.00)");
  ASSERT_TRUE(
      table_
          ->Commit(
              {Operation::kReplace, {merged2}, {a.file_path, b.file_path, del.file_path}, {}, {}})
          .ok());
  DataFile late_delete = Deletes(*other, {{b.file_path, 0}});
  auto stale = other->Commit({Operation::kDelete, {late_delete}, {}, {b.file_path}, {}});
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code(), ErrorCode::kConflict);
  EXPECT_EQ(Rows(*table_), (std::vector<std::string>{"2|bob|2.00"}));
}

TEST(TableRaceTest, ProcessesRacingCommitEveryAppendExactlyOnce) {
  testing::ScratchDirectory root("iceberg_race");
  std::string dir = root.path() + "/ns/t";
  ASSERT_TRUE(Table::Create(dir, Students()).ok());
  constexpr int kWriters = 4, kCommits = 15;
  std::vector<pid_t> children;
  for (int w = 0; w < kWriters; ++w) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto table = Table::Open(dir);
      if (!table.ok()) _exit(2);
      CommitOptions options;
      options.max_attempts = 1000;
      for (int i = 0; i < kCommits; ++i) {
        SnapshotUpdate u = FakeAppend(*table, w * 1000 + i + 1);
        u.summary["test.writer"] = std::to_string(w);
        if (!table->Commit(u, options).ok()) _exit(3);
      }
      _exit(0);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  auto table = Table::Open(dir);
  ASSERT_TRUE(table.ok());
  // One version per commit, none lost or doubled; each snapshot's parent is the one before.
  EXPECT_EQ(table->version(), 1 + kWriters * kCommits);
  const auto& snaps = table->metadata().snapshots;
  ASSERT_EQ(snaps.size(), static_cast<size_t>(kWriters * kCommits));
  for (size_t i = 1; i < snaps.size(); ++i) {
    EXPECT_EQ(snaps[i].parent_snapshot_id, snaps[i - 1].snapshot_id);
    EXPECT_EQ(snaps[i].sequence_number, static_cast<int64_t>(i + 1));
  }
  for (int64_t v = 1; v <= table->version(); ++v) {
    auto text = ReadWholeFile(dir + "/metadata/v" + std::to_string(v) + ".metadata.json");
    ASSERT_TRUE(text.ok());
    EXPECT_TRUE(MetadataFromJson(*text, "v").ok());
  }
  auto plan = table->PlanScan();
  ASSERT_TRUE(plan.ok());
  std::multiset<int64_t> counts, expected;
  for (const auto& f : plan->data_files) counts.insert(f.record_count);
  for (int w = 0; w < kWriters; ++w) {
    for (int i = 0; i < kCommits; ++i) expected.insert(w * 1000 + i + 1);
  }
  EXPECT_EQ(counts, expected);
}

TEST_F(TableTest, ACommitStoppedAfterAnyStepLeavesAReadableTable) {
  DataFile a = Write(*table_, "(1, 'ann', 3.50)");
  ASSERT_TRUE(table_->Commit({Operation::kAppend, {a}, {}, {}, {}}).ok());  // version 2
  std::vector<std::string> before = {"1|ann|3.50"};
  const CommitStep steps[] = {CommitStep::kManifestsWritten, CommitStep::kMetadataWritten,
                              CommitStep::kMetadataLinked, CommitStep::kTemporaryRemoved,
                              CommitStep::kHintWritten};
  std::vector<std::string> rows = before;
  int64_t version = 2, hinted_expected = 2;
  for (CommitStep stop : steps) {
    SCOPED_TRACE(static_cast<int>(stop));
    auto writer = Table::Open(dir_);
    ASSERT_TRUE(writer.ok());
    DataFile b = Write(*writer, "(" + std::to_string(version) + ", 'bob', 2.00)");
    CommitOptions crash;
    crash.after_step = [&](CommitStep s) {
      return s == stop ? Status(Error::Internal("stopped")) : OkStatus();
    };
    ASSERT_FALSE(writer->Commit({Operation::kAppend, {b}, {}, {}, {}}, crash).ok());
    bool committed = stop >= CommitStep::kMetadataLinked;
    if (committed) {
      ++version;
      rows.push_back(std::to_string(version - 1) + "|bob|2.00");
      std::sort(rows.begin(), rows.end());
    }
    // A fresh reader: the latest complete version, whatever the hint says.
    auto reader = Table::Open(dir_);
    ASSERT_TRUE(reader.ok()) << reader.error().ToString();
    EXPECT_EQ(reader->version(), version);
    EXPECT_EQ(Rows(*reader), rows);
    auto hint = ReadWholeFile(dir_ + "/metadata/version-hint.text");
    ASSERT_TRUE(hint.ok());
    int64_t hinted = std::stoll(*hint);
    if (stop == CommitStep::kHintWritten) hinted_expected = version;
    EXPECT_EQ(hinted, hinted_expected);  // stale after the commits stopped before the hint
    // A reader that trusts the stale hint reads that version completely.
    auto stale = ReadWholeFile(dir_ + "/metadata/v" + std::to_string(hinted) + ".metadata.json");
    ASSERT_TRUE(stale.ok());
    auto stale_metadata = MetadataFromJson(*stale, "hinted");
    ASSERT_TRUE(stale_metadata.ok());
    EXPECT_TRUE(fs::exists(*LocalPath(stale_metadata->CurrentSnapshot()->manifest_list)));
  }
  // A writer carries on, and orphan removal deletes only what no version reaches.
  auto writer = Table::Open(dir_);
  ASSERT_TRUE(writer.ok());
  DataFile c = Write(*writer, "(9, 'cy', 4.00)");
  ASSERT_TRUE(writer->Commit({Operation::kAppend, {c}, {}, {}, {}}).ok());
  rows.push_back("9|cy|4.00");
  std::set<std::string> reached = Reached(*writer);
  auto removed = writer->RemoveOrphanFiles(NowMs() + 60000);
  ASSERT_TRUE(removed.ok());
  // The two commits stopped before the link left a data file, a manifest and a manifest list
  // each, the second also its temporary metadata file; the one stopped right after the link
  // left the temporary name of its (committed) metadata file.
  EXPECT_EQ(removed->size(), 3u + 4 + 1) << ::testing::PrintToString(*removed);
  for (const auto& path : *removed) EXPECT_FALSE(reached.count(path)) << path;
  for (const auto& path : reached) EXPECT_TRUE(fs::exists(path)) << path;
  EXPECT_EQ(Rows(*writer), rows);
}

TEST_F(TableTest, ADamagedNewestVersionIsSkippedAndNeverReused) {
  ASSERT_TRUE(table_->Commit(FakeAppend(*table_, 1)).ok());  // version 2
  ASSERT_TRUE(
      WriteNewFile(dir_ + "/metadata/v3.metadata.json", "{\"format-version\": 2, \"tab").ok());
  auto reader = Table::Open(dir_);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(reader->version(), 2);
  auto next = reader->Commit(FakeAppend(*reader, 2));
  ASSERT_TRUE(next.ok()) << next.error().ToString();
  EXPECT_EQ(next->version, 4);
  auto again = Table::Open(dir_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->version(), 4);
  EXPECT_EQ(again->metadata().snapshots.size(), 2u);
}

TEST_F(TableTest, ExpirationDeletesOnlyWhatNoKeptSnapshotReads) {
  Table& t = *table_;
  DataFile a = Write(t, "(1, 'ann', 3.50), (2, 'bob', 2.00)");
  ASSERT_TRUE(t.Commit({Operation::kAppend, {a}, {}, {}, {}}, At(1000)).ok());
  DataFile b = Write(t, "(3, 'cy', 4.00)");
  ASSERT_TRUE(t.Commit({Operation::kAppend, {b}, {}, {}, {}}, At(2000)).ok());
  DataFile c = Write(t, "(1, 'ann', 3.50), (2, 'bob', 2.00), (3, 'cy', 4.00)");
  ASSERT_TRUE(
      t.Commit({Operation::kReplace, {c}, {a.file_path, b.file_path}, {}, {}}, At(3000)).ok());
  DataFile e = Write(t, "(4, 'dee', 1.25)");
  DataFile d = Deletes(t, {{c.file_path, 0}});
  auto s4 = t.Commit({Operation::kOverwrite, {e, d}, {}, {c.file_path}, {}}, At(4000));
  ASSERT_TRUE(s4.ok());
  std::vector<std::string> rows = Rows(t);
  EXPECT_EQ(rows, (std::vector<std::string>{"2|bob|2.00", "3|cy|4.00", "4|dee|1.25"}));
  std::set<std::string> kept_before = [&] {
    std::set<std::string> out;
    for (const auto& s : t.metadata().snapshots) {
      if (s.snapshot_id == s4->snapshot_id) {
        out.insert(*LocalPath(s.manifest_list));
        auto list = t.ReadManifestList(s);
        for (const auto& m : *list) {
          out.insert(*LocalPath(m.manifest_path));
          auto entries = t.ReadManifest(m);
          for (const auto& entry : *entries) {
            if (entry.status != EntryStatus::kDeleted) out.insert(*LocalPath(entry.file.file_path));
          }
        }
      }
    }
    return out;
  }();

  ExpireOptions options;
  options.older_than_ms = t0_ + 3500;
  options.commit.now_ms = t0_ + 5000;
  auto expired = t.ExpireSnapshots(options);
  ASSERT_TRUE(expired.ok()) << expired.error().ToString();
  EXPECT_EQ(expired->expired_snapshot_ids.size(), 3u);
  ASSERT_EQ(t.metadata().snapshots.size(), 1u);
  EXPECT_EQ(t.metadata().snapshots[0].snapshot_id, s4->snapshot_id);
  // a and b were read only by expired snapshots; c is live in the kept one.
  EXPECT_FALSE(fs::exists(*LocalPath(a.file_path)));
  EXPECT_FALSE(fs::exists(*LocalPath(b.file_path)));
  for (const auto& path : kept_before) EXPECT_TRUE(fs::exists(path)) << path;
  for (const auto& path : expired->deleted_files) EXPECT_FALSE(kept_before.count(path)) << path;
  // 2 data files, 3 manifest lists, the manifests of the first two appends and the compaction's
  // rewrites of them, and the metadata files older than the kept snapshot (v1..v4).
  EXPECT_EQ(expired->deleted_files.size(), 2u + 3 + 2 + 2 + 4)
      << ::testing::PrintToString(expired->deleted_files);
  EXPECT_EQ(Rows(t), rows);
  auto reopened = Table::Open(dir_);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ(Rows(*reopened), rows);
  EXPECT_EQ(reopened->metadata().snapshot_log.size(), 1u);
  EXPECT_EQ(reopened->metadata().metadata_log.size(), 1u);  // v5, the kept snapshot's own version
  EXPECT_EQ(reopened->PlanScanAsOf(t0_ + 2500).error().code(), ErrorCode::kNotFound);
  // Nothing more to expire: no new version.
  auto again = t.ExpireSnapshots(options);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->version.has_value());
}

TEST_F(TableTest, ExpirationKeepsFilesLiveInAKeptSnapshot) {
  Table& t = *table_;
  DataFile a = Write(t, "(1, 'ann', 3.50)");
  ASSERT_TRUE(t.Commit({Operation::kAppend, {a}, {}, {}, {}}, At(1000)).ok());
  DataFile b = Write(t, "(2, 'bob', 2.00)");
  ASSERT_TRUE(t.Commit({Operation::kAppend, {b}, {}, {}, {}}, At(2000)).ok());
  ExpireOptions options;
  options.older_than_ms = t0_ + 1500;
  auto expired = t.ExpireSnapshots(options);
  ASSERT_TRUE(expired.ok());
  EXPECT_EQ(expired->expired_snapshot_ids.size(), 1u);
  // The first snapshot's file and manifest are still read by the second.
  EXPECT_TRUE(fs::exists(*LocalPath(a.file_path)));
  for (const auto& path : Reached(t)) EXPECT_TRUE(fs::exists(path)) << path;
  EXPECT_EQ(Rows(t), (std::vector<std::string>{"1|ann|3.50", "2|bob|2.00"}));
  // min_snapshots_to_keep keeps old snapshots of the branch regardless of age.
  DataFile c = Write(t, "(3, 'cy', 4.00)");
  ASSERT_TRUE(t.Commit({Operation::kAppend, {c}, {}, {}, {}}, At(3000)).ok());
  options.older_than_ms = t0_ + 10000;
  options.min_snapshots_to_keep = 2;
  ASSERT_TRUE(t.ExpireSnapshots(options).ok());
  EXPECT_EQ(t.metadata().snapshots.size(), 2u);
}

TEST(TableLayoutTest, NamesAndDirectoriesAreChecked) {
  EXPECT_EQ(*TableDirectory("/var/lake/", "lake", "students_dim"), "/var/lake/lake/students_dim");
  EXPECT_FALSE(TableDirectory("/var/lake", "..", "t").ok());
  EXPECT_FALSE(TableDirectory("/var/lake", "ns", "a/b").ok());
  EXPECT_FALSE(TableDirectory("/var/lake", "ns", "-t").ok());
  EXPECT_FALSE(TableDirectory("/var/lake", "ns", "").ok());
  EXPECT_FALSE(TableDirectory("var/lake", "ns", "t").ok());
  EXPECT_FALSE(TableDirectory("/var/my lake", "ns", "t").ok());
  EXPECT_FALSE(TableDirectory("/var/lake%20", "ns", "t").ok());
  testing::ScratchDirectory root("iceberg_layout");
  ASSERT_TRUE(Table::Create(root.path() + "/ns/t", Students()).ok());
  EXPECT_EQ(Table::Create(root.path() + "/ns/t", Students()).error().code(),
            ErrorCode::kAlreadyExists);
  EXPECT_EQ(Table::Open(root.path() + "/ns/none").error().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace migsbyu::iceberg
