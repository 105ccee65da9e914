// IcebergPublisher: publishes every dataset of the lake as an Apache Iceberg v2 table in the
// file-system catalog layout (src/lake/iceberg, docs/ICEBERG.md), from the lake's own commits:
//
//   <lake>/<namespace>/<dataset>/metadata/vN.metadata.json, version-hint.text, data/...
//   <lake>/_lake/commits/<lake version>.json            the lake-level record (commit_record.h)
//
// for each `<table>_changes` change log, each SCD2 dimension `<entity>s_dim` and the fact
// `course_enrollment_fact` (namespace "public" by default). The lake's manifests stay the commit
// point of the lake and what its own readers read; the Iceberg tables follow them, at most one
// Iceberg commit per table per `interval`, and each Iceberg point is a lake commit:
//
// Publishing manifest v: for each dataset, the rows of v that the table does not hold yet are
// appended. What a table holds is told by its current snapshot alone: every row of the dataset
// whose order key (commit_lsn, position for a change log; source_lsn, source_position for a
// dimension and the fact) is at or below the watermark in the snapshot's summary
// ("migsbyu.watermark-lsn", "migsbyu.watermark-position"). Rows enter the lake in that order, so
// the rows above the watermark are exactly the new ones, and publishing is idempotent: a crash
// at any point leaves each table at a complete earlier state, and the next publish carries it to
// the latest manifest. A dimension version closed by a later lake commit (a row of the
// `_closes` dataset) becomes a row-level change: a position delete of the open row and the
// closed version appended, with its real end, current_row_indicator 'no' and is_deleted, in the
// same snapshot as the new versions. After every table is committed, record v names each table's
// version and snapshot (written with an exclusive link: a crash leaves the previous record).
//
// Upkeep: a table with more than `max_data_files` data files or `max_delete_files` delete files
// is compacted (its small data files, and every data file a delete file refers to, rewritten into
// one with the deletes applied; those files removed in a `replace` snapshot). Every
// `expire_interval`, records are thinned (RecordsToKeep: one per second for the last minute, per
// minute for the hour, per hour for the day, per day up to `retention`), then each table's
// snapshots that no kept record names are expired with the files only they reach. Tables keep
// at most `metadata_versions` earlier metadata files (write.metadata.previous-versions-max,
// delete-after-commit).
//
// Threading: Offer, PinnedVersions, Drain and the destructor are called by the lake's writer
// thread; publishing runs on the publisher's own thread with its own DuckDB database, and reads
// only the Parquet files of the manifests offered, which the writer keeps while PinnedVersions
// names them.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "common/result.h"
#include "lake/column_changes.h"
#include "lake/commit_record.h"
#include "lake/duck.h"
#include "lake/manifest.h"

namespace migsbyu::iceberg {
class Table;
}

namespace migsbyu::lake {

struct IcebergOptions {
  bool enabled = true;
  std::string ns = "public";
  // At most one Iceberg commit per table per interval: the lake's group commit (50 ms) would
  // make 1.7 million snapshots a day. The lake's own readers stay as fresh as its manifests.
  std::chrono::milliseconds interval{1000};
  std::chrono::milliseconds retention{std::chrono::hours(24 * 7)};
  std::chrono::milliseconds expire_interval{60000};
  size_t max_data_files = 16;
  size_t max_delete_files = 8;
  uint64_t big_file_rows = 1000000;  // data files this large are left alone by compaction
  int metadata_versions = 100;
};

// Per captured table ("students"), its columns as the last relation message the writer applied
// described them, in attnum order.
using Relations = std::map<std::string, std::vector<RelationColumn>>;

class IcebergPublisher {
 public:
  // Opens the publisher of the lake at `lake_dir` (absolute; kInvalidArgument for a directory no
  // Iceberg location may name, see iceberg/files.h) and deletes what a crash left: a
  // record's temporary file, the tables' files no version references (RemoveOrphanFiles).
  // REQUIRES: no other publisher on the lake (the writer holds the lake exclusively). With
  // `background`, a thread publishes offered manifests; without, only Publish does (tests).
  static Result<std::unique_ptr<IcebergPublisher>> Open(std::string lake_dir,
                                                        IcebergOptions options, bool background);
  // Publishes the last manifest offered, then stops the thread.
  ~IcebergPublisher();
  IcebergPublisher(const IcebergPublisher&) = delete;
  IcebergPublisher& operator=(const IcebergPublisher&) = delete;

  // Hands over a newly committed manifest (replacing one offered and not yet taken), with the
  // captured tables' columns as of its last change (merged over those offered before: a table
  // absent keeps what was known of it). Cheap. The next publish makes each table's Iceberg
  // schema follow its relation's columns: renames, drops, widenings and adds (column_changes.h).
  void Offer(const Manifest& m, const Relations& relations = {});
  // Versions whose files the publisher may read: the one offered and the one being published.
  std::set<uint64_t> PinnedVersions();
  // Waits until the last manifest offered is published (or failed); returns the first error
  // since the previous Drain.
  Status Drain();

  // Publishes `m` now on the caller's thread (REQUIRES: no background thread, or called by it):
  // every table brought to `m`, then record m.version written. No-op when the latest record is
  // at or above m.version.
  Status Publish(const Manifest& m);
  // Thins the records and expires the snapshots no kept record names, as of `now_us`.
  Status Expire(int64_t now_us);

  // The directory of `dataset`'s table, and its name in records ("public.students_dim").
  std::string TableDir(const std::string& dataset) const;
  std::string TableName(const std::string& dataset) const;

 private:
  IcebergPublisher(std::string lake_dir, IcebergOptions options, duck::Database db,
                   duck::Connection conn);
  void Loop(std::stop_token stop);
  // Moves the relations offered into relations_. REQUIRES: mu_ held, by the publishing thread.
  void TakeRelations();
  // Makes `table`'s schema follow the relation of `dataset`'s captured table, when known (see
  // Offer), then adds the columns of `columns` (the dataset's view) that no schema of the table
  // ever named, and widens a column whose view type is a promotion of its Iceberg type.
  Status EvolveTable(iceberg::Table& table, const std::string& dataset,
                     const std::vector<std::pair<std::string, std::string>>& columns);
  // Brings `dataset`'s table to manifest `m`; fills `out` with its state (nullopt: no table,
  // the dataset being empty).
  Status PublishTable(const Manifest& m, const std::string& dataset,
                      std::optional<TableVersion>* out);
  // Compacts `table` when it has too many files (see above); `order` sorts the rewritten rows.
  Status CompactTable(iceberg::Table& table, const std::string& order);

  const std::string lake_dir_;
  const IcebergOptions options_;
  duck::Database db_;
  duck::Connection conn_;  // the publishing thread's
  // Per dataset, the files (and closes files) of the manifest the table was last brought to: a
  // new row can only be in a file not listed there. Absent: read every file.
  std::map<std::string, std::set<std::string>> published_files_;
  std::atomic<uint64_t> published_version_{0};  // the latest record's (Offer reads it)
  int64_t last_expire_us_ = 0;
  std::set<std::string> skipped_;  // datasets whose names no table may have (logged once)

  std::mutex mu_;
  std::condition_variable_any wake_;
  std::optional<Manifest> offered_;
  Relations offered_relations_;  // taken with offered_
  Relations relations_;          // the publishing thread's: what Publish follows
  uint64_t working_ = 0;         // the version being published, 0 when none
  bool draining_ = false;
  std::optional<Error> error_;
  std::chrono::steady_clock::time_point last_publish_{};
  std::jthread thread_;
};

}  // namespace migsbyu::lake
