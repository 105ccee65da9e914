// The lake's Iceberg points as a history: which lake commits can still be read through Iceberg
// (their commit records, lake/commit_record.h), what each changed in which table, and the
// record a table's snapshot id belongs to, for time travel by snapshot id (the analytics API's
// `as_of_snapshot`, docs/LAKE.md "Time travel by snapshot").
//
// A record names, per table, the snapshot holding the table at that lake commit; a table that
// did not change keeps its snapshot, so one snapshot id may be named by several records. The
// changes of a table at a record are those of the snapshots from the one the previous kept
// record names (exclusive) to the one this record names (inclusive), summed from their
// summaries (the spec's added-records, deleted-records, added-position-deletes); a compaction
// (`replace`) changes no row and adds nothing. When thinning expired a snapshot of that chain,
// the sums miss it and `complete` is false.
//
// Threading: functions on the file system; safe to call while the publisher writes (records and
// metadata files are written once and never changed; a file deleted meanwhile is skipped).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "lake/commit_record.h"

namespace migsbyu::lake {

// One table's change at one record.
struct TableChange {
  std::string table;  // "public.students_dim"
  int64_t snapshot_id = 0;
  std::string operation;     // the named snapshot's: append, overwrite, replace, delete
  int64_t added_rows = 0;    // rows added by the chain (compactions' rewritten rows aside)
  int64_t deleted_rows = 0;  // rows removed: position deletes and removed data files' rows
  int64_t rows = 0;          // live rows after it (total-records − total-position-deletes)
  bool complete = true;      // every snapshot of the chain was still there to count
};

struct IcebergPoint {
  CommitRecord record;
  std::vector<TableChange> changes;  // tables whose snapshot differs from the previous point's
};

// Every record that parses, oldest first, each with its changes. A table whose metadata cannot
// be read is listed with its snapshot id and complete = false. Empty when the lake has no
// Iceberg tables.
Result<std::vector<IcebergPoint>> ListIcebergPoints(const std::string& lake_dir);

// The oldest record naming `snapshot_id` for any table, i.e. the earliest lake commit at which
// that table held that snapshot (the table is the same at every record naming it). nullopt when
// no record names it (never made, expired, or of another lake).
Result<std::optional<CommitRecord>> FindRecordOfSnapshot(const std::string& lake_dir,
                                                         int64_t snapshot_id);

}  // namespace migsbyu::lake
