#include "lake/iceberg/metadata.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "lake/iceberg/json_fields.h"

namespace migsbyu::iceberg {
namespace {

using nlohmann::json;
using namespace json_fields;

Result<std::map<std::string, std::string>> StringMap(const json& j, std::string_view key,
                                                     const std::string& origin) {
  std::map<std::string, std::string> out;
  const json* value = Optional(j, key);
  if (!value) return out;
  MIGSBYU_TRY(ExpectObject(*value, key, origin));
  for (const auto& [k, v] : value->items()) {
    if (!v.is_string()) {
      return Error::Corruption(origin + ": \"" + std::string(key) + "\"." + k + " is not a string");
    }
    out[k] = v.get<std::string>();
  }
  return out;
}

Result<PartitionField> PartitionFieldFromJson(const json& f, const std::string& origin) {
  PartitionField pf;
  MIGSBYU_ASSIGN(pf.source_id, Int(f, "source-id", origin));
  MIGSBYU_ASSIGN(pf.field_id, Int(f, "field-id", origin));
  MIGSBYU_ASSIGN(pf.name, String(f, "name", origin));
  MIGSBYU_ASSIGN(pf.transform, String(f, "transform", origin));
  return pf;
}

Result<PartitionSpec> SpecFromJson(const json& j, const std::string& origin) {
  PartitionSpec spec;
  MIGSBYU_ASSIGN(spec.spec_id, Int(j, "spec-id", origin));
  MIGSBYU_ASSIGN(spec.fields, Each<PartitionField>(j, "fields", origin, PartitionFieldFromJson));
  return spec;
}

Result<SortField> SortFieldFromJson(const json& f, const std::string& origin) {
  SortField sf;
  MIGSBYU_ASSIGN(sf.transform, String(f, "transform", origin));
  MIGSBYU_ASSIGN(sf.source_id, Int(f, "source-id", origin));
  MIGSBYU_ASSIGN(sf.direction, String(f, "direction", origin));
  MIGSBYU_ASSIGN(sf.null_order, String(f, "null-order", origin));
  return sf;
}

Result<SortOrder> SortOrderFromJson(const json& j, const std::string& origin) {
  SortOrder order;
  MIGSBYU_ASSIGN(order.order_id, Int(j, "order-id", origin));
  MIGSBYU_ASSIGN(order.fields, Each<SortField>(j, "fields", origin, SortFieldFromJson));
  return order;
}

Result<SnapshotLogEntry> SnapshotLogEntryFromJson(const json& e, const std::string& origin) {
  SnapshotLogEntry entry;
  MIGSBYU_ASSIGN(entry.timestamp_ms, Long(e, "timestamp-ms", origin));
  MIGSBYU_ASSIGN(entry.snapshot_id, Long(e, "snapshot-id", origin));
  return entry;
}

Result<MetadataLogEntry> MetadataLogEntryFromJson(const json& e, const std::string& origin) {
  MetadataLogEntry entry;
  MIGSBYU_ASSIGN(entry.timestamp_ms, Long(e, "timestamp-ms", origin));
  MIGSBYU_ASSIGN(entry.metadata_file, String(e, "metadata-file", origin));
  return entry;
}

Result<Schema> TableSchemaFromJson(const json& s, const std::string& origin) {
  // Optional in v1 schemas; a v2 table's schemas all carry it.
  if (!Optional(s, "schema-id")) return Error::Corruption(origin + ": a schema has no schema-id");
  return SchemaFromJson(s, origin);
}

Result<Snapshot> SnapshotFromJson(const json& j, const std::string& origin) {
  Snapshot s;
  MIGSBYU_ASSIGN(s.snapshot_id, Long(j, "snapshot-id", origin));
  MIGSBYU_ASSIGN(s.parent_snapshot_id, OptionalLong(j, "parent-snapshot-id", origin));
  MIGSBYU_ASSIGN(s.sequence_number, Long(j, "sequence-number", origin));
  MIGSBYU_ASSIGN(s.timestamp_ms, Long(j, "timestamp-ms", origin));
  MIGSBYU_ASSIGN(s.manifest_list, String(j, "manifest-list", origin));
  MIGSBYU_TRY(Required(j, "summary", origin));
  MIGSBYU_ASSIGN(s.summary, StringMap(j, "summary", origin));
  if (!s.summary.count("operation")) {
    return Error::Corruption(origin + ": snapshot " + std::to_string(s.snapshot_id) +
                             " has no summary operation");
  }
  MIGSBYU_ASSIGN(s.schema_id, OptionalInt(j, "schema-id", origin));
  return s;
}

// The parts of a metadata file that grow with every commit (snapshots and the two logs) are
// written as text directly rather than built as a JSON tree first: this is the commit's one cost
// that grows with the table, and the tree's allocations were most of it.
void AppendString(std::string& out, std::string_view v) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (char c : v) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20) {
      out += "\\u00";
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xF]);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

void AppendMember(std::string& out, std::string_view key, int64_t v) {
  AppendString(out, key);
  out.push_back(':');
  out += std::to_string(v);
}

void AppendMember(std::string& out, std::string_view key, std::string_view v) {
  AppendString(out, key);
  out.push_back(':');
  AppendString(out, v);
}

void AppendSnapshot(std::string& out, const Snapshot& s) {
  out.push_back('{');
  AppendMember(out, "snapshot-id", s.snapshot_id);
  if (s.parent_snapshot_id) {
    out.push_back(',');
    AppendMember(out, "parent-snapshot-id", *s.parent_snapshot_id);
  }
  out.push_back(',');
  AppendMember(out, "sequence-number", s.sequence_number);
  out.push_back(',');
  AppendMember(out, "timestamp-ms", s.timestamp_ms);
  out.push_back(',');
  AppendMember(out, "manifest-list", s.manifest_list);
  out += ",\"summary\":{";
  bool first = true;
  for (const auto& [key, value] : s.summary) {
    if (!first) out.push_back(',');
    first = false;
    AppendMember(out, key, value);
  }
  out.push_back('}');
  if (s.schema_id) {
    out.push_back(',');
    AppendMember(out, "schema-id", *s.schema_id);
  }
  out.push_back('}');
}

}  // namespace

const Schema& TableMetadata::CurrentSchema() const { return *FindSchema(current_schema_id); }

const Schema* TableMetadata::FindSchema(int32_t schema_id) const {
  for (const auto& s : schemas) {
    if (s.schema_id == schema_id) return &s;
  }
  return nullptr;
}

const Snapshot* TableMetadata::CurrentSnapshot() const {
  return current_snapshot_id ? FindSnapshot(*current_snapshot_id) : nullptr;
}

const Snapshot* TableMetadata::FindSnapshot(int64_t snapshot_id) const {
  for (const auto& s : snapshots) {
    if (s.snapshot_id == snapshot_id) return &s;
  }
  return nullptr;
}

Result<int64_t> TableMetadata::SnapshotIdAsOf(int64_t timestamp_ms) const {
  const SnapshotLogEntry* found = nullptr;
  for (const auto& e : snapshot_log) {
    if (e.timestamp_ms <= timestamp_ms) found = &e;
  }
  if (!found || !FindSnapshot(found->snapshot_id)) {
    return Error::NotFound("table " + location + " has no snapshot as of " +
                           std::to_string(timestamp_ms) + " ms (none yet, or expired)");
  }
  return found->snapshot_id;
}

Status ValidateMetadata(const TableMetadata& m, const std::string& origin) {
  auto bad = [&](const std::string& what) { return Error::Corruption(origin + ": " + what); };
  if (m.format_version != kFormatVersion) {
    return bad("format-version " + std::to_string(m.format_version) + " (only 2 is supported)");
  }
  if (m.table_uuid.empty() || m.location.empty()) return bad("empty table-uuid or location");
  std::set<int32_t> schema_ids;
  for (const auto& s : m.schemas) {
    if (!schema_ids.insert(s.schema_id).second) {
      return bad("duplicate schema-id " + std::to_string(s.schema_id));
    }
    if (auto valid = ValidateSchema(s); !valid.ok()) return bad(valid.error().message());
    if (s.HighestFieldId() > m.last_column_id) {
      return bad("schema " + std::to_string(s.schema_id) + " has a field id above last-column-id");
    }
  }
  if (!m.FindSchema(m.current_schema_id)) return bad("current-schema-id names no schema");
  auto has_spec =
      std::any_of(m.partition_specs.begin(), m.partition_specs.end(),
                  [&](const PartitionSpec& s) { return s.spec_id == m.default_spec_id; });
  if (!has_spec) return bad("default-spec-id names no partition spec");
  auto has_order = std::any_of(m.sort_orders.begin(), m.sort_orders.end(), [&](const SortOrder& o) {
    return o.order_id == m.default_sort_order_id;
  });
  if (!has_order) return bad("default-sort-order-id names no sort order");
  std::set<int64_t> snapshot_ids;
  for (const auto& s : m.snapshots) {
    if (!snapshot_ids.insert(s.snapshot_id).second) {
      return bad("duplicate snapshot-id " + std::to_string(s.snapshot_id));
    }
    if (s.sequence_number > m.last_sequence_number) {
      return bad("snapshot " + std::to_string(s.snapshot_id) + " is above last-sequence-number");
    }
    if (s.schema_id && !m.FindSchema(*s.schema_id)) {
      return bad("snapshot " + std::to_string(s.snapshot_id) + " names a missing schema");
    }
  }
  if (m.current_snapshot_id && !m.FindSnapshot(*m.current_snapshot_id)) {
    return bad("current-snapshot-id names no snapshot");
  }
  for (const auto& [name, ref] : m.refs) {
    if (!m.FindSnapshot(ref.snapshot_id)) return bad("ref " + name + " names no snapshot");
  }
  auto main = m.refs.find("main");
  if (main != m.refs.end() && main->second.snapshot_id != m.current_snapshot_id.value_or(-1)) {
    return bad("ref main differs from current-snapshot-id");
  }
  if (m.current_snapshot_id && main == m.refs.end())
    return bad("a current snapshot but no main ref");
  return OkStatus();
}

std::string MetadataToJson(const TableMetadata& m) {
  json j;
  j["format-version"] = m.format_version;
  j["table-uuid"] = m.table_uuid;
  j["location"] = m.location;
  j["last-sequence-number"] = m.last_sequence_number;
  j["last-updated-ms"] = m.last_updated_ms;
  j["last-column-id"] = m.last_column_id;
  j["current-schema-id"] = m.current_schema_id;
  j["schemas"] = json::array();
  for (const auto& s : m.schemas) j["schemas"].push_back(SchemaToJson(s));
  j["default-spec-id"] = m.default_spec_id;
  j["partition-specs"] = json::array();
  for (const auto& spec : m.partition_specs) {
    json fields = json::array();
    for (const auto& f : spec.fields) {
      fields.push_back({{"source-id", f.source_id},
                        {"field-id", f.field_id},
                        {"name", f.name},
                        {"transform", f.transform}});
    }
    j["partition-specs"].push_back({{"spec-id", spec.spec_id}, {"fields", std::move(fields)}});
  }
  j["last-partition-id"] = m.last_partition_id;
  j["default-sort-order-id"] = m.default_sort_order_id;
  j["sort-orders"] = json::array();
  for (const auto& order : m.sort_orders) {
    json fields = json::array();
    for (const auto& f : order.fields) {
      fields.push_back({{"transform", f.transform},
                        {"source-id", f.source_id},
                        {"direction", f.direction},
                        {"null-order", f.null_order}});
    }
    j["sort-orders"].push_back({{"order-id", order.order_id}, {"fields", std::move(fields)}});
  }
  j["properties"] = m.properties;
  if (m.current_snapshot_id) j["current-snapshot-id"] = *m.current_snapshot_id;
  j["refs"] = json::object();
  for (const auto& [name, ref] : m.refs) {
    json r = {{"snapshot-id", ref.snapshot_id}, {"type", ref.type}};
    if (ref.min_snapshots_to_keep) r["min-snapshots-to-keep"] = *ref.min_snapshots_to_keep;
    if (ref.max_snapshot_age_ms) r["max-snapshot-age-ms"] = *ref.max_snapshot_age_ms;
    if (ref.max_ref_age_ms) r["max-ref-age-ms"] = *ref.max_ref_age_ms;
    j["refs"][name] = std::move(r);
  }
  // The fixed-size members as a tree, then the growing ones appended as text.
  std::string out = j.dump();
  out.pop_back();  // the closing brace: j is a non-empty object
  out += ",\"snapshots\":[";
  for (size_t i = 0; i < m.snapshots.size(); ++i) {
    if (i) out.push_back(',');
    AppendSnapshot(out, m.snapshots[i]);
  }
  out += "],\"snapshot-log\":[";
  for (size_t i = 0; i < m.snapshot_log.size(); ++i) {
    out += i ? ",{" : "{";
    AppendMember(out, "timestamp-ms", m.snapshot_log[i].timestamp_ms);
    out.push_back(',');
    AppendMember(out, "snapshot-id", m.snapshot_log[i].snapshot_id);
    out.push_back('}');
  }
  out += "],\"metadata-log\":[";
  for (size_t i = 0; i < m.metadata_log.size(); ++i) {
    out += i ? ",{" : "{";
    AppendMember(out, "timestamp-ms", m.metadata_log[i].timestamp_ms);
    out.push_back(',');
    AppendMember(out, "metadata-file", m.metadata_log[i].metadata_file);
    out.push_back('}');
  }
  out += "]}";
  return out;
}

Result<TableMetadata> MetadataFromJson(const std::string& text, const std::string& origin) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Error::Corruption(origin + ": not JSON");
  MIGSBYU_TRY(ExpectObject(j, "table metadata", origin));
  TableMetadata m;
  MIGSBYU_ASSIGN(m.format_version, Int(j, "format-version", origin));
  if (m.format_version != kFormatVersion) {
    return Error::Corruption(origin + ": format-version " + std::to_string(m.format_version) +
                             " (only 2 is supported)");
  }
  MIGSBYU_ASSIGN(m.table_uuid, String(j, "table-uuid", origin));
  MIGSBYU_ASSIGN(m.location, String(j, "location", origin));
  MIGSBYU_ASSIGN(m.last_sequence_number, Long(j, "last-sequence-number", origin));
  MIGSBYU_ASSIGN(m.last_updated_ms, Long(j, "last-updated-ms", origin));
  MIGSBYU_ASSIGN(m.last_column_id, Int(j, "last-column-id", origin));
  MIGSBYU_ASSIGN(m.current_schema_id, Int(j, "current-schema-id", origin));
  MIGSBYU_ASSIGN(m.schemas, Each<Schema>(j, "schemas", origin, TableSchemaFromJson));
  MIGSBYU_ASSIGN(m.default_spec_id, Int(j, "default-spec-id", origin));
  MIGSBYU_ASSIGN(m.partition_specs,
                 Each<PartitionSpec>(j, "partition-specs", origin, SpecFromJson));
  MIGSBYU_ASSIGN(m.last_partition_id, Int(j, "last-partition-id", origin));
  MIGSBYU_ASSIGN(m.default_sort_order_id, Int(j, "default-sort-order-id", origin));
  MIGSBYU_ASSIGN(m.sort_orders, Each<SortOrder>(j, "sort-orders", origin, SortOrderFromJson));
  MIGSBYU_ASSIGN(m.properties, StringMap(j, "properties", origin));
  MIGSBYU_ASSIGN(m.current_snapshot_id, OptionalLong(j, "current-snapshot-id", origin));
  if (m.current_snapshot_id == -1) m.current_snapshot_id.reset();  // Java's "no snapshot" for v2
  MIGSBYU_ASSIGN(m.snapshots, Each<Snapshot>(j, "snapshots", origin, SnapshotFromJson, false));
  MIGSBYU_ASSIGN(m.snapshot_log, Each<SnapshotLogEntry>(j, "snapshot-log", origin,
                                                        SnapshotLogEntryFromJson, false));
  MIGSBYU_ASSIGN(m.metadata_log, Each<MetadataLogEntry>(j, "metadata-log", origin,
                                                        MetadataLogEntryFromJson, false));
  if (const json* refs = Optional(j, "refs")) {
    MIGSBYU_TRY(ExpectObject(*refs, "refs", origin));
    for (const auto& [name, r] : refs->items()) {
      SnapshotRef ref;
      MIGSBYU_ASSIGN(ref.snapshot_id, Long(r, "snapshot-id", origin));
      MIGSBYU_ASSIGN(ref.type, String(r, "type", origin));
      if (ref.type != "branch" && ref.type != "tag") {
        return Error::Corruption(origin + ": ref " + name + " has type " + ref.type);
      }
      MIGSBYU_ASSIGN(ref.min_snapshots_to_keep, OptionalInt(r, "min-snapshots-to-keep", origin));
      MIGSBYU_ASSIGN(ref.max_snapshot_age_ms, OptionalLong(r, "max-snapshot-age-ms", origin));
      MIGSBYU_ASSIGN(ref.max_ref_age_ms, OptionalLong(r, "max-ref-age-ms", origin));
      m.refs[name] = ref;
    }
  }
  // The spec: "There is always a main branch reference pointing to the current-snapshot-id
  // even if the refs map is null."
  if (m.current_snapshot_id && !m.refs.count("main")) {
    m.refs["main"] = SnapshotRef{*m.current_snapshot_id, "branch", {}, {}, {}};
  }
  MIGSBYU_TRY(ValidateMetadata(m, origin));
  return m;
}

}  // namespace migsbyu::iceberg
