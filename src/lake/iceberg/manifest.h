// Manifests and manifest lists (Iceberg v2), encoded as Avro with the spec's field ids.
//
// A manifest lists data files (a data manifest) or delete files (a delete manifest), one
// manifest_entry each:
//   manifest_entry: 0 status (0 existing, 1 added, 2 deleted), 1 snapshot_id, 3 sequence_number,
//     4 file_sequence_number (both null for an added entry: inherited, see below), 2 data_file:
//     134 content (0 data, 1 position deletes, 2 equality deletes), 100 file_path, 101
//     file_format ("PARQUET"), 102 partition (an empty record: tables here are unpartitioned),
//     103 record_count, 104 file_size_in_bytes, 108 column_sizes, 109 value_counts, 110
//     null_value_counts, 137 nan_value_counts (maps as arrays of key/value records, keys 117/119/
//     121/138, values 118/120/122/139), 125 lower_bounds / 128 upper_bounds (keys 126/129, values
//     127/130: bytes in the single-value serialization, bounds.h), 131 key_metadata (never set),
//     132 split_offsets (list, element 133), 135 equality_ids (list, element 136), 140
//     sort_order_id, 143 referenced_data_file.
// Its Avro header carries "schema" (the table schema's JSON), "schema-id", "partition-spec"
// ("[]"), "partition-spec-id" ("0"), "format-version" ("2") and "content" ("data"/"deletes").
//
// A manifest list (one per snapshot) lists the snapshot's manifests, one manifest_file each:
//   500 manifest_path, 501 manifest_length, 502 partition_spec_id, 517 content (0 data, 1
//   deletes), 515 sequence_number, 516 min_sequence_number, 503 added_snapshot_id, 504/505/506
//   added/existing/deleted_files_count, 512/513/514 added/existing/deleted_rows_count, 507
//   partitions (list of field summaries, element 508: empty for unpartitioned), 519 key_metadata.
// Its header carries "snapshot-id", "parent-snapshot-id" (when there is one), "sequence-number"
// and "format-version".
//
// Sequence-number inheritance: a manifest is written once, before its snapshot's sequence number
// is final (a commit retried after a conflict gets a new one), so an added entry stores null
// sequence numbers and a reader takes them from the manifest list's sequence_number for that
// manifest. An existing or deleted entry (rewritten into a new manifest) stores both explicitly,
// as they were first inherited. ReadManifest applies this.
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

enum class FileContent : int32_t { kData = 0, kPositionDeletes = 1, kEqualityDeletes = 2 };
enum class EntryStatus : int32_t { kExisting = 0, kAdded = 1, kDeleted = 2 };
enum class ManifestContent : int32_t { kData = 0, kDeletes = 1 };

// Field ids of the position delete files' columns (spec "Reserved Field IDs").
inline constexpr int32_t kDeleteFilePathId = 2147483546;
inline constexpr int32_t kDeletePosId = 2147483545;

// One data or delete file as a manifest describes it. Paths are full URIs ("file:///...").
struct DataFile {
  FileContent content = FileContent::kData;
  std::string file_path;
  std::string file_format = "PARQUET";
  int64_t record_count = 0;
  int64_t file_size_in_bytes = 0;
  std::map<int32_t, int64_t> column_sizes;
  std::map<int32_t, int64_t> value_counts;
  std::map<int32_t, int64_t> null_value_counts;
  std::map<int32_t, int64_t> nan_value_counts;
  std::map<int32_t, std::string> lower_bounds;
  std::map<int32_t, std::string> upper_bounds;
  std::vector<int64_t> split_offsets;
  std::vector<int32_t> equality_ids;  // equality deletes only
  std::optional<int32_t> sort_order_id;
  std::optional<std::string> referenced_data_file;  // position deletes of a single data file
  bool operator==(const DataFile&) const = default;
};

struct ManifestEntry {
  EntryStatus status = EntryStatus::kAdded;
  std::optional<int64_t> snapshot_id;
  // Data sequence number (the age of the content, for applying deletes) and file sequence number
  // (the snapshot that added the file); after ReadManifest both are always set.
  std::optional<int64_t> sequence_number;
  std::optional<int64_t> file_sequence_number;
  DataFile file;
  bool operator==(const ManifestEntry&) const = default;
};

// A manifest as its manifest list describes it.
struct ManifestFile {
  std::string manifest_path;
  int64_t manifest_length = 0;
  int32_t partition_spec_id = 0;
  ManifestContent content = ManifestContent::kData;
  int64_t sequence_number = 0;
  int64_t min_sequence_number = 0;
  int64_t added_snapshot_id = 0;
  int32_t added_files_count = 0;
  int32_t existing_files_count = 0;
  int32_t deleted_files_count = 0;
  int64_t added_rows_count = 0;
  int64_t existing_rows_count = 0;
  int64_t deleted_rows_count = 0;
  bool operator==(const ManifestFile&) const = default;
};

// The Avro bytes of a manifest of `content` holding `entries`, written with table schema
// `schema` (its JSON and id go to the header). REQUIRES: every entry's file matches `content`
// (data files in a data manifest, delete files in a delete manifest); kInvalidArgument otherwise.
Result<std::string> EncodeManifest(const std::vector<ManifestEntry>& entries, const Schema& schema,
                                   ManifestContent content);

// The entries of a manifest read from `bytes`, with sequence numbers inherited from `listed`
// (the manifest list's entry for it) where null. kCorruption naming `origin` for a file that is
// no v2 manifest (missing header keys, missing required fields) or whose size differs from
// listed.manifest_length (when that is set).
Result<std::vector<ManifestEntry>> DecodeManifest(const std::string& bytes,
                                                  const std::string& origin,
                                                  const ManifestFile& listed);

// The header metadata of a manifest or manifest list (for tools and tests).
Result<std::map<std::string, std::string>> AvroHeader(const std::string& bytes,
                                                      const std::string& origin);

// What a manifest holds, for its manifest list entry: counts of added/existing/deleted files and
// rows, and the least data sequence number of its live entries (`inherited_sequence` stands for
// those that inherit). The path, length, snapshot and sequence number are the caller's.
ManifestFile SummarizeManifest(const std::vector<ManifestEntry>& entries, ManifestContent content,
                               int64_t inherited_sequence);

struct ManifestListHeader {
  int64_t snapshot_id = 0;
  std::optional<int64_t> parent_snapshot_id;
  int64_t sequence_number = 0;
};

Result<std::string> EncodeManifestList(const std::vector<ManifestFile>& manifests,
                                       const ManifestListHeader& header);
// kCorruption naming `origin` when the file is no v2 manifest list.
Result<std::vector<ManifestFile>> DecodeManifestList(const std::string& bytes,
                                                     const std::string& origin);

}  // namespace migsbyu::iceberg
