// The lake-level commit record: one small file per published Iceberg point of the lake, naming
// for every Iceberg table of the lake the table version and snapshot that hold the lake's state
// at one lake commit (one manifest version), so that a reader can take every table at one
// transaction boundary although each table commits on its own (docs/LAKE.md "Iceberg tables").
//
//   <lake>/_lake/commits/<lake version, 20 digits>.json     never modified
//   {"format": "migsbyu-lake-commit/1", "lake_version": 42, "written_at_us": ...,
//    "end_lsn": ..., "commit_lsn": ..., "commit_time_us": ...,
//    "tables": {"public.students_dim": {"metadata": "v9.metadata.json", "version": 9,
//                                        "snapshot-id": 1302..., "sequence-number": 8}, ...}}
//
// Written as a temporary file, fsynced, hard-linked to its final name (link(2) fails when the
// name exists), then the directory fsynced: the link is the commit point, so a crash leaves the
// previous record the latest. The latest record is the highest-numbered one that parses.
//
// Threading: plain values and functions on the file system; callers serialize writers of one
// lake (the lake's single writer).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/lsn.h"
#include "common/result.h"

namespace migsbyu::lake {

inline constexpr const char* kCommitRecordFormat = "migsbyu-lake-commit/1";

// One table's state in a record.
struct TableVersion {
  std::string metadata;  // "v9.metadata.json", under <table>/metadata/
  int64_t version = 0;
  int64_t snapshot_id = 0;
  int64_t sequence_number = 0;
  bool operator==(const TableVersion&) const = default;
};

struct CommitRecord {
  uint64_t lake_version = 0;  // the manifest version whose state the tables hold
  Lsn end_lsn;
  Lsn commit_lsn;
  int64_t commit_time_us = 0;
  int64_t written_at_us = 0;
  std::map<std::string, TableVersion> tables;  // "<namespace>.<table>"
  bool operator==(const CommitRecord&) const = default;
};

std::string CommitRecordToJson(const CommitRecord& record);
// kCorruption naming `origin` when the text is no complete record.
Result<CommitRecord> CommitRecordFromJson(const std::string& text, const std::string& origin);

std::string CommitRecordDir(const std::string& lake_dir);
std::string CommitRecordPath(const std::string& lake_dir, uint64_t lake_version);
// Writes `record` with the protocol above; kAlreadyExists when its version exists.
Status WriteCommitRecord(const std::string& lake_dir, const CommitRecord& record);
// Versions of the records present (parsed or not), ascending.
std::vector<uint64_t> ListCommitRecords(const std::string& lake_dir);
Result<CommitRecord> LoadCommitRecord(const std::string& lake_dir, uint64_t lake_version);
// The highest-numbered record that parses; nullopt when there is none.
Result<std::optional<CommitRecord>> LoadLatestCommitRecord(const std::string& lake_dir);

// Snapshot thinning: of records written at `written_at_us` (any order), the indexes of those to
// keep at `now_us`: the newest one always, and, by age, the newest record of each second for the
// last minute, of each minute for the last hour, of each hour for the last day, of each day up to
// `retention_us`; none older than that. Ascending.
std::vector<size_t> RecordsToKeep(const std::vector<int64_t>& written_at_us, int64_t now_us,
                                  int64_t retention_us);

}  // namespace migsbyu::lake
