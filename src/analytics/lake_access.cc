#include "analytics/lake_access.h"

#include <algorithm>

#include "analytics/tables.h"

namespace migsbyu::analytics {
namespace {

LakeCommit ToCommit(const lake::CommitPosition& position) {
  LakeCommit commit;
  commit.version = position.version;
  commit.end_lsn = position.end_lsn;
  if (position.commit_time_us != 0) commit.commit_time = FromMicros(position.commit_time_us);
  return commit;
}

class LakeReadAccess : public LakeAccess {
 public:
  explicit LakeReadAccess(std::shared_ptr<lake::Lake> lake) : lake_(std::move(lake)) {}

  Status Read(const std::function<Status(duck::Connection&)>& read) override {
    MIGSBYU_ASSIGN(auto conn, lake_->Connect());
    return read(conn.connection);
  }

  LakeCommit Latest() override { return ToCommit(lake_->Position()); }

  std::optional<LakeCommit> WaitForCommit(uint64_t after_version,
                                          std::chrono::milliseconds timeout) override {
    lake::CommitPosition position = lake_->WaitForCommit(after_version, timeout);
    if (position.version <= after_version) return std::nullopt;
    return ToCommit(position);
  }

  Result<PinnedViews> PinViews() override {
    std::shared_ptr<const lake::Manifest> snapshot = lake_->Snapshot();
    PinnedViews pinned;
    pinned.version = snapshot->version;
    pinned.views = lake::Lake::ViewQueries(lake_->dir(), *snapshot);
    pinned.files = lake::Lake::FilePaths(lake_->dir(), *snapshot);
    pinned.pin = std::move(snapshot);
    return pinned;
  }

  std::optional<std::map<std::string, int64_t>> RowCounts() override {
    // The manifest counts rows per dataset file set; a dimension's versions are its dataset's
    // rows (its closes dataset only amends them), so contract names are taken as they are.
    std::map<std::string, int64_t> counts;
    for (const auto& [name, rows] : lake_->Counts()) {
      bool contract = FindDimensionByView(name) || name == "course_enrollment_fact" ||
                      name.ends_with("_changes");
      if (contract) counts[name] = static_cast<int64_t>(rows);
    }
    return counts;
  }

  Result<std::vector<lake::IcebergPoint>> IcebergPoints() override {
    return lake::ListIcebergPoints(lake_->dir());
  }

  Result<std::optional<lake::CommitRecord>> RecordOfSnapshot(int64_t snapshot_id) override {
    return lake::FindRecordOfSnapshot(lake_->dir(), snapshot_id);
  }

 private:
  std::shared_ptr<lake::Lake> lake_;
};

}  // namespace

std::vector<std::string> ChangedViews(const PinnedViews& before, const PinnedViews& after) {
  std::map<std::string, std::string> was(before.views.begin(), before.views.end());
  std::map<std::string, std::string> is(after.views.begin(), after.views.end());
  std::vector<std::string> changed;
  for (const auto& [name, definition] : is) {
    auto it = was.find(name);
    if (it == was.end() || it->second != definition) changed.push_back(name);
  }
  for (const auto& [name, definition] : was) {
    if (!is.count(name)) changed.push_back(name);
  }
  std::sort(changed.begin(), changed.end());
  return changed;
}

std::unique_ptr<LakeAccess> AccessLake(std::shared_ptr<lake::Lake> lake) {
  return std::make_unique<LakeReadAccess>(std::move(lake));
}

}  // namespace migsbyu::analytics
