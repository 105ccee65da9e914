// The lake's datasets published as Iceberg tables: after a mixed workload (deletes, re-inserts,
// a compaction that folds closes, many small commits that make the tables compact), every
// table, read through the iceberg library's own scan, holds exactly the rows of the lake's view;
// every lake commit is an Iceberg point whose record names snapshots that hold the lake as it
// was then; a crash before a record leaves the previous one and the next writer catches up
// without storing anything twice; thinning keeps what its tiers say and every snapshot a kept
// record names stays readable.
#include "lake/iceberg_publisher.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "lake/commit_record.h"
#include "lake/iceberg/files.h"
#include "lake/iceberg/scan.h"
#include "lake/iceberg/table.h"
#include "lake/iceberg/testing.h"
#include "lake/lake.h"
#include "lake/testing.h"
#include "lake/writer.h"

namespace migsbyu::lake {
namespace {
namespace fs = std::filesystem;

using testing::IcebergTextRows;

class IcebergPublisherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.dir = dir_;
    options_.iceberg.interval = std::chrono::milliseconds(0);
    options_.iceberg.max_data_files = 4;  // the workload's small commits make tables compact
    options_.iceberg.max_delete_files = 2;
    auto lake = Lake::Open(dir_, 1);
    ASSERT_TRUE(lake.ok()) << lake.error().ToString();
    lake_ = *lake;
  }

  std::unique_ptr<LakeWriter> OpenWriter() {
    auto w = LakeWriter::Open(options_, lake_);
    EXPECT_TRUE(w.ok()) << w.error().ToString();
    return w.ok() ? std::move(*w) : nullptr;
  }

  // Runs the workload; after each step, flushes the Iceberg tables and keeps the lake's views.
  void RunWorkload(LakeWriter& w) {
    testing::RunMixedWorkload(w, [&](int) {
      Status s = w.FlushIceberg();
      ASSERT_TRUE(s.ok()) << s.error().ToString();
      views_at_[lake_->Position().version] = Views();
    });
  }

  // Every dataset view of the latest snapshot as rows of its Iceberg table's schema.
  std::map<std::string, std::vector<std::vector<std::string>>> Views() {
    std::map<std::string, std::vector<std::vector<std::string>>> out;
    auto conn = lake_->Connect();
    EXPECT_TRUE(conn.ok());
    if (!conn.ok()) return out;
    for (const auto& [name, query] : Lake::ViewQueries(dir_, *conn->snapshot)) {
      auto table = iceberg::Table::Open(dir_ + "/public/" + name);
      if (!table.ok()) continue;  // no rows yet: no table
      out[name] = IcebergTextRows(conn->connection, "SELECT * FROM " + duck::QuoteIdentifier(name),
                                  table->metadata().CurrentSchema());
    }
    return out;
  }

  // The rows of `table` at `snapshot` (the current one when absent), read by the library's scan.
  std::vector<std::vector<std::string>> IcebergRows(const std::string& name,
                                                    std::optional<int64_t> snapshot = {}) {
    auto table = iceberg::Table::Open(dir_ + "/public/" + name);
    EXPECT_TRUE(table.ok()) << name;
    if (!table.ok()) return {};
    auto plan = table->PlanScan(snapshot);
    EXPECT_TRUE(plan.ok()) << name << ": " << plan.error().ToString();
    if (!plan.ok()) return {};
    auto query = iceberg::ScanQuery(*plan, table->metadata().CurrentSchema());
    EXPECT_TRUE(query.ok());
    return IcebergTextRows(duck_.conn, *query, table->metadata().CurrentSchema());
  }

  // Data files of `name`'s table that no manifest of a retained snapshot names (with any
  // status: a file a compaction removed stays named as deleted, and orphan removal keeps it); a
  // file a snapshot reads that is missing is a test failure.
  size_t UnreachedDataFiles(const std::string& name) {
    auto table = iceberg::Table::Open(dir_ + "/public/" + name);
    if (!table.ok()) {  // a kill before the table's first version: nothing in it counts
      EXPECT_EQ(table.error().code(), ErrorCode::kNotFound) << table.error().ToString();
      return 0;
    }
    std::set<std::string> named;
    for (const auto& snapshot : table->metadata().snapshots) {
      auto plan = table->PlanScan(snapshot.snapshot_id);
      EXPECT_TRUE(plan.ok()) << name;
      if (!plan.ok()) continue;
      for (const auto* files : {&plan->data_files, &plan->delete_files}) {
        for (const auto& f : *files) {
          auto path = iceberg::LocalPath(f.path);
          EXPECT_TRUE(path.ok() && fs::exists(*path)) << f.path;
        }
      }
      auto manifests = table->ReadManifestList(snapshot);
      EXPECT_TRUE(manifests.ok()) << name;
      if (!manifests.ok()) continue;
      for (const auto& m : *manifests) {
        auto entries = table->ReadManifest(m);
        EXPECT_TRUE(entries.ok()) << m.manifest_path;
        if (!entries.ok()) continue;
        for (const auto& e : *entries) named.insert(e.file.file_path);
      }
    }
    size_t unreached = 0;
    for (const auto& f : iceberg::ListFiles(table->dir() + "/data")) {
      unreached += named.count(iceberg::FileUri(table->dir() + "/data/" + f)) ? 0 : 1;
    }
    return unreached;
  }

  iceberg::testing::ScratchDirectory scratch_{"lake_iceberg_publisher"};
  const std::string dir_ = scratch_.path();
  iceberg::testing::DuckSession duck_;
  WriterOptions options_;
  std::shared_ptr<Lake> lake_;
  std::map<uint64_t, std::map<std::string, std::vector<std::vector<std::string>>>> views_at_;
};

TEST_F(IcebergPublisherTest, EveryTableHoldsExactlyTheRowsOfTheLakesViewAtEveryRecord) {
  auto w = OpenWriter();
  ASSERT_TRUE(w);
  RunWorkload(*w);
  const auto latest = Views();
  for (const char* name :
       {"students_changes", "professors_changes", "courses_changes", "takes_changes",
        "teaches_changes", "departments_changes", "students_dim", "professors_dim", "courses_dim",
        "departments_dim", "course_enrollment_fact"}) {
    ASSERT_TRUE(latest.count(name)) << name << " has no Iceberg table";
    EXPECT_EQ(IcebergRows(name), latest.at(name)) << name;
  }
  // Each version of the students once: 6 inserted, 4 updated (S2 twice in one transaction), S3
  // deleted and re-inserted, S4 and S1 updated, S5 deleted, S6 updated 8 times.
  EXPECT_EQ(latest.at("students_dim").size(), 6u + 5u + 1u + 8u);
  // Every record names, for each table, the snapshot that held the lake's view at its commit.
  int records = 0;
  for (uint64_t v : ListCommitRecords(dir_)) {
    auto record = LoadCommitRecord(dir_, v);
    ASSERT_TRUE(record.ok());
    // A version between steps (a compaction's) holds what the step before it held.
    auto at = views_at_.upper_bound(record->lake_version);
    ASSERT_NE(at, views_at_.begin()) << "record of an unknown version " << v;
    for (const auto& [name, rows] : std::prev(at)->second) {
      ASSERT_TRUE(record->tables.count("public." + name)) << name;
      EXPECT_EQ(IcebergRows(name, record->tables.at("public." + name).snapshot_id), rows)
          << name << " at lake version " << v;
    }
    ++records;
  }
  EXPECT_GE(records, 15);
  // The small commits made the students' dimension compact: few data files, deletes applied.
  auto students = iceberg::Table::Open(dir_ + "/public/students_dim");
  ASSERT_TRUE(students.ok());
  auto plan = students->PlanScan();
  ASSERT_TRUE(plan.ok());
  EXPECT_LE(plan->data_files.size(), 5u);
  EXPECT_LE(plan->delete_files.size(), 2u);
  bool replaced = false;
  for (const auto& s : students->metadata().snapshots)
    replaced |= s.summary.at("operation") == "replace";
  EXPECT_TRUE(replaced);
}

TEST_F(IcebergPublisherTest, ACrashBeforeTheRecordLeavesThePreviousOneAndTheNextWriterCatchesUp) {
  {
    auto w = OpenWriter();
    ASSERT_TRUE(w);
    RunWorkload(*w);
  }
  const auto expected = Views();
  // A crash after the tables committed and before the record's link: no record for the last
  // lake version (a temporary file at most), tables ahead of the latest record.
  auto versions = ListCommitRecords(dir_);
  ASSERT_GE(versions.size(), 2u);
  const uint64_t last = versions.back();
  ASSERT_TRUE(iceberg::RemoveFile(CommitRecordPath(dir_, last)).ok());
  std::ofstream(CommitRecordDir(dir_) + "/.tmp-crashed") << "{\"format\":";
  // A damaged newer record is never the latest.
  std::ofstream(CommitRecordPath(dir_, last + 5)) << "{\"format\":\"migsbyu-lake-commit/1\",";
  auto latest = LoadLatestCommitRecord(dir_);
  ASSERT_TRUE(latest.ok());
  ASSERT_TRUE(latest->has_value());
  EXPECT_EQ((*latest)->lake_version, versions[versions.size() - 2]);
  fs::remove(CommitRecordPath(dir_, last + 5));

  auto w = OpenWriter();
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->FlushIceberg().ok());
  latest = LoadLatestCommitRecord(dir_);
  ASSERT_TRUE(latest.ok() && latest->has_value());
  EXPECT_EQ((*latest)->lake_version, last);
  EXPECT_FALSE(fs::exists(CommitRecordDir(dir_) + "/.tmp-crashed"));
  for (const auto& [name, rows] : expected) EXPECT_EQ(IcebergRows(name), rows) << name;
}

TEST_F(IcebergPublisherTest, ThinningKeepsItsTiersAndEverySnapshotAKeptRecordNames) {
  constexpr int64_t kS = 1000000, kMin = 60 * kS, kH = 60 * kMin, kD = 24 * kH;
  const int64_t now = 100 * kD;
  // (age, expected to be kept): the newest of each second in the last minute, of each minute
  // in the hour, of each hour in the day, of each day in the retention (7 days); buckets are
  // aligned to the epoch (`now` is a whole day), so each pair below shares one bucket.
  const std::vector<std::pair<int64_t, bool>> cases = {
      {0, true},
      {kS / 2, true},  // the second before `now`'s: a bucket of its own
      {kS + 100, true},
      {kS + 200, false},
      {30 * kS + 100, true},
      {2 * kMin + 5 * kS, true},
      {2 * kMin + 20 * kS, false},
      {3 * kH + 100, true},
      {3 * kH + kMin, false},
      {2 * kD + 100, true},
      {2 * kD + kH, false},
      {8 * kD, false}};
  std::vector<int64_t> times;
  std::vector<size_t> expected;
  for (size_t i = 0; i < cases.size(); ++i) {
    times.push_back(now - cases[i].first);
    if (cases[i].second) expected.push_back(i);
  }
  EXPECT_EQ(RecordsToKeep(times, now, 7 * kD), expected);
  EXPECT_EQ(RecordsToKeep({now - 9 * kD}, now, 7 * kD), std::vector<size_t>{0});  // newest stays

  auto w = OpenWriter();
  ASSERT_TRUE(w);
  RunWorkload(*w);
  auto publisher = IcebergPublisher::Open(dir_, options_.iceberg, /*background=*/false);
  ASSERT_TRUE(publisher.ok());
  // Two days on, the workload's records (one second apart, a few seconds long) thin to the
  // newest of their day (two if the run crossed midnight UTC).
  auto before = ListCommitRecords(dir_);
  ASSERT_TRUE((*publisher)->Expire(iceberg::NowMs() * 1000 + 2 * kD).ok());
  auto after = ListCommitRecords(dir_);
  ASSERT_GE(after.size(), 1u);
  ASSERT_LE(after.size(), 2u);
  EXPECT_EQ(after.back(), before.back());
  std::map<std::string, std::set<int64_t>> named;
  for (uint64_t v : after) {
    auto record = LoadCommitRecord(dir_, v);
    ASSERT_TRUE(record.ok());
    for (const auto& [name, t] : record->tables)
      named[name.substr(name.find('.') + 1)].insert(t.snapshot_id);
  }
  for (const auto& [name, ids] : named) {
    auto table = iceberg::Table::Open(dir_ + "/public/" + name);
    ASSERT_TRUE(table.ok());
    EXPECT_EQ(table->metadata().snapshots.size(), ids.size()) << name;
    EXPECT_LE(table->metadata().metadata_log.size(), 100u);
    // The files only expired snapshots named are gone, those kept ones read are there.
    EXPECT_EQ(UnreachedDataFiles(name), 0u) << name;
  }
  for (const auto& [name, rows] : views_at_.rbegin()->second)
    EXPECT_EQ(IcebergRows(name), rows) << name;
}

// The child of the crash test: runs the workload on the lake named by the environment, in its
// own process, until the parent kills it.
constexpr const char* kChildDirEnv = "MIGSBYU_ICEBERG_CRASH_CHILD_DIR";

TEST(IcebergPublisherCrashChild, DISABLED_Workload) {
  const char* dir = std::getenv(kChildDirEnv);
  ASSERT_NE(dir, nullptr);
  WriterOptions options;
  options.dir = dir;
  options.iceberg.interval = std::chrono::milliseconds(0);
  options.iceberg.max_data_files = 4;
  options.iceberg.max_delete_files = 2;
  auto w = LakeWriter::Open(options, nullptr);
  ASSERT_TRUE(w.ok()) << w.error().ToString();
  testing::RunMixedWorkload(**w, [&](int) { ASSERT_TRUE((*w)->FlushIceberg().ok()); });
}

uint64_t LatestRecordVersion(const std::string& dir) {
  auto versions = ListCommitRecords(dir);
  return versions.empty() ? 0 : versions.back();
}

TEST_F(IcebergPublisherTest, KilledAtRandomMomentsTheTablesStillEqualTheLake) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::string self = fs::read_symlink("/proc/self/exe").string();
  std::vector<std::string> env_text;
  for (char** e = environ; *e; ++e) env_text.emplace_back(*e);
  env_text.push_back(std::string(kChildDirEnv) + "=" + dir_);
  std::vector<char*> envp;
  for (auto& e : env_text) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string a0 = self, a1 = "--gtest_also_run_disabled_tests",
              a2 = "--gtest_filter=IcebergPublisherCrashChild.DISABLED_Workload";
  char* argv[] = {a0.data(), a1.data(), a2.data(), nullptr};
  int killed = 0;
  size_t left = 0;
  for (int round = 0; round < 8; ++round) {
    // Each child replays the whole workload (the lake stores each change once) and is killed
    // once the Iceberg tables moved on by a random number of records: in the middle of a table
    // commit, between tables, before or after a record, in a compaction or a thinning.
    const uint64_t target = LatestRecordVersion(dir_) + 1 + rng() % 4;
    pid_t pid = 0;
    ASSERT_EQ(posix_spawn(&pid, self.c_str(), nullptr, nullptr, argv, envp.data()), 0);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    int status = 0;
    bool exited = false;
    while (LatestRecordVersion(dir_) < target && std::chrono::steady_clock::now() < deadline) {
      if (waitpid(pid, &status, WNOHANG) == pid) {
        exited = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1 + rng() % 20));
    }
    if (!exited) {
      // Past the record: somewhere in the next steps' lake commits and Iceberg publishes.
      std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 250));
      ASSERT_EQ(kill(pid, SIGKILL), 0);
      ASSERT_EQ(waitpid(pid, &status, 0), pid);
      killed += WIFSIGNALED(status) ? 1 : 0;
      // Files of a table commit the kill interrupted (removed when the next writer opens).
      std::error_code ec;
      for (const auto& entry : fs::directory_iterator(dir_ + "/public", ec)) {
        left += UnreachedDataFiles(entry.path().filename().string());
      }
    } else {
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the child failed";
    }
  }
  EXPECT_GE(killed, 1);
  std::cout << "data files the kills left uncommitted: " << left << "\n";
  // A last writer completes the workload; the tables then hold the lake's rows exactly once.
  auto w = OpenWriter();
  ASSERT_TRUE(w);
  RunWorkload(*w);
  w.reset();
  for (const auto& [name, rows] : Views()) EXPECT_EQ(IcebergRows(name), rows) << name;
  EXPECT_EQ(Views().size(), 11u);  // departments, outside the contract, has a dimension too
  // What the kills left in the tables (files written, never committed) is removed when a
  // writer opens: every data file present is one a retained snapshot's manifests name.
  auto publisher = IcebergPublisher::Open(dir_, options_.iceberg, /*background=*/false);
  ASSERT_TRUE(publisher.ok());
  for (const auto& [name, rows] : Views()) EXPECT_EQ(UnreachedDataFiles(name), 0u) << name;
}

}  // namespace
}  // namespace migsbyu::lake

namespace migsbyu::lake {
namespace {

TEST(IcebergPublisherPathTest, ALakeWhosePathNoIcebergLocationHoldsWorksWithoutIceberg) {
  iceberg::testing::ScratchDirectory scratch("lake_iceberg_path");
  WriterOptions options;
  options.dir = scratch.path() + "/with space";
  auto w = LakeWriter::Open(options, nullptr);
  ASSERT_TRUE(w.ok()) << w.error().ToString();
  testing::RunMixedWorkload(**w, [&](int) { ASSERT_TRUE((*w)->FlushIceberg().ok()); });
  EXPECT_GT((*w)->published().Rows("students_changes"), 0u);
  EXPECT_FALSE(fs::exists(options.dir + "/public"));
  EXPECT_TRUE(ListCommitRecords(options.dir).empty());
}

}  // namespace
}  // namespace migsbyu::lake
