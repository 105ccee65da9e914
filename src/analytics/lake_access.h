// LakeAccess: what the analytics read side needs from the lake, and nothing more.
//
// The lake (src/lake) keeps Parquet files and exposes them as DuckDB views named by the read
// contract (docs/LAKE.md): students_dim, professors_dim, courses_dim, course_enrollment_fact and
// <table>_changes for students, professors, courses, takes and teaches. The analytics component
// reads only those views, only through this interface, so its queries run unchanged on the real
// lake and on a test fixture that creates tables of the same names in an in-memory DuckDB.
//
// AccessLake() implements it over the lake's read API (lake::Lake: one pinned snapshot per Read,
// the commit position, WaitForCommit); tests implement it over fixture data.
//
// Threading: every method may be called concurrently from the portal's worker threads and from
// live-event streams; implementations must be thread-safe. The connection handed to a Read
// callback belongs to that call alone.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "analytics/status.h"
#include "common/lsn.h"
#include "common/result.h"
#include "lake/duck.h"
#include "lake/iceberg_history.h"
#include "lake/lake.h"

namespace migsbyu::analytics {

// One commit of the lake: the transaction(s) it made visible.
struct LakeCommit {
  uint64_t version = 0;                          // 0 before the first commit; +1 per commit
  Lsn end_lsn;                                   // end LSN of the last transaction it holds
  std::optional<Clock::time_point> commit_time;  // PostgreSQL commit time of that transaction
};

// One commit's contract views, described for a reader that opens the files itself.
struct PinnedViews {
  uint64_t version = 0;
  std::vector<std::pair<std::string, std::string>> views;  // name, the SELECT it stands for
  std::vector<std::string> files;   // absolute path of every file the SELECTs read
  std::shared_ptr<const void> pin;  // keeps the files from being deleted
};

class LakeAccess {
 public:
  virtual ~LakeAccess() = default;

  // Calls `read` once with a connection on which the contract views show one committed snapshot
  // (no partial commit, the same snapshot for every query `read` makes). Returns read's status,
  // or the error that kept the snapshot from opening. The connection is valid only during the
  // call; `read` must not run statements that change anything.
  virtual Status Read(const std::function<Status(duck::Connection&)>& read) = 0;

  // The latest commit; version 0 before the first.
  virtual LakeCommit Latest() = 0;

  // Blocks until the lake's version exceeds `after_version` or `timeout` passes; returns the
  // latest commit then, or nullopt on timeout.
  virtual std::optional<LakeCommit> WaitForCommit(uint64_t after_version,
                                                  std::chrono::milliseconds timeout) = 0;

  // Pins the latest commit for a reader in another process (the SQL console's worker): its
  // contract views as SELECTs over its files, and the files. The files stay (compaction deletes
  // none of them) while the returned `pin` lives.
  virtual Result<PinnedViews> PinViews() = 0;

  // Rows per contract view at the latest commit when the lake knows them without a query
  // (from its metadata); nullopt makes the Service count them with SQL.
  virtual std::optional<std::map<std::string, int64_t>> RowCounts() { return std::nullopt; }

  // The lake's Iceberg points, oldest first (lake/iceberg_history.h); empty for a lake without
  // Iceberg tables (the default: test fixtures have none).
  virtual Result<std::vector<lake::IcebergPoint>> IcebergPoints() {
    return std::vector<lake::IcebergPoint>();
  }
  // The oldest commit record naming `snapshot_id`; nullopt when none does.
  virtual Result<std::optional<lake::CommitRecord>> RecordOfSnapshot(int64_t snapshot_id) {
    (void)snapshot_id;
    return std::optional<lake::CommitRecord>();
  }
};

// The names of the views whose definitions differ between two pins of the lake (views added,
// removed, or reading other files), sorted. A view's definition names the files it reads, and a
// data file never changes once written, so a view left out reads the same rows in `after` as in
// `before` (compaction, which rewrites files without changing rows, names its views all the same).
std::vector<std::string> ChangedViews(const PinnedViews& before, const PinnedViews& after);

// A LakeAccess over the lake's read API. Read opens a connection on the latest snapshot and keeps
// it pinned for the call.
std::unique_ptr<LakeAccess> AccessLake(std::shared_ptr<lake::Lake> lake);

}  // namespace migsbyu::analytics
