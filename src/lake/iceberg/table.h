// Table: one Iceberg v2 table in the file-system ("Hadoop") catalog layout, and the operations
// the lake needs: create, load the latest version, commit snapshots (append, a row-level change,
// a compaction), evolve the schema, plan a scan of any retained snapshot, expire snapshots.
//
// Layout (what Spark's Hadoop catalog, Trino, DuckDB's iceberg_scan and pyiceberg read):
//   <lake>/<namespace>/<table>/                  location "file://<that directory>"
//     metadata/v<N>.metadata.json                one per table version, N = 1, 2, ...; immutable
//     metadata/version-hint.text                 "N" (no newline): the latest version, a hint
//     metadata/snap-<snapshot id>-<attempt>-<uuid>.avro   a snapshot's manifest list
//     metadata/<uuid>-m<k>.avro                  manifests
//     data/<uuid>.parquet, data/<uuid>-deletes.parquet    data and position delete files
//
// Commit protocol (a new version N+1 over N; Commit, UpdateSchema and ExpireSnapshots):
//   1. New data files are already written and fsynced by the caller (parquet.h does); data/ is
//      fsynced so their names are durable.
//   2. New manifests and the manifest list are written under unique names and fsynced, then
//      metadata/ is fsynced. Nothing refers to them yet.
//   3. v<N+1>.metadata.json is written to a unique temporary name in metadata/ and fsynced.
//   4. The temporary file is hard-linked to v<N+1>.metadata.json (link(2)): the commit point.
//      link fails when the name exists, so of two writers racing for N+1 exactly one wins; the
//      loser gets kAlreadyExists, reloads the latest version and retries (rename(2) could not
//      do this: it silently replaces an existing target, and the spec calls the rename scheme
//      unsafe on local file systems for that reason).
//   5. The temporary name is removed and metadata/ fsynced: the new version is durable.
//   6. version-hint.text is replaced atomically (temporary file, fsync, rename, fsync).
// A crash before 4 leaves unreferenced files only (RemoveOrphanFiles deletes them); a crash
// after 4 leaves version N+1 committed. If the hint was not updated yet, a reader that trusts
// it sees version N, a complete older version; Open and Refresh (like Spark's
// HadoopTableOperations) probe v<hint+1>, v<hint+2>, ... and take the highest that parses.
//
// Concurrency: optimistic. Writers in any process may share a table; a commit whose base is no
// longer the latest is re-applied on the latest version when that is safe (an append always; a
// compaction or row-level change when the files it removes, and the data files its deletes
// refer to, are all still live) and fails with kConflict otherwise. Readers take no lock.
//
// Threading: a Table object is used by one thread at a time (REQUIRES: external
// synchronization). Several Table objects (threads or processes) may use one directory.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/result.h"
#include "lake/iceberg/manifest.h"
#include "lake/iceberg/metadata.h"
#include "lake/iceberg/schema.h"

namespace migsbyu::iceberg {

// <lake_root>/<ns>/<table>. kInvalidArgument unless both names match [A-Za-z0-9_][A-Za-z0-9_-]*
// (at most 128 characters) and `lake_root` is a valid absolute directory (files.h).
Result<std::string> TableDirectory(const std::string& lake_root, const std::string& ns,
                                   const std::string& table);

// The kind of change a snapshot makes (its summary's "operation").
enum class Operation {
  kAppend,     // adds data files only
  kOverwrite,  // a row-level change: adds data and/or delete files, may remove files
  kDelete,     // adds delete files and/or removes data files, no new data
  kReplace,    // compaction: removes files and adds files holding the same rows
};
const char* OperationName(Operation op);

// One snapshot's changes. Paths are the files' URIs as their manifest entries have them.
struct SnapshotUpdate {
  Operation operation = Operation::kAppend;
  std::vector<DataFile> added_files;    // data and delete files (by their content)
  std::set<std::string> removed_files;  // live data or delete files to remove
  // Data files that must still be live for the change to hold, e.g. those the added position
  // deletes refer to; checked again when the commit is retried over a newer version.
  std::set<std::string> required_files;
  // Extra summary properties (e.g. "migsbyu.commit-lsn"); keys the spec defines are refused.
  std::map<std::string, std::string> summary;
};

// The steps of the commit protocol above, for tests that stop a commit where a crash would.
enum class CommitStep {
  kManifestsWritten,  // manifests and manifest list written and fsynced (2)
  kMetadataWritten,   // the temporary metadata file written and fsynced (3)
  kMetadataLinked,    // v<N+1> linked (4): committed
  kTemporaryRemoved,  // the temporary name removed, metadata/ fsynced (5)
  kHintWritten,       // version-hint.text replaced (6)
};

struct CommitOptions {
  int max_attempts = 4;
  // The snapshot's timestamp (ms since the epoch); 0: the clock. Kept no lower than the
  // table's last-updated-ms, so that time travel by timestamp stays ordered.
  int64_t now_ms = 0;
  // Called after each step; an error stops the commit at once, leaving on disk what a crash at
  // that point would leave, and is returned. For tests.
  std::function<Status(CommitStep)> after_step;
  // Data manifests a commit may carry before they are merged into one (as Iceberg's
  // commit.manifest.min-count-to-merge): this bounds the manifest list and the number of
  // manifests a scan reads, at the price of rewriting the small manifests now and then.
  size_t merge_manifests_after = 100;
};

struct CommitResult {
  int64_t version = 0;
  std::optional<int64_t> snapshot_id;  // the new snapshot (none for a schema change)
  int attempts = 1;
};

// A file of a scan, with its data sequence number.
struct ScanFile {
  std::string path;
  FileContent content = FileContent::kData;
  int64_t record_count = 0;
  int64_t file_size_in_bytes = 0;
  int64_t sequence_number = 0;
  bool operator==(const ScanFile&) const = default;
};

// What to read for one snapshot: its live data files and the delete files that apply to them
// (rows of a data file are deleted by a position delete file of an equal or higher sequence
// number, by an equality delete file of a strictly higher one).
struct ScanPlan {
  std::optional<int64_t> snapshot_id;  // none: a table without snapshots (no rows)
  int64_t timestamp_ms = 0;
  Schema schema;  // the schema the snapshot was written with (time travel reads it)
  std::vector<ScanFile> data_files;
  std::vector<ScanFile> delete_files;
};

struct ExpireOptions {
  // Snapshots committed before this instant (ms since the epoch) are expired, unless kept by
  // the rules below. Use now - retention (the lake's default: 7 days).
  int64_t older_than_ms = 0;
  // The newest this many snapshots of the main branch are kept whatever their age (>= 1: the
  // current snapshot is always kept).
  int min_snapshots_to_keep = 1;
  CommitOptions commit;
};

struct ExpireResult {
  std::vector<int64_t> expired_snapshot_ids;
  std::vector<std::string> deleted_files;  // local paths
  std::optional<int64_t> version;          // the metadata version written, if any
};

inline constexpr int64_t kDefaultRetentionMs = 7LL * 24 * 3600 * 1000;

class Table {
 public:
  // Creates the table at `dir` (see TableDirectory) with version 1: `schema` (field ids as
  // given, schema id 0), no snapshot. kAlreadyExists if `dir` already holds a table version.
  static Result<Table> Create(const std::string& dir, Schema schema,
                              std::map<std::string, std::string> properties = {});
  // Loads the latest version of the table at `dir`; kNotFound when there is none.
  static Result<Table> Open(const std::string& dir);

  Table(Table&&) noexcept = default;
  Table& operator=(Table&&) noexcept = default;
  Table(const Table&) = delete;
  Table& operator=(const Table&) = delete;

  // Reloads the latest version from disk (other writers' commits).
  Status Refresh();

  const TableMetadata& metadata() const { return metadata_; }
  int64_t version() const { return version_; }
  const std::string& dir() const { return dir_; }
  const std::string& location() const { return metadata_.location; }
  // The URI of metadata file v<version>.metadata.json.
  std::string MetadataFileUri(int64_t version) const;

  // A fresh URI under data/ for a new data file (".parquet") or delete file ("-deletes.parquet").
  std::string NewDataFileUri() const;
  std::string NewDeleteFileUri() const;

  // Commits `update` as a new snapshot (protocol above). kInvalidArgument for an update that
  // does not fit its operation (an append that removes, a replace that adds nothing, a file
  // already live, a removal of a file that is not live, data files with an equality_ids...);
  // kConflict when a concurrent commit removed a file this one needs; kAlreadyExists only if
  // every attempt lost the race.
  Result<CommitResult> Commit(const SnapshotUpdate& update, const CommitOptions& options = {});

  // Commits a new current schema from `changes` (schema.h EvolveSchema), reusing an existing
  // schema id when the result equals an earlier schema. No snapshot is made.
  Result<CommitResult> UpdateSchema(const std::vector<SchemaChange>& changes,
                                    const CommitOptions& options = {});

  // The plan for `snapshot_id`, or for the current snapshot when absent. kNotFound for a
  // snapshot the table does not hold (never made, or expired).
  Result<ScanPlan> PlanScan(std::optional<int64_t> snapshot_id = std::nullopt) const;
  // The plan for the snapshot current at `timestamp_ms` (TableMetadata::SnapshotIdAsOf).
  Result<ScanPlan> PlanScanAsOf(int64_t timestamp_ms) const;

  // Expires snapshots (the spec's retention rules with options' age and count; refs other than
  // main are kept), commits the metadata without them, then deletes the files that only expired
  // snapshots reached: their manifest lists, manifests no kept snapshot lists, data and delete
  // files live in no kept snapshot, and metadata files older than the oldest kept snapshot. A
  // file a kept snapshot can read is never deleted. Nothing to expire: no commit.
  Result<ExpireResult> ExpireSnapshots(const ExpireOptions& options);

  // Deletes files under metadata/ and data/ that the latest version does not reach (left by
  // failed or crashed commits) and that are older than `older_than_ms` (ms since the epoch), so
  // that another writer's commit in progress keeps its files. Returns the local paths deleted.
  Result<std::vector<std::string>> RemoveOrphanFiles(int64_t older_than_ms);

  // Reads a snapshot's manifest list and a manifest (inheritance applied), for tools and tests.
  Result<std::vector<ManifestFile>> ReadManifestList(const Snapshot& snapshot) const;
  Result<std::vector<ManifestEntry>> ReadManifest(const ManifestFile& manifest) const;

 private:
  struct Attempt;
  Table(std::string dir, TableMetadata metadata, int64_t version, int64_t highest);
  std::string MetadataDir() const;
  std::string DataDir() const;
  std::string VersionPath(int64_t version) const;
  // Writes `next` as version highest_ + 1 (steps 3 to 6); kAlreadyExists when another writer
  // took that version (this table then holds the latest state again).
  Status CommitMetadata(TableMetadata next, const CommitOptions& options);
  // Writes a new manifest of `entries` and returns its listing (counts, path, length; added by
  // `snapshot_id` at `sequence_number`, which added entries inherit).
  Result<ManifestFile> WriteManifest(const std::vector<ManifestEntry>& entries,
                                     ManifestContent content, const Schema& schema,
                                     int64_t snapshot_id, int64_t sequence_number);
  // Attempt work: the base's manifests carried into the new snapshot, those holding removed
  // files rewritten (the removals recorded as deleted entries), required files checked.
  Status CarryManifests(const SnapshotUpdate& update, int64_t snapshot_id, int64_t sequence,
                        const Schema& schema, int attempt, const CommitOptions& options,
                        Attempt* a);
  // Lists `carried` manifests of one content, merging the small ones into one when there are
  // more than options.merge_manifests_after.
  Status MergeManifests(const std::vector<ManifestFile>& carried, ManifestContent content,
                        int64_t snapshot_id, int64_t sequence, const Schema& schema,
                        const CommitOptions& options, Attempt* a);
  // Whether the live delete file `delete_path` may name a row of one of `data_paths`.
  Result<bool> DeleteMayReferTo(const std::string& delete_path,
                                const std::set<std::string>& data_paths) const;
  // Files (manifest lists, manifests, live data and delete files) that `snapshots` reach; each
  // manifest is read once.
  Status CollectReachable(const std::vector<const Snapshot*>& snapshots,
                          std::set<std::string>* manifest_lists, std::set<std::string>* manifests,
                          std::set<std::string>* live_files,
                          std::set<std::string>* any_files) const;

  std::string dir_;
  TableMetadata metadata_;
  int64_t version_ = 0;  // the version metadata_ was loaded from
  int64_t highest_ = 0;  // the highest version present on disk (parsed or not)
};

}  // namespace migsbyu::iceberg
