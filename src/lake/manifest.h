// The lake's on-disk layout and its commit log (owner of the format; docs/LAKE.md explains it
// for readers who do not use this code).
//
//   <lake>/_manifests/<version, 20 digits>.json   one per commit, never modified
//   <lake>/<dataset>/part-<version, 8 digits>-<seq, 4 digits>.parquet   immutable data files
//
// A manifest lists, for every dataset, the data files that make up the lake at that version,
// plus the commit position: end_lsn (the PostgreSQL LSN up to which the lake holds every
// change), the commit LSN and time of the last transaction, per captured table the watermark
// (commit_lsn, position) of its last stored change, and the next surrogate key per entity.
// JSON shape (all LSNs also as numbers, "*_text" in PostgreSQL's X/Y form):
//   {"format":"migsbyu-lake/1","version":7,"end_lsn":123,"end_lsn_text":"0/7B",
//    "commit_lsn":120,"commit_time_us":...,"written_at_us":...,
//    "datasets":{"students_changes":[{"path":"students_changes/part-00000007-0000.parquet",
//                                     "rows":3}], ...},
//    "watermarks":{"students":{"commit_lsn":120,"position":2}, ...},
//    "next_keys":{"student":4, ...},
//    "caught_up":{"professors":118}, "derived":{"takes":{"commit_lsn":120,"position":1}, ...},
//    "partition_watermarks":{"students":{"0":{"commit_lsn":120,"position":2},"1":{...}}},
//    "dimension_keys":{"rooms":["building","number"]},
//    "snapshot_progress":"{...}"}
// "dimension_keys" lists, for each captured table outside the portal's five that has a dimension
// (<table>_dim), its primary key columns: what a rebuild and a restart key its versions by (the
// change log does not record which columns form the key). Absent when there is none.
// "snapshot_progress" (absent when empty) is where an incremental snapshot stands, written in
// the same commit as the chunk that got it there (docs/CDC.md "Incremental snapshots").
// "caught_up" and "derived" exist only in a lake written by several processes (docs/LAKE.md
// "Several writers"): caught_up[t] = L says the lake holds every change of table t whose commit
// LSN is <= L (claimed by t's owner when it had read its topic to the end, for an idle table
// whose watermark stays behind); derived[t] is the last change of t that the enrollment fact was
// derived from. "partition_watermarks" exists only for tables fed from Kafka: per partition of
// the table's topic, the (commit_lsn, position) of the last change stored from it; the table's
// watermark is then the greatest of them (partitions are not ordered with each other, so a
// change below the table's watermark may still be new). A lake without them (written before)
// seeds a table's first partition mark from its watermark.
//
// Commit protocol: data files are written (and fsynced) first, under names no manifest lists
// yet; then the manifest is written to `_manifests/.tmp-<version>`, fsynced, renamed to its
// final name and the directory fsynced. The rename is the commit. The latest manifest is the
// highest-numbered one that parses; a torn or partial one (only possible as a .tmp file, or a
// damaged file) is ignored. Files that no retained manifest lists are garbage.
//
// Several writers: each writer owns some datasets (a table's change log and dimension, or the
// fact), and commits under <lake>/_locks/commit.lock by reading the latest manifest, replacing
// only what it owns (MergeOwned) and writing version + 1. Readers need no lock.
//
// Threading: plain values and functions; callers serialize writers of one lake directory (the
// commit lock, or a single writer).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/lsn.h"
#include "common/result.h"

namespace migsbyu::lake {

inline constexpr const char* kManifestFormat = "migsbyu-lake/1";
inline constexpr const char* kManifestDir = "_manifests";
// The row_effective_end of a current dimension row: 9999-12-31 00:00:00+00, in µs.
inline constexpr int64_t kEndOfTimeUs = 253402214400000000LL;

struct DataFile {
  std::string path;  // relative to the lake directory
  uint64_t rows = 0;
  bool operator==(const DataFile&) const = default;
};

struct Watermark {
  uint64_t commit_lsn = 0;
  uint64_t position = 0;
  auto operator<=>(const Watermark&) const = default;
};

struct Manifest {
  uint64_t version = 0;
  Lsn end_lsn;
  Lsn commit_lsn;
  int64_t commit_time_us = 0;
  int64_t written_at_us = 0;
  std::map<std::string, std::vector<DataFile>> datasets;
  std::map<std::string, Watermark> watermarks;
  std::map<std::string, int64_t> next_keys;
  std::map<std::string, uint64_t> caught_up;  // table -> commit LSN (several writers only)
  std::map<std::string, Watermark> derived;   // table -> last change the fact was derived from
  // table -> Kafka partition -> last change stored from that partition (Kafka-fed tables only)
  std::map<std::string, std::map<int32_t, Watermark>> partition_watermarks;
  // table -> its primary key columns, for generic dimensions (catalog.h CapturedDimension).
  std::map<std::string, std::vector<std::string>> dimension_keys;
  // The capture's incremental snapshot progress, committed with the chunk it follows (opaque
  // here, owned by cdc/incremental.h); empty when none is in progress.
  std::string snapshot_progress;

  // Rows of one dataset (0 when absent).
  uint64_t Rows(const std::string& dataset) const;
  // The files of one dataset (empty when absent).
  const std::vector<DataFile>& Files(const std::string& dataset) const;
};

// What one writer of a shared lake owns: it alone changes these datasets (their file lists are
// replaced whole), these tables' watermarks (table and partition), caught_up claims and
// dimension keys, these entities' next keys, and, for the deriver, the derived marks.
struct Ownership {
  std::set<std::string> datasets;
  std::set<std::string> tables;
  std::set<std::string> entities;
  bool deriver = false;
};

// `latest` with the parts `owned` names taken from `mine`; end_lsn, commit_lsn and
// commit_time_us are the maxima of both. The version is left to the caller.
Manifest MergeOwned(const Manifest& latest, const Manifest& mine, const Ownership& owned);

std::string ManifestToJson(const Manifest& manifest);
// Fails with kCorruption naming `origin` when the text is not a complete manifest.
Result<Manifest> ManifestFromJson(const std::string& text, const std::string& origin);

// Writes manifest `m` under `lake_dir` with the commit protocol above (atomic and durable).
// Fails with kAlreadyExists when that version exists.
Status WriteManifest(const std::string& lake_dir, const Manifest& m);

// Versions of the manifests present (parsed or not), ascending.
std::vector<uint64_t> ListManifestVersions(const std::string& lake_dir);
std::string ManifestPath(const std::string& lake_dir, uint64_t version);

// The highest-numbered manifest that parses, or nullopt for an empty lake.
Result<std::optional<Manifest>> LoadLatestManifest(const std::string& lake_dir);
Result<Manifest> LoadManifest(const std::string& lake_dir, uint64_t version);

// fsync of a file or directory; kInternal naming the path on failure.
Status SyncPath(const std::string& path);

}  // namespace migsbyu::lake
