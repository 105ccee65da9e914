#include "lake/commit_record.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "lake/iceberg/files.h"

namespace migsbyu::lake {
namespace fs = std::filesystem;
using nlohmann::json;

std::string CommitRecordToJson(const CommitRecord& r) {
  json tables = json::object();
  for (const auto& [name, t] : r.tables) {
    tables[name] = {{"metadata", t.metadata},
                    {"version", t.version},
                    {"snapshot-id", t.snapshot_id},
                    {"sequence-number", t.sequence_number}};
  }
  json j = {{"format", kCommitRecordFormat},
            {"lake_version", r.lake_version},
            {"end_lsn", r.end_lsn.value()},
            {"end_lsn_text", r.end_lsn.ToString()},
            {"commit_lsn", r.commit_lsn.value()},
            {"commit_lsn_text", r.commit_lsn.ToString()},
            {"commit_time_us", r.commit_time_us},
            {"written_at_us", r.written_at_us},
            {"tables", tables}};
  return j.dump(1);
}

Result<CommitRecord> CommitRecordFromJson(const std::string& text, const std::string& origin) {
  try {
    json j = json::parse(text);
    if (j.at("format").get<std::string>() != kCommitRecordFormat) {
      return Error::Corruption("lake commit record " + origin + ": unknown format");
    }
    CommitRecord r;
    r.lake_version = j.at("lake_version").get<uint64_t>();
    r.end_lsn = Lsn(j.at("end_lsn").get<uint64_t>());
    r.commit_lsn = Lsn(j.at("commit_lsn").get<uint64_t>());
    r.commit_time_us = j.at("commit_time_us").get<int64_t>();
    r.written_at_us = j.at("written_at_us").get<int64_t>();
    for (const auto& [name, t] : j.at("tables").items()) {
      r.tables[name] = {t.at("metadata").get<std::string>(), t.at("version").get<int64_t>(),
                        t.at("snapshot-id").get<int64_t>(), t.at("sequence-number").get<int64_t>()};
    }
    return r;
  } catch (const std::exception& e) {
    return Error::Corruption("lake commit record " + origin + " does not parse: " + e.what());
  }
}

std::string CommitRecordDir(const std::string& lake_dir) {
  return (fs::path(lake_dir) / "_lake" / "commits").string();
}

std::string CommitRecordPath(const std::string& lake_dir, uint64_t lake_version) {
  char name[40];
  std::snprintf(name, sizeof name, "%020llu.json", static_cast<unsigned long long>(lake_version));
  return CommitRecordDir(lake_dir) + "/" + name;
}

Status WriteCommitRecord(const std::string& lake_dir, const CommitRecord& record) {
  const std::string dir = CommitRecordDir(lake_dir);
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec) return Error::Internal("cannot create " + dir + ": " + ec.message());
    MIGSBYU_TRY(iceberg::SyncPath((fs::path(lake_dir) / "_lake").string()));
    MIGSBYU_TRY(iceberg::SyncPath(lake_dir));
  }
  const std::string target = CommitRecordPath(lake_dir, record.lake_version);
  const std::string tmp = dir + "/.tmp-" + iceberg::NewUuid();
  MIGSBYU_TRY(iceberg::WriteNewFile(tmp, CommitRecordToJson(record)));
  Status linked = iceberg::LinkExclusive(tmp, target);
  (void)iceberg::RemoveFile(tmp);
  MIGSBYU_TRY(linked);
  return iceberg::SyncPath(dir);
}

std::vector<uint64_t> ListCommitRecords(const std::string& lake_dir) {
  std::vector<uint64_t> versions;
  for (const auto& name : iceberg::ListFiles(CommitRecordDir(lake_dir))) {
    if (name.size() != 25 || !name.ends_with(".json")) continue;
    std::string digits = name.substr(0, 20);
    if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    versions.push_back(std::stoull(digits));
  }
  std::sort(versions.begin(), versions.end());
  return versions;
}

Result<CommitRecord> LoadCommitRecord(const std::string& lake_dir, uint64_t lake_version) {
  const std::string path = CommitRecordPath(lake_dir, lake_version);
  MIGSBYU_ASSIGN(std::string text, iceberg::ReadWholeFile(path));
  return CommitRecordFromJson(text, path);
}

Result<std::optional<CommitRecord>> LoadLatestCommitRecord(const std::string& lake_dir) {
  auto versions = ListCommitRecords(lake_dir);
  for (auto v = versions.rbegin(); v != versions.rend(); ++v) {
    auto r = LoadCommitRecord(lake_dir, *v);
    if (r.ok()) return std::optional<CommitRecord>(std::move(*r));
  }
  return std::optional<CommitRecord>();
}

std::vector<size_t> RecordsToKeep(const std::vector<int64_t>& written_at_us, int64_t now_us,
                                  int64_t retention_us) {
  constexpr int64_t kSecond = 1000000, kMinute = 60 * kSecond, kHour = 60 * kMinute,
                    kDay = 24 * kHour;
  // (age limit, bucket width): a record of age < limit is kept if it is the newest of its bucket.
  const std::pair<int64_t, int64_t> tiers[] = {
      {kMinute, kSecond}, {kHour, kMinute}, {kDay, kHour}, {retention_us, kDay}};
  std::map<std::pair<int, int64_t>, size_t> newest;  // (tier, bucket) -> index
  std::optional<size_t> latest;
  for (size_t i = 0; i < written_at_us.size(); ++i) {
    const int64_t t = written_at_us[i];
    if (!latest || t > written_at_us[*latest]) latest = i;
    const int64_t age = now_us - t;
    for (int tier = 0; tier < 4; ++tier) {
      if (age >= tiers[tier].first) continue;
      auto key = std::make_pair(tier, t / tiers[tier].second);
      auto it = newest.find(key);
      if (it == newest.end() || t > written_at_us[it->second]) newest[key] = i;
      break;
    }
  }
  std::set<size_t> keep;
  if (latest) keep.insert(*latest);
  for (const auto& [bucket, i] : newest) keep.insert(i);
  return {keep.begin(), keep.end()};
}

}  // namespace migsbyu::lake
