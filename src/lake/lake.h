// Lake: the read side of the analytics lake in one process. It holds the latest committed
// manifest of a lake directory, hands out pinned snapshots of it, and opens DuckDB connections
// whose views show the contract datasets (docs/LAKE.md "Read contract") over exactly one
// snapshot's files:
//   students_dim, professors_dim, courses_dim, course_enrollment_fact,
//   <table>_changes for students, professors, courses, takes, teaches (and any other table).
// A snapshot pins its manifest: the writer deletes no file of a pinned manifest, so a query
// over a snapshot never sees a row twice or misses one while compaction runs.
//
// In the writer's process the LakeWriter publishes each commit here (WaitForCommit wakes at
// once); a process that only reads (the CLI, a second server) picks up new manifests from disk
// by polling (Refresh, and WaitForCommit polls every 50 ms).
//
// Threading: every method is thread-safe. A LakeConnection is used by one thread at a time.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "lake/duck.h"
#include "lake/manifest.h"

namespace migsbyu::lake {

// Where the lake stands: the last committed position. version 0 = nothing committed yet.
struct CommitPosition {
  uint64_t version = 0;
  Lsn end_lsn;
  Lsn commit_lsn;
  int64_t commit_time_us = 0;  // commit time in PostgreSQL of the last stored transaction
  int64_t written_at_us = 0;   // when the lake committed it
};

// A DuckDB connection with the contract views installed (as temporary views) over `snapshot`.
// Keep it while querying: it pins the snapshot's files.
struct LakeConnection {
  std::shared_ptr<const Manifest> snapshot;
  duck::Connection connection;
};

class Lake {
 public:
  // Opens the lake at `dir` (created if absent) for reading; `duckdb_threads` bounds DuckDB's
  // worker threads for queries made through Connect().
  static Result<std::shared_ptr<Lake>> Open(const std::string& dir, int duckdb_threads = 2);

  const std::string& dir() const { return dir_; }

  // The latest committed manifest, pinned while the returned pointer lives.
  std::shared_ptr<const Manifest> Snapshot();
  CommitPosition Position();

  // Blocks until a manifest with version > after_version is committed or `timeout` passes;
  // returns the position then (check .version).
  CommitPosition WaitForCommit(uint64_t after_version, std::chrono::milliseconds timeout);

  // A new connection on the lake's shared in-memory DuckDB with the views over the latest
  // snapshot (or over `snapshot` when given).
  Result<LakeConnection> Connect(std::shared_ptr<const Manifest> snapshot = nullptr);

  // Rows per dataset and live files per dataset (absolute paths) at the latest snapshot.
  std::map<std::string, uint64_t> Counts();
  std::map<std::string, std::vector<std::string>> LiveFiles();

  // Re-reads the latest manifest from disk (for processes that do not write).
  Status Refresh();

  // Writer side: makes `m` the latest and wakes waiters. REQUIRES: m.version increases.
  void Publish(Manifest m);
  // Versions some snapshot handed out still pins.
  std::set<uint64_t> PinnedVersions();

  // The contract views over `m`'s files under `dir`: each view's name and the SELECT it stands
  // for (reading the files by absolute path), in the order they are created.
  static std::vector<std::pair<std::string, std::string>> ViewQueries(const std::string& dir,
                                                                      const Manifest& m);
  // The CREATE VIEW statements for ViewQueries (`temporary`: CREATE TEMP VIEW, local to one
  // connection).
  static std::string ViewsSql(const std::string& dir, const Manifest& m, bool temporary);
  // The absolute paths of every data file of `m` under `dir`.
  static std::vector<std::string> FilePaths(const std::string& dir, const Manifest& m);

 private:
  Lake(std::string dir, duck::Database db) : dir_(std::move(dir)), db_(std::move(db)) {}
  std::shared_ptr<const Manifest> PinLocked();

  const std::string dir_;
  duck::Database db_;
  std::mutex mu_;
  std::condition_variable committed_;
  std::shared_ptr<const Manifest> latest_;
  std::vector<std::weak_ptr<const Manifest>> handed_out_;
  std::string refresh_error_;  // WaitForCommit's last failed Refresh, logged once
};

}  // namespace migsbyu::lake
