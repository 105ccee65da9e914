// FixtureLake: a LakeAccess over hand-written data, for tests of the analytics read side.
//
// It runs a SQL script (testdata/lake_fixture.sql is the standard one) in schema `staging` of an
// in-memory DuckDB, then Publish() writes each staging table to a Parquet file in a fresh
// temporary folder and (re)creates a view of the same name over it, exactly as the real lake
// exposes its contract views over its files. Each Publish is one commit: the version goes up
// and WaitForCommit wakes; a table whose rows are unchanged keeps its file (its view reads the
// same file as before). Files are never deleted before the fixture is (PinViews' pin holds
// nothing). The folder is removed with the fixture.
//
// Threading: Read, Latest, WaitForCommit and Directory are thread-safe; Execute and Publish are
// called from the test's thread.
#pragma once

#include <condition_variable>
#include <map>
#include <mutex>
#include <string>

#include "analytics/lake_access.h"

namespace migsbyu::analytics::testing {

// The standard fixture script's path.
std::string StandardFixtureSql();

// Reads a whole file; aborts the test on failure.
std::string ReadFileOrDie(const std::string& path);

class FixtureLake : public LakeAccess {
 public:
  FixtureLake();
  ~FixtureLake() override;

  // Runs SQL in the staging schema (the default schema of the statement).
  Status Execute(const std::string& sql);
  // Writes every staging table to Parquet and publishes the views: one commit at `end_lsn`.
  Status Publish(Lsn end_lsn = Lsn(1000), int64_t commit_time_micros = 0);

  Status Read(const std::function<Status(duck::Connection&)>& read) override;
  LakeCommit Latest() override;
  std::optional<LakeCommit> WaitForCommit(uint64_t after_version,
                                          std::chrono::milliseconds timeout) override;
  Result<PinnedViews> PinViews() override;
  // The folder of the Parquet files.
  const std::string& Directory() const { return directory_; }

 private:
  std::string directory_;
  duck::Database db_;
  std::mutex mu_;
  std::condition_variable cv_;
  LakeCommit latest_;                         // GUARDED_BY(mu_)
  std::map<std::string, std::string> files_;  // GUARDED_BY(mu_): view name -> its Parquet file
};

}  // namespace migsbyu::analytics::testing
