#include "lake/iceberg/table.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <limits>

#include "common/log.h"
#include "lake/iceberg/files.h"

namespace migsbyu::iceberg {
namespace {

namespace fs = std::filesystem;

constexpr const char* kHintFile = "version-hint.text";
// Manifests at least this large are never merged (Iceberg's commit.manifest.target-size-bytes).
constexpr int64_t kTargetManifestBytes = 8 << 20;

bool ValidName(const std::string& name) {
  if (name.empty() || name.size() > 128) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || (c == '-' && i > 0);
    if (!ok) return false;
  }
  return true;
}

// "v17.metadata.json" -> 17.
std::optional<int64_t> VersionOf(const std::string& name) {
  constexpr std::string_view kSuffix = ".metadata.json";
  if (name.size() <= 1 + kSuffix.size() || name[0] != 'v' ||
      name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0) {
    return std::nullopt;
  }
  std::string_view digits(name.data() + 1, name.size() - 1 - kSuffix.size());
  int64_t v = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || end != digits.data() + digits.size() || v < 1) return std::nullopt;
  return v;
}

struct Loaded {
  TableMetadata metadata;
  int64_t version = 0;
  int64_t highest = 0;
};

std::string VersionFile(const std::string& metadata_dir, int64_t v) {
  return metadata_dir + "/v" + std::to_string(v) + ".metadata.json";
}

Result<TableMetadata> LoadVersion(const std::string& metadata_dir, int64_t v) {
  std::string path = VersionFile(metadata_dir, v);
  MIGSBYU_ASSIGN(std::string text, ReadWholeFile(path));
  return MetadataFromJson(text, path);
}

// The highest version that parses, trying `candidates` from the highest down.
Result<Loaded> LoadHighest(const std::string& metadata_dir, std::vector<int64_t> candidates,
                           int64_t highest) {
  std::sort(candidates.rbegin(), candidates.rend());
  std::optional<Error> last_error;
  for (int64_t v : candidates) {
    auto m = LoadVersion(metadata_dir, v);
    if (m.ok()) return Loaded{std::move(m).value(), v, highest};
    MIGSBYU_LOG_WARN("iceberg: skipping metadata version {}: {}", v, m.error().message());
    last_error = m.error();
  }
  if (last_error) return *last_error;
  return Error::NotFound("no Iceberg table metadata in " + metadata_dir);
}

Result<Loaded> LoadLatest(const std::string& dir) {
  std::string metadata_dir = dir + "/metadata";
  // The hint first, then every newer version that exists (a commit may have stopped before
  // updating the hint); the directory listing when the hint is missing, bad, or names nothing.
  std::optional<int64_t> hint;
  if (auto text = ReadWholeFile(metadata_dir + "/" + kHintFile); text.ok()) {
    std::string_view t = *text;
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' '))
      t.remove_suffix(1);
    int64_t v = 0;
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (ec == std::errc() && end == t.data() + t.size() && v >= 1) hint = v;
  }
  if (hint && fs::exists(VersionFile(metadata_dir, *hint))) {
    std::vector<int64_t> newer = {*hint};
    while (fs::exists(VersionFile(metadata_dir, newer.back() + 1)))
      newer.push_back(newer.back() + 1);
    auto loaded = LoadHighest(metadata_dir, newer, newer.back());
    if (loaded.ok()) return loaded;
  }
  std::vector<int64_t> all;
  for (const auto& name : ListFiles(metadata_dir)) {
    if (auto v = VersionOf(name)) all.push_back(*v);
  }
  if (all.empty()) return Error::NotFound("no Iceberg table at " + dir);
  int64_t highest = *std::max_element(all.begin(), all.end());
  return LoadHighest(metadata_dir, std::move(all), highest);
}

bool IsDelete(const DataFile& f) { return f.content != FileContent::kData; }

int64_t SummaryValue(const Snapshot* s, const char* key, bool* known) {
  if (!s) return 0;
  auto it = s->summary.find(key);
  int64_t v = 0;
  if (it == s->summary.end() ||
      std::from_chars(it->second.data(), it->second.data() + it->second.size(), v).ec !=
          std::errc()) {
    *known = false;
    return 0;
  }
  return v;
}

// Whether position delete file `d` may name any of `paths` (its referenced file, or the bounds
// of its file_path column; no information: yes).
bool MayReference(const DataFile& d, const std::set<std::string>& paths) {
  if (d.content != FileContent::kPositionDeletes) return !paths.empty();
  if (d.referenced_data_file) return paths.count(*d.referenced_data_file) > 0;
  auto lo = d.lower_bounds.find(kDeleteFilePathId), hi = d.upper_bounds.find(kDeleteFilePathId);
  if (lo == d.lower_bounds.end() || hi == d.upper_bounds.end()) return !paths.empty();
  auto it = paths.lower_bound(lo->second);
  return it != paths.end() && *it <= hi->second;
}

}  // namespace

Result<std::string> TableDirectory(const std::string& lake_root, const std::string& ns,
                                   const std::string& table) {
  if (!ValidName(ns) || !ValidName(table)) {
    return Error::InvalidArgument(
        "Iceberg namespace and table names must match "
        "[A-Za-z0-9_][A-Za-z0-9_-]*: '" +
        ns + "', '" + table + "'");
  }
  std::string root = lake_root;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  MIGSBYU_TRY(ValidateTableDirectory(root));
  return root + "/" + ns + "/" + table;
}

const char* OperationName(Operation op) {
  switch (op) {
    case Operation::kAppend:
      return "append";
    case Operation::kOverwrite:
      return "overwrite";
    case Operation::kDelete:
      return "delete";
    case Operation::kReplace:
      return "replace";
  }
  return "append";
}

// ---- opening ----

Table::Table(std::string dir, TableMetadata metadata, int64_t version, int64_t highest)
    : dir_(std::move(dir)), metadata_(std::move(metadata)), version_(version), highest_(highest) {}

std::string Table::MetadataDir() const { return dir_ + "/metadata"; }
std::string Table::DataDir() const { return dir_ + "/data"; }
std::string Table::VersionPath(int64_t version) const {
  return VersionFile(MetadataDir(), version);
}
std::string Table::MetadataFileUri(int64_t version) const { return FileUri(VersionPath(version)); }
std::string Table::NewDataFileUri() const {
  return FileUri(DataDir() + "/" + NewUuid() + ".parquet");
}
std::string Table::NewDeleteFileUri() const {
  return FileUri(DataDir() + "/" + NewUuid() + "-deletes.parquet");
}

Result<Table> Table::Create(const std::string& dir, Schema schema,
                            std::map<std::string, std::string> properties) {
  MIGSBYU_TRY(ValidateTableDirectory(dir));
  schema.schema_id = 0;
  MIGSBYU_TRY(ValidateSchema(schema));
  std::error_code ec;
  fs::create_directories(dir + "/metadata", ec);
  if (!ec) fs::create_directories(dir + "/data", ec);
  if (ec)
    return Error::Internal("cannot create table directories under " + dir + ": " + ec.message());
  if (LoadLatest(dir).ok()) return Error::AlreadyExists("an Iceberg table exists at " + dir);

  TableMetadata m;
  m.table_uuid = NewUuid();
  m.location = FileUri(dir);
  m.last_updated_ms = NowMs();
  m.last_column_id = schema.HighestFieldId();
  m.schemas = {std::move(schema)};
  m.properties = std::move(properties);
  MIGSBYU_TRY(ValidateMetadata(m, dir));
  Table table(dir, TableMetadata{}, 0, 0);
  // The new directories' entries, up to the lake root (the namespace may be new too).
  fs::path p = dir;
  for (int level = 0; level < 3 && p.has_relative_path(); ++level, p = p.parent_path()) {
    MIGSBYU_TRY(SyncPath(p.string()));
  }
  // Version 1 has no predecessor: CommitMetadata's metadata-log entry is for version_ >= 1.
  table.metadata_.last_updated_ms = m.last_updated_ms;
  auto committed = table.CommitMetadata(std::move(m), CommitOptions{});
  if (!committed.ok()) {
    if (committed.error().code() == ErrorCode::kAlreadyExists) {
      return Error::AlreadyExists("an Iceberg table exists at " + dir);
    }
    return committed.error();
  }
  return table;
}

Result<Table> Table::Open(const std::string& dir) {
  MIGSBYU_TRY(ValidateTableDirectory(dir));
  MIGSBYU_ASSIGN(Loaded loaded, LoadLatest(dir));
  return Table(dir, std::move(loaded.metadata), loaded.version, loaded.highest);
}

Status Table::Refresh() {
  MIGSBYU_ASSIGN(Loaded loaded, LoadLatest(dir_));
  if (!metadata_.table_uuid.empty() && loaded.metadata.table_uuid != metadata_.table_uuid) {
    return Error::Conflict("table at " + dir_ + " was replaced: uuid " +
                           loaded.metadata.table_uuid + " is not " + metadata_.table_uuid);
  }
  metadata_ = std::move(loaded.metadata);
  version_ = loaded.version;
  highest_ = loaded.highest;
  return OkStatus();
}

// ---- the commit point ----

Status Table::CommitMetadata(TableMetadata next, const CommitOptions& options) {
  auto step = [&](CommitStep s) { return options.after_step ? options.after_step(s) : OkStatus(); };
  int64_t v = highest_ + 1;
  if (version_ >= 1) {
    next.metadata_log.push_back(
        MetadataLogEntry{metadata_.last_updated_ms, MetadataFileUri(version_)});
  }
  MIGSBYU_TRY(ValidateMetadata(next, VersionPath(v)));
  std::string tmp =
      MetadataDir() + "/.v" + std::to_string(v) + ".metadata.json." + NewUuid() + ".tmp";
  MIGSBYU_TRY(WriteNewFile(tmp, MetadataToJson(next)));
  MIGSBYU_TRY(step(CommitStep::kMetadataWritten));
  Status linked = LinkExclusive(tmp, VersionPath(v));
  if (!linked.ok()) {
    (void)RemoveFile(tmp);
    if (linked.error().code() == ErrorCode::kAlreadyExists) {
      // Another writer took version v. Load what is there now, for the caller's retry.
      MIGSBYU_TRY(Refresh());
      if (highest_ < v) highest_ = v;
    }
    return linked;
  }
  // Committed. Failures past this point do not undo it, so they are logged, not returned: a
  // caller that saw an error would retry and store its change twice.
  metadata_ = std::move(next);
  version_ = highest_ = v;
  MIGSBYU_TRY(step(CommitStep::kMetadataLinked));
  if (auto s = RemoveFile(tmp); !s.ok()) MIGSBYU_LOG_WARN("iceberg: {}", s.error().message());
  if (auto s = SyncPath(MetadataDir()); !s.ok())
    MIGSBYU_LOG_WARN("iceberg: {}", s.error().message());
  MIGSBYU_TRY(step(CommitStep::kTemporaryRemoved));
  if (auto s = ReplaceFileAtomically(MetadataDir() + "/" + kHintFile, std::to_string(v)); !s.ok()) {
    MIGSBYU_LOG_WARN("iceberg: version hint of {} not updated: {}", dir_, s.error().message());
  }
  return step(CommitStep::kHintWritten);
}

// ---- manifests ----

Result<std::vector<ManifestFile>> Table::ReadManifestList(const Snapshot& snapshot) const {
  MIGSBYU_ASSIGN(std::string path, LocalPath(snapshot.manifest_list));
  MIGSBYU_ASSIGN(std::string bytes, ReadWholeFile(path));
  return DecodeManifestList(bytes, path);
}

Result<std::vector<ManifestEntry>> Table::ReadManifest(const ManifestFile& manifest) const {
  MIGSBYU_ASSIGN(std::string path, LocalPath(manifest.manifest_path));
  MIGSBYU_ASSIGN(std::string bytes, ReadWholeFile(path));
  return DecodeManifest(bytes, path, manifest);
}

Result<ManifestFile> Table::WriteManifest(const std::vector<ManifestEntry>& entries,
                                          ManifestContent content, const Schema& schema,
                                          int64_t snapshot_id, int64_t sequence_number) {
  MIGSBYU_ASSIGN(std::string bytes, EncodeManifest(entries, schema, content));
  std::string path = MetadataDir() + "/" + NewUuid() + "-m0.avro";
  MIGSBYU_TRY(WriteNewFile(path, bytes));
  ManifestFile m = SummarizeManifest(entries, content, sequence_number);
  m.manifest_path = FileUri(path);
  m.manifest_length = static_cast<int64_t>(bytes.size());
  m.added_snapshot_id = snapshot_id;
  m.sequence_number = sequence_number;
  return m;
}

// ---- commit ----

namespace {

// Files of each kind, as a snapshot summary counts them.
struct FileTally {
  int64_t data_files = 0, delete_files = 0, position_delete_files = 0, equality_delete_files = 0;
  int64_t records = 0, position_deletes = 0, equality_deletes = 0, size = 0;

  void Add(const DataFile& f) {
    size += f.file_size_in_bytes;
    switch (f.content) {
      case FileContent::kData:
        ++data_files;
        records += f.record_count;
        break;
      case FileContent::kPositionDeletes:
        ++delete_files;
        ++position_delete_files;
        position_deletes += f.record_count;
        break;
      case FileContent::kEqualityDeletes:
        ++delete_files;
        ++equality_delete_files;
        equality_deletes += f.record_count;
        break;
    }
  }
};

// The spec's summary metrics (Appendix F) of each count: added, removed and, where the spec has
// one, the total after the snapshot.
struct SummaryMetric {
  int64_t FileTally::*count;
  const char* added;
  const char* removed;
  const char* total;
};
constexpr SummaryMetric kSummaryMetrics[] = {
    {&FileTally::data_files, "added-data-files", "deleted-data-files", "total-data-files"},
    {&FileTally::delete_files, "added-delete-files", "removed-delete-files", "total-delete-files"},
    {&FileTally::position_delete_files, "added-position-delete-files",
     "removed-position-delete-files", nullptr},
    {&FileTally::equality_delete_files, "added-equality-delete-files",
     "removed-equality-delete-files", nullptr},
    {&FileTally::records, "added-records", "deleted-records", "total-records"},
    {&FileTally::size, "added-files-size", "removed-files-size", "total-files-size"},
    {&FileTally::position_deletes, "added-position-deletes", "removed-position-deletes",
     "total-position-deletes"},
    {&FileTally::equality_deletes, "added-equality-deletes", "removed-equality-deletes",
     "total-equality-deletes"},
};

// Checks what `update`'s operation allows and that its files belong to the table at `location`.
Status ValidateUpdate(const SnapshotUpdate& update, const std::string& location) {
  bool adds_data = false, adds_deletes = false;
  std::set<std::string> added_paths;
  std::string prefix = location + "/";
  for (const auto& f : update.added_files) {
    if (f.file_path.rfind(prefix, 0) != 0) {
      return Error::InvalidArgument("file " + f.file_path + " is not under the table's location " +
                                    location);
    }
    if (!added_paths.insert(f.file_path).second) {
      return Error::InvalidArgument("file " + f.file_path + " is added twice");
    }
    if (f.record_count < 0 || f.file_size_in_bytes < 0) {
      return Error::InvalidArgument("file " + f.file_path + " has negative counts");
    }
    if ((f.content == FileContent::kEqualityDeletes) == f.equality_ids.empty()) {
      return Error::InvalidArgument(
          "file " + f.file_path + ": equality_ids are for equality delete files, which need them");
    }
    (IsDelete(f) ? adds_deletes : adds_data) = true;
  }
  for (const auto& path : update.removed_files) {
    if (added_paths.count(path)) {
      return Error::InvalidArgument("file " + path + " is both added and removed");
    }
  }
  bool removes = !update.removed_files.empty();
  switch (update.operation) {
    case Operation::kAppend:
      if (removes || adds_deletes || !adds_data) {
        return Error::InvalidArgument("an append adds data files and nothing else");
      }
      break;
    case Operation::kReplace:
      if (!removes) return Error::InvalidArgument("a replace removes files");
      break;
    case Operation::kDelete:
      if (adds_data || (!removes && !adds_deletes)) {
        return Error::InvalidArgument("a delete adds delete files or removes data files, no data");
      }
      break;
    case Operation::kOverwrite:
      if (!removes && update.added_files.empty()) {
        return Error::InvalidArgument("an overwrite changes something");
      }
      break;
  }
  for (const auto& [key, value] : update.summary) {
    if (key.find('.') == std::string::npos) {
      return Error::InvalidArgument(
          "summary key '" + key +
          "' must be namespaced (contain a '.'): plain keys are the spec's");
    }
  }
  return OkStatus();
}

}  // namespace

// One attempt's work over one base version: what the new snapshot lists.
struct Table::Attempt {
  std::vector<ManifestFile> manifests;
  std::vector<std::string> written;  // local paths of files written for this attempt only
  FileTally removed;
  std::set<std::string> removed_data_paths;
  std::set<std::string> live_deletes;  // delete files live in the base, after the removals
  int created = 0, kept = 0, replaced = 0;
};

Result<CommitResult> Table::Commit(const SnapshotUpdate& update, const CommitOptions& options) {
  MIGSBYU_TRY(ValidateUpdate(update, location()));
  if (!update.added_files.empty()) MIGSBYU_TRY(SyncPath(DataDir()));
  int64_t snapshot_id = RandomId();
  while (metadata_.FindSnapshot(snapshot_id)) snapshot_id = RandomId();

  // A copy: a retry reloads metadata_. Manifests may be written with an older schema than the
  // table's current one (a concurrent schema change): readers project by field id.
  const Schema schema = metadata_.CurrentSchema();
  // Manifests of the added files: written once, reused by every attempt (their entries inherit
  // the sequence number each attempt assigns).
  std::vector<ManifestEntry> added_data, added_deletes;
  FileTally added;
  for (const auto& f : update.added_files) {
    added.Add(f);
    (IsDelete(f) ? added_deletes : added_data)
        .push_back(ManifestEntry{EntryStatus::kAdded, snapshot_id, std::nullopt, std::nullopt, f});
  }
  std::vector<ManifestFile> new_manifests;
  for (auto* entries : {&added_data, &added_deletes}) {
    if (entries->empty()) continue;
    ManifestContent content =
        entries == &added_data ? ManifestContent::kData : ManifestContent::kDeletes;
    MIGSBYU_ASSIGN(ManifestFile m, WriteManifest(*entries, content, schema, snapshot_id, 0));
    new_manifests.push_back(std::move(m));
  }

  // The delete files live when the caller planned this change (the first attempt's base): a retry
  // must not remove data files that deletes committed since then may refer to.
  std::optional<std::set<std::string>> planned_deletes;
  for (int attempt = 1; attempt <= std::max(1, options.max_attempts); ++attempt) {
    const TableMetadata& base = metadata_;
    int64_t sequence = base.last_sequence_number + 1;
    Attempt a;
    for (const auto& m : new_manifests) {
      ManifestFile listed = m;
      listed.sequence_number = sequence;
      listed.min_sequence_number = sequence;
      a.manifests.push_back(listed);
      ++a.created;
    }
    MIGSBYU_TRY(CarryManifests(update, snapshot_id, sequence, schema, attempt, options, &a));
    if (!a.removed_data_paths.empty()) {
      if (!planned_deletes) {
        planned_deletes = a.live_deletes;
      } else {
        for (const auto& path : a.live_deletes) {
          if (planned_deletes->count(path)) continue;
          MIGSBYU_ASSIGN(bool refers, DeleteMayReferTo(path, a.removed_data_paths));
          if (refers) {
            return Error::Conflict(std::string(OperationName(update.operation)) +
                                   " conflicts with a concurrent commit: delete file " + path +
                                   " may refer to a removed data file");
          }
        }
      }
    }

    // The summary: this snapshot's changes and the totals after it.
    const Snapshot* parent = base.CurrentSnapshot();
    std::map<std::string, std::string> summary;
    summary["operation"] = OperationName(update.operation);
    bool totals_known = true;
    std::map<std::string, std::string> totals;
    for (const auto& m : kSummaryMetrics) {
      int64_t in = added.*m.count, out = a.removed.*m.count;
      if (in) summary[m.added] = std::to_string(in);
      if (out) summary[m.removed] = std::to_string(out);
      if (m.total)
        totals[m.total] = std::to_string(SummaryValue(parent, m.total, &totals_known) + in - out);
    }
    if (totals_known) summary.merge(totals);  // a parent without totals: none can be given
    summary["changed-partition-count"] =
        update.added_files.empty() && update.removed_files.empty() ? "0" : "1";
    summary["manifests-created"] = std::to_string(a.created);
    summary["manifests-kept"] = std::to_string(a.kept);
    summary["manifests-replaced"] = std::to_string(a.replaced);
    for (const auto& [key, value] : update.summary) summary[key] = value;

    // The manifest list, then the metadata.
    ManifestListHeader header{snapshot_id, base.current_snapshot_id, sequence};
    MIGSBYU_ASSIGN(std::string list_bytes, EncodeManifestList(a.manifests, header));
    std::string list_path = MetadataDir() + "/snap-" + std::to_string(snapshot_id) + "-" +
                            std::to_string(attempt) + "-" + NewUuid() + ".avro";
    MIGSBYU_TRY(WriteNewFile(list_path, list_bytes));
    a.written.push_back(list_path);
    MIGSBYU_TRY(SyncPath(MetadataDir()));
    if (options.after_step) MIGSBYU_TRY(options.after_step(CommitStep::kManifestsWritten));

    int64_t ts = std::max(options.now_ms ? options.now_ms : NowMs(), base.last_updated_ms);
    TableMetadata next = base;
    next.last_sequence_number = sequence;
    next.last_updated_ms = ts;
    next.snapshots.push_back(Snapshot{snapshot_id, base.current_snapshot_id, sequence, ts,
                                      FileUri(list_path), std::move(summary),
                                      base.current_schema_id});
    next.current_snapshot_id = snapshot_id;
    SnapshotRef& main = next.refs["main"];
    main.snapshot_id = snapshot_id;
    main.type = "branch";
    next.snapshot_log.push_back(SnapshotLogEntry{ts, snapshot_id});

    Status committed = CommitMetadata(std::move(next), options);
    if (committed.ok()) return CommitResult{version_, snapshot_id, attempt};
    if (committed.error().code() != ErrorCode::kAlreadyExists) return committed.error();
    // Lost the race for the version: this attempt's own files are garbage; try again on top.
    for (const auto& path : a.written) (void)RemoveFile(path);
    while (metadata_.FindSnapshot(snapshot_id)) snapshot_id = RandomId();
  }
  return Error::AlreadyExists("commit to " + dir_ + " lost the race for a new version " +
                              std::to_string(options.max_attempts) + " times");
}

Status Table::CarryManifests(const SnapshotUpdate& update, int64_t snapshot_id, int64_t sequence,
                             const Schema& schema, int attempt, const CommitOptions& options,
                             Attempt* a) {
  const Snapshot* parent = metadata_.CurrentSnapshot();
  std::vector<ManifestFile> base_manifests;
  if (parent) {
    MIGSBYU_ASSIGN(base_manifests, ReadManifestList(*parent));
  }
  std::set<std::string> still_removing = update.removed_files;
  std::set<std::string> still_required = update.required_files;
  // Only a change that removes or requires files needs the base's entries; an append carries
  // the base's manifests unread.
  bool read_entries = !update.removed_files.empty() || !update.required_files.empty();
  std::vector<ManifestFile> carried_data, carried_deletes;  // unchanged, candidates for merging
  for (const auto& m : base_manifests) {
    auto& carried = m.content == ManifestContent::kData ? carried_data : carried_deletes;
    if (!read_entries) {
      if (m.added_files_count + m.existing_files_count > 0) carried.push_back(m);
      continue;
    }
    MIGSBYU_ASSIGN(std::vector<ManifestEntry> entries, ReadManifest(m));
    bool touched = false;
    std::vector<ManifestEntry> rewritten;
    for (const auto& e : entries) {
      if (e.status == EntryStatus::kDeleted) {
        touched = true;  // dropped: an earlier snapshot's deletion
        continue;
      }
      const std::string& path = e.file.file_path;
      still_required.erase(path);
      ManifestEntry kept = e;
      kept.status = EntryStatus::kExisting;
      if (still_removing.erase(path)) {
        touched = true;
        kept.status = EntryStatus::kDeleted;
        kept.snapshot_id = snapshot_id;
        a->removed.Add(e.file);
        if (!IsDelete(e.file)) a->removed_data_paths.insert(path);
      } else if (IsDelete(e.file)) {
        a->live_deletes.insert(path);
      }
      rewritten.push_back(std::move(kept));
    }
    if (!touched) {
      carried.push_back(m);
      continue;
    }
    ++a->replaced;
    if (rewritten.empty()) continue;  // held only earlier deletions
    MIGSBYU_ASSIGN(ManifestFile out,
                   WriteManifest(rewritten, m.content, schema, snapshot_id, sequence));
    a->written.push_back(LocalPath(out.manifest_path).value());
    a->manifests.push_back(std::move(out));
    ++a->created;
  }
  if (!still_removing.empty() || !still_required.empty()) {
    const std::string& missing =
        !still_removing.empty() ? *still_removing.begin() : *still_required.begin();
    std::string op = OperationName(update.operation);
    if (attempt == 1) {
      return Error::InvalidArgument(op + " names file " + missing +
                                    ", which is not live in the table");
    }
    return Error::Conflict(op + " conflicts with a concurrent commit: file " + missing +
                           " is no longer live");
  }
  for (auto* carried : {&carried_data, &carried_deletes}) {
    ManifestContent content =
        carried == &carried_data ? ManifestContent::kData : ManifestContent::kDeletes;
    MIGSBYU_TRY(MergeManifests(*carried, content, snapshot_id, sequence, schema, options, a));
  }
  return OkStatus();
}

Status Table::MergeManifests(const std::vector<ManifestFile>& carried, ManifestContent content,
                             int64_t snapshot_id, int64_t sequence, const Schema& schema,
                             const CommitOptions& options, Attempt* a) {
  std::vector<const ManifestFile*> small;
  for (const auto& m : carried) {
    if (m.manifest_length < kTargetManifestBytes) small.push_back(&m);
  }
  bool merge = carried.size() > options.merge_manifests_after && small.size() >= 2;
  for (const auto& m : carried) {
    if (merge && m.manifest_length < kTargetManifestBytes) continue;
    a->manifests.push_back(m);
    ++a->kept;
  }
  if (!merge) return OkStatus();
  std::vector<ManifestEntry> merged;
  for (const ManifestFile* m : small) {
    MIGSBYU_ASSIGN(std::vector<ManifestEntry> entries, ReadManifest(*m));
    for (auto& e : entries) {
      if (e.status == EntryStatus::kDeleted) continue;
      e.status = EntryStatus::kExisting;
      merged.push_back(std::move(e));
    }
  }
  MIGSBYU_ASSIGN(ManifestFile out, WriteManifest(merged, content, schema, snapshot_id, sequence));
  a->written.push_back(LocalPath(out.manifest_path).value());
  a->manifests.push_back(std::move(out));
  ++a->created;
  a->replaced += static_cast<int>(small.size());
  return OkStatus();
}

Result<bool> Table::DeleteMayReferTo(const std::string& delete_path,
                                     const std::set<std::string>& data_paths) const {
  // The delete file's entry is in one of the current snapshot's delete manifests.
  MIGSBYU_ASSIGN(std::vector<ManifestFile> list, ReadManifestList(*metadata_.CurrentSnapshot()));
  for (const auto& m : list) {
    if (m.content != ManifestContent::kDeletes) continue;
    MIGSBYU_ASSIGN(std::vector<ManifestEntry> entries, ReadManifest(m));
    for (const auto& e : entries) {
      if (e.file.file_path == delete_path) return MayReference(e.file, data_paths);
    }
  }
  return true;
}

// ---- schema ----

Result<CommitResult> Table::UpdateSchema(const std::vector<SchemaChange>& changes,
                                         const CommitOptions& options) {
  for (int attempt = 1; attempt <= std::max(1, options.max_attempts); ++attempt) {
    TableMetadata next = metadata_;
    int32_t new_id = 0;
    for (const auto& s : next.schemas) new_id = std::max(new_id, s.schema_id + 1);
    MIGSBYU_ASSIGN(Schema evolved,
                   EvolveSchema(next.CurrentSchema(), changes, &next.last_column_id, new_id));
    const Schema* same = nullptr;
    for (const auto& s : next.schemas) {
      if (s.SameColumns(evolved)) same = &s;
    }
    if (same) {
      next.current_schema_id = same->schema_id;
    } else {
      next.current_schema_id = new_id;
      next.schemas.push_back(std::move(evolved));
    }
    next.last_updated_ms =
        std::max(options.now_ms ? options.now_ms : NowMs(), metadata_.last_updated_ms);
    Status committed = CommitMetadata(std::move(next), options);
    if (committed.ok()) return CommitResult{version_, std::nullopt, attempt};
    if (committed.error().code() != ErrorCode::kAlreadyExists) return committed.error();
  }
  return Error::AlreadyExists("schema change of " + dir_ + " lost the race " +
                              std::to_string(options.max_attempts) + " times");
}

// ---- reading ----

Result<ScanPlan> Table::PlanScan(std::optional<int64_t> snapshot_id) const {
  const Snapshot* snap =
      snapshot_id ? metadata_.FindSnapshot(*snapshot_id) : metadata_.CurrentSnapshot();
  if (snapshot_id && !snap) {
    return Error::NotFound("table " + dir_ + " has no snapshot " + std::to_string(*snapshot_id));
  }
  ScanPlan plan;
  plan.schema = metadata_.CurrentSchema();
  if (!snap) return plan;
  plan.snapshot_id = snap->snapshot_id;
  plan.timestamp_ms = snap->timestamp_ms;
  if (snap->schema_id) {
    if (const Schema* s = metadata_.FindSchema(*snap->schema_id)) plan.schema = *s;
  }
  MIGSBYU_ASSIGN(std::vector<ManifestFile> manifests, ReadManifestList(*snap));
  int64_t min_data_sequence = std::numeric_limits<int64_t>::max();
  for (const auto& m : manifests) {
    MIGSBYU_ASSIGN(std::vector<ManifestEntry> entries, ReadManifest(m));
    for (const auto& e : entries) {
      if (e.status == EntryStatus::kDeleted) continue;
      ScanFile f{e.file.file_path, e.file.content, e.file.record_count, e.file.file_size_in_bytes,
                 *e.sequence_number};
      if (e.file.content == FileContent::kData) {
        min_data_sequence = std::min(min_data_sequence, f.sequence_number);
        plan.data_files.push_back(std::move(f));
      } else {
        plan.delete_files.push_back(std::move(f));
      }
    }
  }
  // Delete files older than every data file apply to none.
  std::erase_if(plan.delete_files, [&](const ScanFile& d) {
    return d.content == FileContent::kPositionDeletes ? d.sequence_number < min_data_sequence
                                                      : d.sequence_number <= min_data_sequence;
  });
  return plan;
}

Result<ScanPlan> Table::PlanScanAsOf(int64_t timestamp_ms) const {
  MIGSBYU_ASSIGN(int64_t id, metadata_.SnapshotIdAsOf(timestamp_ms));
  return PlanScan(id);
}

// ---- expiration and garbage ----

Status Table::CollectReachable(const std::vector<const Snapshot*>& snapshots,
                               std::set<std::string>* manifest_lists,
                               std::set<std::string>* manifests, std::set<std::string>* live_files,
                               std::set<std::string>* any_files) const {
  std::set<std::string> seen;
  for (const Snapshot* s : snapshots) {
    manifest_lists->insert(s->manifest_list);
    MIGSBYU_ASSIGN(std::vector<ManifestFile> list, ReadManifestList(*s));
    for (const auto& m : list) {
      manifests->insert(m.manifest_path);
      if (!seen.insert(m.manifest_path).second) continue;
      MIGSBYU_ASSIGN(std::vector<ManifestEntry> entries, ReadManifest(m));
      for (const auto& e : entries) {
        if (any_files) any_files->insert(e.file.file_path);
        if (e.status != EntryStatus::kDeleted && live_files) live_files->insert(e.file.file_path);
      }
    }
  }
  return OkStatus();
}

Result<ExpireResult> Table::ExpireSnapshots(const ExpireOptions& options) {
  for (int attempt = 1; attempt <= std::max(1, options.commit.max_attempts); ++attempt) {
    const TableMetadata& base = metadata_;
    // Which snapshots stay (spec "Snapshot Retention Policy").
    std::set<int64_t> keep;
    for (const auto& [name, ref] : base.refs) keep.insert(ref.snapshot_id);
    int kept_in_main = 0;
    for (const Snapshot* s = base.CurrentSnapshot(); s;
         s = s->parent_snapshot_id ? base.FindSnapshot(*s->parent_snapshot_id) : nullptr) {
      if (s->timestamp_ms < options.older_than_ms &&
          kept_in_main >= std::max(1, options.min_snapshots_to_keep)) {
        break;
      }
      keep.insert(s->snapshot_id);
      ++kept_in_main;
    }
    for (const auto& s : base.snapshots) {
      if (s.timestamp_ms >= options.older_than_ms) keep.insert(s.snapshot_id);
    }
    std::vector<const Snapshot*> kept, expired;
    for (const auto& s : base.snapshots) (keep.count(s.snapshot_id) ? kept : expired).push_back(&s);
    ExpireResult result;
    if (expired.empty()) return result;
    for (const Snapshot* s : expired) result.expired_snapshot_ids.push_back(s->snapshot_id);

    std::set<std::string> kept_lists, kept_manifests, kept_files;
    MIGSBYU_TRY(CollectReachable(kept, &kept_lists, &kept_manifests, &kept_files, nullptr));
    std::set<std::string> old_lists, old_manifests, old_files;
    MIGSBYU_TRY(CollectReachable(expired, &old_lists, &old_manifests, nullptr, &old_files));

    TableMetadata next = base;
    std::erase_if(next.snapshots, [&](const Snapshot& s) { return !keep.count(s.snapshot_id); });
    // The snapshot log keeps only the entries after the last expired one (spec "snapshot-log").
    size_t cut = 0;
    for (size_t i = 0; i < next.snapshot_log.size(); ++i) {
      if (!keep.count(next.snapshot_log[i].snapshot_id)) cut = i + 1;
    }
    next.snapshot_log.erase(next.snapshot_log.begin(),
                            next.snapshot_log.begin() + static_cast<std::ptrdiff_t>(cut));
    // Metadata files written before the oldest kept snapshot have an expired current snapshot.
    int64_t oldest_kept = std::numeric_limits<int64_t>::max();
    for (const Snapshot* s : kept) oldest_kept = std::min(oldest_kept, s->timestamp_ms);
    std::vector<std::string> old_metadata;
    std::erase_if(next.metadata_log, [&](const MetadataLogEntry& e) {
      if (e.timestamp_ms >= oldest_kept) return false;
      old_metadata.push_back(e.metadata_file);
      return true;
    });
    next.last_updated_ms =
        std::max(options.commit.now_ms ? options.commit.now_ms : NowMs(), base.last_updated_ms);
    Status committed = CommitMetadata(std::move(next), options.commit);
    if (!committed.ok()) {
      if (committed.error().code() == ErrorCode::kAlreadyExists) continue;
      return committed.error();
    }
    result.version = version_;
    // Only now, with the expiration committed, delete what no kept snapshot reaches.
    std::vector<std::string> doomed;
    for (const auto& p : old_files) {
      if (!kept_files.count(p)) doomed.push_back(p);
    }
    for (const auto& p : old_manifests) {
      if (!kept_manifests.count(p)) doomed.push_back(p);
    }
    for (const auto& p : old_lists) {
      if (!kept_lists.count(p)) doomed.push_back(p);
    }
    doomed.insert(doomed.end(), old_metadata.begin(), old_metadata.end());
    std::string prefix = location() + "/";
    for (const auto& uri : doomed) {
      auto path = LocalPath(uri);
      if (!path.ok() || uri.rfind(prefix, 0) != 0) continue;  // never outside the table
      if (auto s = RemoveFile(*path); s.ok()) {
        result.deleted_files.push_back(*path);
      } else {
        MIGSBYU_LOG_WARN("iceberg: expiration left {}: {}", *path, s.error().message());
      }
    }
    return result;
  }
  return Error::AlreadyExists("expiration of " + dir_ + " lost the race " +
                              std::to_string(options.commit.max_attempts) + " times");
}

Result<std::vector<std::string>> Table::RemoveOrphanFiles(int64_t older_than_ms) {
  MIGSBYU_TRY(Refresh());
  std::vector<const Snapshot*> all;
  for (const auto& s : metadata_.snapshots) all.push_back(&s);
  std::set<std::string> lists, manifests, files;
  MIGSBYU_TRY(CollectReachable(all, &lists, &manifests, &files, &files));
  std::set<std::string> referenced;
  for (const auto* set : {&lists, &manifests, &files}) {
    for (const auto& uri : *set) {
      if (auto path = LocalPath(uri); path.ok()) referenced.insert(*path);
    }
  }
  for (const auto& e : metadata_.metadata_log) {
    if (auto path = LocalPath(e.metadata_file); path.ok()) referenced.insert(*path);
  }
  referenced.insert(VersionPath(version_));
  referenced.insert(MetadataDir() + "/" + kHintFile);
  std::vector<std::string> removed;
  for (const std::string& dir : {MetadataDir(), DataDir()}) {
    for (const auto& name : ListFiles(dir)) {
      std::string path = dir + "/" + name;
      if (referenced.count(path)) continue;
      // A version newer than the one loaded is another writer's commit, never an orphan.
      if (auto v = VersionOf(name); v && *v > version_) continue;
      auto mtime = ModifiedMs(path);
      if (!mtime.ok() || *mtime >= older_than_ms) continue;
      if (RemoveFile(path).ok()) removed.push_back(path);
    }
  }
  return removed;
}

}  // namespace migsbyu::iceberg
