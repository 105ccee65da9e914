// LakeWriter: the write side of the lake. It stores each change in its table's change log,
// feeds it to the ScdBuilder for the dimensions and the fact, and commits everything with the
// manifest protocol of manifest.h: data files first, then one manifest per commit.
//
// Memory is bounded: buffered rows are written to Parquet files (not yet listed by any manifest,
// so invisible) whenever `spill_rows` accumulate, also in the middle of a huge transaction; they
// become visible with the first manifest published after that transaction's Commit. A reader
// therefore never sees part of a transaction.
//
// Exactly once: each captured table has a watermark (commit_lsn, position) of its last stored
// change; Apply skips changes at or below it, so a replay after a crash stores nothing twice.
// A change read from Kafka (ChangeEvent::source_partition ≥ 0) is compared with the mark of its
// partition instead: a topic's partitions are each in commit order but not with each other.
// After a crash, files no manifest lists are deleted when the writer opens.
//
// Compaction runs in the writer's thread after a publish when a dataset has more than
// `max_files_per_dataset` files: small files are merged into one, and a dimension's closes are
// folded into a rewritten dimension when they grow; the result is published as a new manifest
// that lists the same rows in fewer files. Old files are deleted once no manifest that a reader
// may hold lists them (pinned in this process, or younger than `retain`).
//
// Roles (WriterOptions::role; docs/LAKE.md "Several writers"):
//   kExclusive   the only writer of the lake (holds _locks/lake.lock exclusively): every table,
//                dimension and the fact, as described above.
//   kTableOwner  one of several `lake consume` processes: writes only the tables it acquired
//                (AcquireTable, an exclusive lock per table) — their change logs and, for the
//                three entity tables and any table outside the contract, their dimensions —
//                and never the fact.
//   kDeriver     derives the enrollment fact (Derive) from the change logs other writers
//                published, in (commit_lsn, position) order up to the point every known table
//                is complete; REQUIRES: the caller holds _locks/deriver.lock.
// Shared roles commit under _locks/commit.lock, merging only what they own into the latest
// manifest, and compact and collect garbage only in datasets they own.
//
// Threading: one thread at a time (REQUIRES: external synchronization); LakeSink serializes.
// Inside, the COPY of one table's buffered changes runs on a thread of its own from the table's
// first buffered change to its spill, reading each batch of rows as soon as Apply has filled it;
// the spill (or a publish) waits for that COPY and reports its error.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "events/change_event.h"
#include "lake/duck.h"
#include "lake/iceberg_publisher.h"
#include "lake/lake.h"
#include "lake/lock.h"
#include "lake/manifest.h"
#include "lake/scd.h"

namespace migsbyu::lake {

enum class WriterRole { kExclusive, kTableOwner, kDeriver };

struct WriterOptions {
  WriterRole role = WriterRole::kExclusive;
  std::string dir = "var/lake";
  TrackedColumns tracked;
  uint64_t spill_rows = 100000;
  size_t max_files_per_dataset = 16;
  uint64_t big_file_rows = 1000000;   // files this large are left alone by compaction merges
  uint64_t fold_closes_rows = 10000;  // closes beyond this (and 1/8 of the dimension) are folded
  std::chrono::milliseconds retain{30000};
  int duckdb_threads = 1;
  // The Iceberg tables published from the manifests (iceberg_publisher.h; a single writer only:
  // shared roles do not publish them yet).
  IcebergOptions iceberg;
};

// How Apply writes a column's values into an Arrow batch.
enum class ValueSlot : uint8_t { kBool, kInteger, kDouble, kDecimal, kString };

class LakeWriter : public ScdOutput {
 public:
  // Opens the lake directory for writing: loads the latest manifest, removes garbage a crash
  // left (temporary and torn manifests, unlisted files) and restores the builder's state.
  // `lake` (may be null) receives each published manifest and reports pinned snapshots.
  static Result<std::unique_ptr<LakeWriter>> Open(WriterOptions options,
                                                  std::shared_ptr<Lake> lake);
  ~LakeWriter() override;

  // The sink protocol (transport/sink.h). A Begin while a transaction is open means the previous
  // one failed: everything not yet published is dropped and the state reloaded.
  Status Begin(const events::TransactionInfo& tx);
  Status Apply(const events::ChangeEvent& change);
  Status Commit(const events::TransactionInfo& tx);
  bool InTransaction() const { return in_transaction_; }

  // Publishes every committed transaction not yet published (no-op when none, or inside a
  // transaction): returns whether a manifest was written. Then compacts when needed.
  Result<bool> Publish();
  // Steady-clock time of the oldest committed but unpublished transaction, if any.
  std::optional<std::chrono::steady_clock::time_point> OldestUnpublished() const;

  const Manifest& published() const { return published_; }

  // Compacts datasets with too many files (every dataset with more than one file if `force`).
  Status Compact(bool force = false);
  // Rebuilds the dimensions and the fact from the change logs (same surrogate keys) and
  // publishes them as one new manifest.
  Status Rebuild();
  // Deletes manifests and files no retained manifest lists (in a shared role, only files of
  // datasets this writer owns).
  Status CollectGarbage();
  // Waits until the Iceberg tables hold the latest published manifest (no-op when they are not
  // published); returns the publisher's first error since the last call.
  Status FlushIceberg();

  // kTableOwner only. Waits for `table`'s lock (the previous owner releases it after its last
  // publish, or by exiting), then takes the table's state from the latest manifest: watermark,
  // files, and for an entity table the next key and current key per id. kCancelled if `stop`
  // is requested while waiting.
  Status AcquireTable(const std::string& table, std::stop_token stop = {});
  // Publishes what is committed, then releases `table`. REQUIRES: no open transaction.
  Status ReleaseTable(const std::string& table);
  bool OwnsTable(const std::string& table) const { return owned_.tables.count(table) > 0; }
  // Records that the lake holds every change of owned `table` with commit LSN <= `lsn` (its
  // topic was read to the end after `lsn` was the lake's commit LSN); published with the next
  // manifest. Ignored for a table not owned or a claim that does not advance.
  void MarkCaughtUp(const std::string& table, uint64_t lsn);

  // kDeriver only. Derives the fact from the change logs of the latest manifest, up to its
  // safe point (SafePoint), and publishes it; returns whether a manifest was written.
  Result<bool> Derive();
  // The point up to which every known table of `m` is complete: the least, over the five known
  // tables, of max(watermark, caught_up claim). {0, 0} while a known table has neither.
  static Watermark SafePoint(const Manifest& m);

 private:
  // A table's buffered changes, already in the change log's column layout: Apply writes each
  // change straight into Arrow batches, and a spill's COPY reads them as they are.
  struct ChangeBuffer {
    std::shared_ptr<const events::TableSchema> schema;
    std::vector<std::pair<std::string, std::string>> columns;  // of the change log file
    std::vector<ValueSlot> slots;          // per schema column: how its values go into a batch
    std::deque<duck::ArrowBatch> batches;  // a deque: a streaming COPY holds the full ones
    // Emptied batches of these columns, reused rather than allocated again (at most a spill's).
    std::vector<duck::ArrowBatch> spare;
    uint64_t filled = 0;  // rows in batches.back()
    uint64_t rows = 0;
    bool streamed = false;  // read by the streaming COPY as batches fill
  };
  // What Apply needs of a table, looked up once per schema object rather than per change.
  struct TableState {
    std::shared_ptr<const events::TableSchema> schema;  // keeps the key's object alive
    Watermark* mark = nullptr;                          // in watermarks_, once there
    ChangeBuffer* buffer = nullptr;                     // in changes_
    bool builds = false;  // a table of the contract whose changes this writer's builder reads
  };
  // The COPY of one buffer to `file` on its own thread (at most one at a time).
  struct StreamingCopy {
    std::string table;
    DataFile file;
    std::thread thread;
    Status status = OkStatus();  // written by `thread`
  };

  LakeWriter(WriterOptions options, std::shared_ptr<Lake> lake, duck::Database db,
             duck::Connection conn);

  Status OnVersion(DimVersion version) override;
  Status OnClose(const DimClose& close) override;
  Status OnFact(FactRow row) override;

  Status Restore();
  // Before a snapshot transaction: publishes, brings the builder's state to the published one
  // with the current versions' values (a replay of the change log), and starts reconciling.
  Status BeginReconcile();
  // Once per restored state: publishes and replays the change logs, so that the builder knows
  // the current versions' values (a snapshot read identical to one then makes nothing).
  Status KnowCurrentValues();
  // The keys of `schema`'s table whose last published change is an insert, update or read that
  // commits before `since` and after the last truncate: what the lake holds as current and no
  // change since `since` touched. Values typed as `schema`'s key columns, in key order.
  Result<std::vector<events::Row>> KeysUntouchedSince(const events::TableSchema& schema, Lsn since);
  // Current key per id of one entity table, from its dimension view over published_.
  Status RestoreEntity(const KnownTable& table);
  // For a generic dimension: also the current versions' values (RestoreCurrentVersion).
  Status RestoreGenericEntity(const KnownTable& table);
  // The contract's three dimensions, then the generic ones of dim_keys_.
  std::vector<const KnownTable*> Dimensions() const;
  bool Owns(const std::string& dataset) const;
  // Whether the builder sees changes of `table` (the fact is the deriver's in shared roles).
  bool Builds(const std::string& table) const;
  Result<FileLock> LockCommit();
  Status Reset();
  Status SpillAll();
  // Each captured table's columns as its last buffered change described them, for the Iceberg
  // publisher's schema evolution. REQUIRES: no transaction open (all buffered changes published).
  Relations CurrentRelations() const;
  TableState& StateOf(const std::shared_ptr<const events::TableSchema>& schema);
  // Writes `change` (TOAST already resolved) as the next row of `buffer`, its table's.
  Status BufferChange(const events::ChangeEvent& change, ChangeBuffer& buffer);
  Status SpillChanges(const std::string& table);
  // Empties `buffer.batches`, keeping them as spares.
  void RecycleBatches(ChangeBuffer& buffer);
  // Starts the streaming COPY of `table`'s buffer (which holds its first row).
  Status StartStream(const std::string& table, ChangeBuffer& buffer);
  // Ends the streaming COPY after the batches handed over and returns its file (written, fsynced).
  Result<DataFile> FinishStream();
  // Stops the streaming COPY, if any, and deletes its file.
  void AbortStream();
  Status SpillDims();
  Status SpillFact();
  // Writes `rows` rows to a new file of `dataset` through a staging table of `columns`.
  Status WriteFile(const std::string& dataset,
                   const std::vector<std::pair<std::string, std::string>>& columns, size_t rows,
                   const std::function<Status(duck::Appender&, size_t)>& fill);
  // Creates the staging table of `columns`, lets `append` fill it, copies it to a new file.
  Status StageAndCopy(const std::string& dataset,
                      const std::vector<std::pair<std::string, std::string>>& columns,
                      const std::function<Status(duck::Appender&)>& append);
  // Writes the result of `select_sql` to a new file of `dataset`; returns it (rows counted).
  Result<DataFile> CopyToFile(const std::string& dataset, const std::string& select_sql);
  std::string NewFilePath(const std::string& dataset);
  Status CommitManifest(Manifest next);
  Status InstallViews(const Manifest& m);
  // Feeds the builder, in (commit_lsn, position) order, every change of each known table after
  // after[table] and up to upto[table] (`upto_default` for a table not in `upto`); `last` (may
  // be null) receives, per table, the last change fed.
  Status ReplayChangeLogs(const std::map<std::string, Watermark>& after,
                          const std::map<std::string, Watermark>& upto, Watermark upto_default,
                          std::map<std::string, Watermark>* last);

  WriterOptions options_;
  std::shared_ptr<Lake> lake_;
  duck::Database db_;
  duck::Connection conn_;
  duck::BatchScan batch_scan_;  // the view lake_batches: the buffered batches being spilled
  std::optional<duck::Connection> stream_conn_;  // used by stream_->thread while it runs
  duck::BatchScan stream_scan_;                  // the view lake_stream on stream_conn_
  std::optional<StreamingCopy> stream_;
  std::unique_ptr<ScdBuilder> builder_;

  Manifest published_;
  // Committed, not yet published.
  bool dirty_ = false;
  bool in_transaction_ = false;
  uint64_t applied_in_transaction_ = 0;  // changes stored (not skipped) by the open transaction
  std::optional<std::chrono::steady_clock::time_point> oldest_unpublished_;
  Lsn end_lsn_, commit_lsn_;
  int64_t commit_time_us_ = 0;
  std::map<std::string, Watermark> watermarks_;
  std::map<std::string, std::map<int32_t, Watermark>> partition_watermarks_;
  // Primary key columns of the tables with generic dimensions (Manifest::dimension_keys).
  std::map<std::string, std::vector<std::string>> dim_keys_;
  // Buffers and written-but-unpublished files.
  std::map<std::string, ChangeBuffer> changes_;
  // By schema object; cleared when watermarks_ or changes_ are replaced.
  std::unordered_map<const events::TableSchema*, TableState> tables_;
  std::map<const KnownTable*, std::vector<DimVersion>> versions_;
  std::map<const KnownTable*, std::unordered_map<int64_t, size_t>> buffered_index_;
  std::map<const KnownTable*, std::vector<DimClose>> closes_;
  std::vector<FactRow> fact_;
  uint64_t buffered_rows_ = 0;
  std::map<std::string, std::vector<DataFile>> pending_;
  uint64_t file_seq_ = 0;
  bool replaying_ = false;
  std::chrono::steady_clock::time_point last_gc_;
  // Shared roles.
  FileLock lake_lock_;
  std::map<std::string, FileLock> table_locks_;
  Ownership owned_;  // kExclusive: unused (it owns everything)
  std::map<std::string, uint64_t> caught_up_;
  std::map<std::string, Watermark> derived_;
  bool suppress_output_ = false;  // the deriver (or a reconcile) catching up to its state
  bool snapshot_tx_ = false;      // the open transaction is a snapshot being reconciled
  bool values_known_ = false;     // the builder knows the current versions' values
  // The open transaction ends an incremental snapshot's pass (TransactionInfo::pass_end): the
  // keys untouched since the pass began, by key text, and the keys it read.
  bool pass_end_tx_ = false;
  std::map<std::string, events::Row> pass_untouched_;
  std::set<std::string> pass_read_;
  std::string snapshot_progress_;  // committed, published with the next manifest
  uint64_t last_position_ = 0;     // highest position applied in the open transaction
  struct ManifestFiles {
    int64_t written_at_us = 0;
    std::vector<std::string> paths;
  };
  std::map<uint64_t, ManifestFiles> manifest_files_;  // garbage collection's cache, per version
  uint64_t derived_from_version_ = 0;
  std::unique_ptr<IcebergPublisher> iceberg_;  // null unless options_.iceberg.enabled
};

}  // namespace migsbyu::lake
