#include "lake/iceberg_history.h"

#include <map>

#include "lake/iceberg/table.h"

namespace migsbyu::lake {
namespace {

int64_t SummaryCount(const iceberg::Snapshot& s, const char* key) {
  auto it = s.summary.find(key);
  if (it == s.summary.end()) return 0;
  try {
    return std::stoll(it->second);
  } catch (...) {
    return 0;  // a summary written by another tool; counts are advisory
  }
}

// The metadata of the table a record names as "<namespace>.<table>"; nullopt when it cannot be
// read (a table being republished, a name no directory may have).
std::optional<iceberg::TableMetadata> LoadTable(const std::string& lake_dir,
                                                const std::string& qualified) {
  size_t dot = qualified.find('.');
  if (dot == std::string::npos) return std::nullopt;
  auto dir = iceberg::TableDirectory(lake_dir, qualified.substr(0, dot), qualified.substr(dot + 1));
  if (!dir.ok()) return std::nullopt;
  auto table = iceberg::Table::Open(*dir);
  if (!table.ok()) return std::nullopt;
  return table->metadata();
}

// The change of one table from snapshot `from` (exclusive; nullopt: the table's beginning) to
// `to`, walking parent links back from `to`.
TableChange ChangeOf(const std::string& table, const iceberg::TableMetadata* metadata,
                     std::optional<int64_t> from, int64_t to) {
  TableChange change;
  change.table = table;
  change.snapshot_id = to;
  const iceberg::Snapshot* s = metadata ? metadata->FindSnapshot(to) : nullptr;
  if (!s) {
    change.complete = false;
    return change;
  }
  change.operation = s->summary.count("operation") ? s->summary.at("operation") : "";
  change.rows = SummaryCount(*s, "total-records") - SummaryCount(*s, "total-position-deletes");
  // Bounded by the table's snapshots: a parent link never repeats a snapshot in valid metadata.
  for (size_t steps = 0; s && steps <= metadata->snapshots.size(); ++steps) {
    if (from && s->snapshot_id == *from) return change;
    if (s->summary.count("operation") && s->summary.at("operation") != "replace") {
      change.added_rows += SummaryCount(*s, "added-records");
      change.deleted_rows +=
          SummaryCount(*s, "added-position-deletes") + SummaryCount(*s, "deleted-records");
    }
    if (!s->parent_snapshot_id) {
      change.complete = !from;  // reached the beginning: complete unless `from` was expected
      return change;
    }
    s = metadata->FindSnapshot(*s->parent_snapshot_id);
  }
  change.complete = false;  // an expired snapshot broke the chain
  return change;
}

}  // namespace

Result<std::vector<IcebergPoint>> ListIcebergPoints(const std::string& lake_dir) {
  std::vector<IcebergPoint> points;
  std::map<std::string, std::optional<iceberg::TableMetadata>> tables;
  for (uint64_t version : ListCommitRecords(lake_dir)) {
    auto record = LoadCommitRecord(lake_dir, version);
    if (!record.ok()) continue;  // thinned meanwhile, or a damaged record: not a point
    IcebergPoint point;
    point.record = std::move(*record);
    for (const auto& [name, state] : point.record.tables) {
      std::optional<int64_t> from;
      if (!points.empty()) {
        const auto& before = points.back().record.tables;
        auto it = before.find(name);
        if (it != before.end()) from = it->second.snapshot_id;
      }
      if (from == state.snapshot_id) continue;
      auto [it, inserted] = tables.try_emplace(name);
      if (inserted) it->second = LoadTable(lake_dir, name);
      point.changes.push_back(
          ChangeOf(name, it->second ? &*it->second : nullptr, from, state.snapshot_id));
    }
    points.push_back(std::move(point));
  }
  return points;
}

Result<std::optional<CommitRecord>> FindRecordOfSnapshot(const std::string& lake_dir,
                                                         int64_t snapshot_id) {
  for (uint64_t version : ListCommitRecords(lake_dir)) {
    auto record = LoadCommitRecord(lake_dir, version);
    if (!record.ok()) continue;
    for (const auto& [name, state] : record->tables) {
      if (state.snapshot_id == snapshot_id) return std::optional<CommitRecord>(std::move(*record));
    }
  }
  return std::optional<CommitRecord>();
}

}  // namespace migsbyu::lake
