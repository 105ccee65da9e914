#include "lake/manifest.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace migsbyu::lake {
namespace fs = std::filesystem;
using nlohmann::json;

uint64_t Manifest::Rows(const std::string& dataset) const {
  uint64_t rows = 0;
  for (const auto& f : Files(dataset)) rows += f.rows;
  return rows;
}

const std::vector<DataFile>& Manifest::Files(const std::string& dataset) const {
  static const std::vector<DataFile> kNone;
  auto it = datasets.find(dataset);
  return it == datasets.end() ? kNone : it->second;
}

Manifest MergeOwned(const Manifest& latest, const Manifest& mine, const Ownership& owned) {
  Manifest merged = latest;
  // Replaces merged's entry for `key` by mine's, or removes it when mine has none.
  auto take = [](auto& to, const auto& from, const std::string& key) {
    auto it = from.find(key);
    if (it == from.end()) {
      to.erase(key);
    } else {
      to[key] = it->second;
    }
  };
  for (const auto& d : owned.datasets) take(merged.datasets, mine.datasets, d);
  for (const auto& t : owned.tables) {
    take(merged.watermarks, mine.watermarks, t);
    take(merged.caught_up, mine.caught_up, t);
    take(merged.partition_watermarks, mine.partition_watermarks, t);
    take(merged.dimension_keys, mine.dimension_keys, t);
  }
  for (const auto& e : owned.entities) take(merged.next_keys, mine.next_keys, e);
  if (owned.deriver) merged.derived = mine.derived;
  merged.snapshot_progress = mine.snapshot_progress;
  merged.end_lsn = std::max(latest.end_lsn, mine.end_lsn);
  merged.commit_lsn = std::max(latest.commit_lsn, mine.commit_lsn);
  merged.commit_time_us = std::max(latest.commit_time_us, mine.commit_time_us);
  return merged;
}

std::string ManifestToJson(const Manifest& m) {
  json j;
  j["format"] = kManifestFormat;
  j["version"] = m.version;
  j["end_lsn"] = m.end_lsn.value();
  j["end_lsn_text"] = m.end_lsn.ToString();
  j["commit_lsn"] = m.commit_lsn.value();
  j["commit_lsn_text"] = m.commit_lsn.ToString();
  j["commit_time_us"] = m.commit_time_us;
  j["written_at_us"] = m.written_at_us;
  json datasets = json::object();
  for (const auto& [name, files] : m.datasets) {
    json list = json::array();
    for (const auto& f : files) list.push_back({{"path", f.path}, {"rows", f.rows}});
    datasets[name] = list;
  }
  j["datasets"] = datasets;
  json marks = json::object();
  for (const auto& [table, w] : m.watermarks) {
    marks[table] = {{"commit_lsn", w.commit_lsn}, {"position", w.position}};
  }
  j["watermarks"] = marks;
  j["next_keys"] = m.next_keys;
  if (!m.caught_up.empty()) j["caught_up"] = m.caught_up;
  if (!m.derived.empty()) {
    json derived = json::object();
    for (const auto& [table, w] : m.derived) {
      derived[table] = {{"commit_lsn", w.commit_lsn}, {"position", w.position}};
    }
    j["derived"] = derived;
  }
  if (!m.partition_watermarks.empty()) {
    json tables = json::object();
    for (const auto& [table, parts] : m.partition_watermarks) {
      json marks = json::object();
      for (const auto& [p, w] : parts) {
        marks[std::to_string(p)] = {{"commit_lsn", w.commit_lsn}, {"position", w.position}};
      }
      tables[table] = marks;
    }
    j["partition_watermarks"] = tables;
  }
  if (!m.dimension_keys.empty()) j["dimension_keys"] = m.dimension_keys;
  if (!m.snapshot_progress.empty()) j["snapshot_progress"] = m.snapshot_progress;
  return j.dump(1);
}

Result<Manifest> ManifestFromJson(const std::string& text, const std::string& origin) {
  try {
    json j = json::parse(text);
    if (j.at("format").get<std::string>() != kManifestFormat) {
      return Error::Corruption("lake manifest " + origin + ": unknown format");
    }
    Manifest m;
    m.version = j.at("version").get<uint64_t>();
    m.end_lsn = Lsn(j.at("end_lsn").get<uint64_t>());
    m.commit_lsn = Lsn(j.at("commit_lsn").get<uint64_t>());
    m.commit_time_us = j.at("commit_time_us").get<int64_t>();
    m.written_at_us = j.value("written_at_us", int64_t{0});
    for (const auto& [name, list] : j.at("datasets").items()) {
      auto& files = m.datasets[name];
      for (const auto& f : list) {
        files.push_back({f.at("path").get<std::string>(), f.at("rows").get<uint64_t>()});
      }
    }
    for (const auto& [table, w] : j.at("watermarks").items()) {
      m.watermarks[table] = {w.at("commit_lsn").get<uint64_t>(), w.at("position").get<uint64_t>()};
    }
    m.next_keys = j.at("next_keys").get<std::map<std::string, int64_t>>();
    if (j.contains("caught_up")) {
      m.caught_up = j.at("caught_up").get<std::map<std::string, uint64_t>>();
    }
    if (j.contains("derived")) {
      for (const auto& [table, w] : j.at("derived").items()) {
        m.derived[table] = {w.at("commit_lsn").get<uint64_t>(), w.at("position").get<uint64_t>()};
      }
    }
    if (j.contains("partition_watermarks")) {
      for (const auto& [table, parts] : j.at("partition_watermarks").items()) {
        auto& marks = m.partition_watermarks[table];
        for (const auto& [p, w] : parts.items()) {
          marks[static_cast<int32_t>(std::stol(p))] = {w.at("commit_lsn").get<uint64_t>(),
                                                       w.at("position").get<uint64_t>()};
        }
      }
    }
    if (j.contains("dimension_keys")) {
      m.dimension_keys =
          j.at("dimension_keys").get<std::map<std::string, std::vector<std::string>>>();
    }
    m.snapshot_progress = j.value("snapshot_progress", std::string());
    return m;
  } catch (const std::exception& e) {
    return Error::Corruption("lake manifest " + origin + " does not parse: " + e.what());
  }
}

Status SyncPath(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error::Internal("cannot open " + path + " to fsync: " + strerror(errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return Error::Internal("fsync of " + path + " failed: " + strerror(err));
  return OkStatus();
}

std::string ManifestPath(const std::string& lake_dir, uint64_t version) {
  char name[32];
  snprintf(name, sizeof name, "%020llu.json", static_cast<unsigned long long>(version));
  return (fs::path(lake_dir) / kManifestDir / name).string();
}

Status WriteManifest(const std::string& lake_dir, const Manifest& m) {
  fs::path dir = fs::path(lake_dir) / kManifestDir;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error::Internal("cannot create " + dir.string() + ": " + ec.message());
  std::string final_path = ManifestPath(lake_dir, m.version);
  if (fs::exists(final_path)) {
    return Error::AlreadyExists("lake manifest version " + std::to_string(m.version) +
                                " already exists in " + lake_dir);
  }
  std::string tmp = (dir / (".tmp-" + std::to_string(m.version))).string();
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << ManifestToJson(m);
    out.flush();
    if (!out) return Error::Internal("cannot write " + tmp);
  }
  MIGSBYU_TRY(SyncPath(tmp));
  if (::rename(tmp.c_str(), final_path.c_str()) != 0) {
    return Error::Internal("cannot rename " + tmp + " to " + final_path + ": " + strerror(errno));
  }
  return SyncPath(dir.string());
}

std::vector<uint64_t> ListManifestVersions(const std::string& lake_dir) {
  std::vector<uint64_t> versions;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fs::path(lake_dir) / kManifestDir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.size() != 25 || name.substr(20) != ".json") continue;
    if (!std::all_of(name.begin(), name.begin() + 20, ::isdigit)) continue;
    versions.push_back(std::stoull(name.substr(0, 20)));
  }
  std::sort(versions.begin(), versions.end());
  return versions;
}

Result<Manifest> LoadManifest(const std::string& lake_dir, uint64_t version) {
  std::string path = ManifestPath(lake_dir, version);
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::NotFound("lake manifest " + path + " not found");
  std::stringstream text;
  text << in.rdbuf();
  MIGSBYU_ASSIGN(Manifest m, ManifestFromJson(text.str(), path));
  if (m.version != version) {
    return Error::Corruption("lake manifest " + path + " says version " +
                             std::to_string(m.version));
  }
  return m;
}

Result<std::optional<Manifest>> LoadLatestManifest(const std::string& lake_dir) {
  auto versions = ListManifestVersions(lake_dir);
  for (auto it = versions.rbegin(); it != versions.rend(); ++it) {
    auto m = LoadManifest(lake_dir, *it);
    if (m.ok()) return std::optional<Manifest>(std::move(*m));
    if (m.error().code() != ErrorCode::kCorruption) return m.error();
  }
  return std::optional<Manifest>();
}

}  // namespace migsbyu::lake
