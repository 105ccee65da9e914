// Table metadata (vN.metadata.json), format version 2: the model and its JSON (spec "Table
// Metadata", Appendix C). Every field the spec requires for v2 is written:
//   format-version 2, table-uuid, location ("file:///abs/dir"), last-sequence-number,
//   last-updated-ms, last-column-id, schemas + current-schema-id, partition-specs (spec 0, no
//   fields) + default-spec-id 0 + last-partition-id 999, sort-orders (order 0, unsorted) +
//   default-sort-order-id 0;
// and the optional ones the lake uses: properties, current-snapshot-id, snapshots (each with
// snapshot-id, parent-snapshot-id, sequence-number, timestamp-ms, manifest-list, summary with
// "operation", schema-id), snapshot-log, metadata-log, refs ({"main": {"snapshot-id": current,
// "type": "branch"}} once there is a snapshot). A table with no snapshot has no
// current-snapshot-id (omitted, not -1), no snapshots and no main ref.
//
// Reading is strict about what v2 requires (a file lacking a required field, or with a
// format-version other than 2, is kCorruption) and keeps partition specs and sort orders as
// given; this library writes only unpartitioned, unsorted data.
//
// Threading: plain values and pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "lake/iceberg/schema.h"

namespace migsbyu::iceberg {

inline constexpr int kFormatVersion = 2;
// Iceberg's reference implementation starts partition field ids at 1000, so an unpartitioned
// table's last-partition-id is 999.
inline constexpr int32_t kUnpartitionedLastPartitionId = 999;

struct PartitionField {
  int32_t source_id = 0;
  int32_t field_id = 0;
  std::string name;
  std::string transform;
  bool operator==(const PartitionField&) const = default;
};

struct PartitionSpec {
  int32_t spec_id = 0;
  std::vector<PartitionField> fields;
  bool operator==(const PartitionSpec&) const = default;
};

struct SortField {
  std::string transform;
  int32_t source_id = 0;
  std::string direction;   // "asc" / "desc"
  std::string null_order;  // "nulls-first" / "nulls-last"
  bool operator==(const SortField&) const = default;
};

struct SortOrder {
  int32_t order_id = 0;
  std::vector<SortField> fields;
  bool operator==(const SortOrder&) const = default;
};

struct Snapshot {
  int64_t snapshot_id = 0;
  std::optional<int64_t> parent_snapshot_id;
  int64_t sequence_number = 0;
  int64_t timestamp_ms = 0;
  std::string manifest_list;  // full URI
  // "operation" (append, replace, overwrite, delete) and the spec's optional metrics.
  std::map<std::string, std::string> summary;
  std::optional<int32_t> schema_id;
  bool operator==(const Snapshot&) const = default;
};

struct SnapshotLogEntry {
  int64_t timestamp_ms = 0;
  int64_t snapshot_id = 0;
  bool operator==(const SnapshotLogEntry&) const = default;
};

struct MetadataLogEntry {
  int64_t timestamp_ms = 0;
  std::string metadata_file;  // full URI of an earlier vN.metadata.json
  bool operator==(const MetadataLogEntry&) const = default;
};

struct SnapshotRef {
  int64_t snapshot_id = 0;
  std::string type = "branch";  // "branch" / "tag"
  std::optional<int32_t> min_snapshots_to_keep;
  std::optional<int64_t> max_snapshot_age_ms;
  std::optional<int64_t> max_ref_age_ms;
  bool operator==(const SnapshotRef&) const = default;
};

struct TableMetadata {
  int format_version = kFormatVersion;
  std::string table_uuid;
  std::string location;
  int64_t last_sequence_number = 0;
  int64_t last_updated_ms = 0;
  int32_t last_column_id = 0;
  std::vector<Schema> schemas;
  int32_t current_schema_id = 0;
  std::vector<PartitionSpec> partition_specs = {PartitionSpec{}};
  int32_t default_spec_id = 0;
  int32_t last_partition_id = kUnpartitionedLastPartitionId;
  std::map<std::string, std::string> properties;
  std::optional<int64_t> current_snapshot_id;
  std::vector<Snapshot> snapshots;
  std::vector<SnapshotLogEntry> snapshot_log;
  std::vector<MetadataLogEntry> metadata_log;
  std::vector<SortOrder> sort_orders = {SortOrder{}};
  int32_t default_sort_order_id = 0;
  std::map<std::string, SnapshotRef> refs;

  // REQUIRES: a valid metadata (Validate): the current schema exists.
  const Schema& CurrentSchema() const;
  const Schema* FindSchema(int32_t schema_id) const;
  const Snapshot* CurrentSnapshot() const;
  const Snapshot* FindSnapshot(int64_t snapshot_id) const;
  // The snapshot that was current at `timestamp_ms` by the snapshot log (spec Appendix F, "Point
  // in Time Reads"): the last entry at or before it. kNotFound when the table had no snapshot
  // then or the log no longer reaches back that far (expired).
  Result<int64_t> SnapshotIdAsOf(int64_t timestamp_ms) const;

  bool operator==(const TableMetadata&) const = default;
};

// Checks the invariants a v2 metadata must hold: the ids it names exist (current schema, default
// spec and sort order, current snapshot, each ref's snapshot, each snapshot's schema), main ref
// equals current-snapshot-id, schema ids unique, every schema valid and its fields within
// last-column-id, sequence numbers within last-sequence-number. kCorruption naming `origin`.
Status ValidateMetadata(const TableMetadata& metadata, const std::string& origin);

std::string MetadataToJson(const TableMetadata& metadata);
// kCorruption naming `origin` for text that is no valid v2 metadata (ValidateMetadata included).
Result<TableMetadata> MetadataFromJson(const std::string& text, const std::string& origin);

}  // namespace migsbyu::iceberg
