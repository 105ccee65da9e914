#include "lake/iceberg/manifest.h"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>

#include "lake/iceberg/avro_file.h"

namespace migsbyu::iceberg {
namespace {

using nlohmann::json;

// ---- Avro schemas (spec "Manifests", "Manifest Lists"; optional fields are unions with null
// first and default null; maps with int keys are arrays of key/value records marked
// "logicalType": "map") ----

json Optional(json type, int field_id, const char* name) {
  return {{"name", name},
          {"type", json::array({"null", std::move(type)})},
          {"default", nullptr},
          {"field-id", field_id}};
}

json Required(json type, int field_id, const char* name) {
  return {{"name", name}, {"type", std::move(type)}, {"field-id", field_id}};
}

json IntMap(int field_id, const char* name, int key_id, int value_id, const char* value_type) {
  // Iceberg's name for a map's key/value record, "k<key id>_v<value id>". (Built by appending:
  // GCC 12 warns falsely about "literal" + std::string here.)
  std::string record_name = "k";
  record_name.append(std::to_string(key_id)).append("_v").append(std::to_string(value_id));
  json record = {{"type", "record"},
                 {"name", record_name},
                 {"fields", json::array({Required("int", key_id, "key"),
                                         Required(value_type, value_id, "value")})}};
  return Optional({{"type", "array"}, {"logicalType", "map"}, {"items", std::move(record)}},
                  field_id, name);
}

json List(int field_id, const char* name, int element_id, const char* element_type) {
  return Optional({{"type", "array"}, {"items", element_type}, {"element-id", element_id}},
                  field_id, name);
}

const std::string& ManifestEntrySchema() {
  static const std::string text = [] {
    json data_file = {
        {"type", "record"},
        {"name", "r2"},
        {"fields", json::array({
                       Required("int", 134, "content"),
                       Required("string", 100, "file_path"),
                       Required("string", 101, "file_format"),
                       Required({{"type", "record"}, {"name", "r102"}, {"fields", json::array()}},
                                102, "partition"),
                       Required("long", 103, "record_count"),
                       Required("long", 104, "file_size_in_bytes"),
                       IntMap(108, "column_sizes", 117, 118, "long"),
                       IntMap(109, "value_counts", 119, 120, "long"),
                       IntMap(110, "null_value_counts", 121, 122, "long"),
                       IntMap(137, "nan_value_counts", 138, 139, "long"),
                       IntMap(125, "lower_bounds", 126, 127, "bytes"),
                       IntMap(128, "upper_bounds", 129, 130, "bytes"),
                       Optional("bytes", 131, "key_metadata"),
                       List(132, "split_offsets", 133, "long"),
                       List(135, "equality_ids", 136, "int"),
                       Optional("int", 140, "sort_order_id"),
                       Optional("string", 143, "referenced_data_file"),
                   })}};
    json entry = {
        {"type", "record"},
        {"name", "manifest_entry"},
        {"fields", json::array({Required("int", 0, "status"), Optional("long", 1, "snapshot_id"),
                                Optional("long", 3, "sequence_number"),
                                Optional("long", 4, "file_sequence_number"),
                                Required(std::move(data_file), 2, "data_file")})}};
    return entry.dump();
  }();
  return text;
}

const std::string& ManifestFileSchema() {
  static const std::string text = [] {
    json summary = {{"type", "record"},
                    {"name", "r508"},
                    {"fields", json::array({Required("boolean", 509, "contains_null"),
                                            Optional("boolean", 518, "contains_nan"),
                                            Optional("bytes", 510, "lower_bound"),
                                            Optional("bytes", 511, "upper_bound")})}};
    json file = {
        {"type", "record"},
        {"name", "manifest_file"},
        {"fields",
         json::array({
             Required("string", 500, "manifest_path"),
             Required("long", 501, "manifest_length"),
             Required("int", 502, "partition_spec_id"),
             Required("int", 517, "content"),
             Required("long", 515, "sequence_number"),
             Required("long", 516, "min_sequence_number"),
             Required("long", 503, "added_snapshot_id"),
             Required("int", 504, "added_files_count"),
             Required("int", 505, "existing_files_count"),
             Required("int", 506, "deleted_files_count"),
             Required("long", 512, "added_rows_count"),
             Required("long", 513, "existing_rows_count"),
             Required("long", 514, "deleted_rows_count"),
             Optional({{"type", "array"}, {"items", std::move(summary)}, {"element-id", 508}}, 507,
                      "partitions"),
             Optional("bytes", 519, "key_metadata"),
         })}};
    return file.dump();
  }();
  return text;
}

// ---- writing values ----

std::string AvroMessage() {
  const char* m = avro_strerror();
  return m && *m ? m : "unknown avro-c error";
}

Status Check(int rc, const char* what) {
  if (rc == 0) return OkStatus();
  return Error::Internal(std::string("avro: cannot set ") + what + ": " + AvroMessage());
}

Result<avro_value_t> Child(avro_value_t* parent, const char* name) {
  avro_value_t child;
  if (avro_value_get_by_name(parent, name, &child, nullptr)) {
    return Error::Internal(std::string("avro: the schema has no field ") + name);
  }
  return child;
}

// The field `name` of `parent`; for an optional field, its non-null branch.
Result<avro_value_t> Present(avro_value_t* parent, const char* name) {
  MIGSBYU_ASSIGN(avro_value_t field, Child(parent, name));
  if (avro_value_get_type(&field) != AVRO_UNION) return field;
  avro_value_t branch;
  MIGSBYU_TRY(Check(avro_value_set_branch(&field, 1, &branch), name));
  return branch;
}

Status SetNull(avro_value_t* parent, const char* name) {
  MIGSBYU_ASSIGN(avro_value_t field, Child(parent, name));
  avro_value_t branch;
  MIGSBYU_TRY(Check(avro_value_set_branch(&field, 0, &branch), name));
  return Check(avro_value_set_null(&branch), name);
}

Status SetInt(avro_value_t* parent, const char* name, int32_t v) {
  MIGSBYU_ASSIGN(avro_value_t field, Present(parent, name));
  return Check(avro_value_set_int(&field, v), name);
}

Status SetLong(avro_value_t* parent, const char* name, int64_t v) {
  MIGSBYU_ASSIGN(avro_value_t field, Present(parent, name));
  return Check(avro_value_set_long(&field, v), name);
}

Status SetString(avro_value_t* parent, const char* name, const std::string& v) {
  MIGSBYU_ASSIGN(avro_value_t field, Present(parent, name));
  // avro-c counts a string's terminating NUL in its size.
  return Check(avro_value_set_string_len(&field, v.c_str(), v.size() + 1), name);
}

template <typename T>
Status SetOptional(avro_value_t* parent, const char* name, const std::optional<T>& v) {
  if (!v) return SetNull(parent, name);
  if constexpr (std::is_same_v<T, int64_t>) {
    return SetLong(parent, name, *v);
  } else if constexpr (std::is_same_v<T, int32_t>) {
    return SetInt(parent, name, *v);
  } else {
    return SetString(parent, name, *v);
  }
}

template <typename V>
Status SetIntMap(avro_value_t* parent, const char* name, const std::map<int32_t, V>& map) {
  if (map.empty()) return SetNull(parent, name);
  MIGSBYU_ASSIGN(avro_value_t array, Present(parent, name));
  for (const auto& [key, value] : map) {
    avro_value_t element, k, v;
    MIGSBYU_TRY(Check(avro_value_append(&array, &element, nullptr), name));
    MIGSBYU_TRY(Check(avro_value_get_by_index(&element, 0, &k, nullptr), name));
    MIGSBYU_TRY(Check(avro_value_set_int(&k, key), name));
    MIGSBYU_TRY(Check(avro_value_get_by_index(&element, 1, &v, nullptr), name));
    if constexpr (std::is_same_v<V, int64_t>) {
      MIGSBYU_TRY(Check(avro_value_set_long(&v, value), name));
    } else {
      MIGSBYU_TRY(
          Check(avro_value_set_bytes(&v, const_cast<char*>(value.data()), value.size()), name));
    }
  }
  return OkStatus();
}

template <typename T>
Status SetList(avro_value_t* parent, const char* name, const std::vector<T>& list) {
  if (list.empty()) return SetNull(parent, name);
  MIGSBYU_ASSIGN(avro_value_t array, Present(parent, name));
  for (T value : list) {
    avro_value_t element;
    MIGSBYU_TRY(Check(avro_value_append(&array, &element, nullptr), name));
    if constexpr (std::is_same_v<T, int64_t>) {
      MIGSBYU_TRY(Check(avro_value_set_long(&element, value), name));
    } else {
      MIGSBYU_TRY(Check(avro_value_set_int(&element, value), name));
    }
  }
  return OkStatus();
}

Status FillDataFile(avro_value_t* df, const DataFile& f) {
  MIGSBYU_TRY(SetInt(df, "content", static_cast<int32_t>(f.content)));
  MIGSBYU_TRY(SetString(df, "file_path", f.file_path));
  MIGSBYU_TRY(SetString(df, "file_format", f.file_format));
  MIGSBYU_TRY(SetLong(df, "record_count", f.record_count));
  MIGSBYU_TRY(SetLong(df, "file_size_in_bytes", f.file_size_in_bytes));
  MIGSBYU_TRY(SetIntMap(df, "column_sizes", f.column_sizes));
  MIGSBYU_TRY(SetIntMap(df, "value_counts", f.value_counts));
  MIGSBYU_TRY(SetIntMap(df, "null_value_counts", f.null_value_counts));
  MIGSBYU_TRY(SetIntMap(df, "nan_value_counts", f.nan_value_counts));
  MIGSBYU_TRY(SetIntMap(df, "lower_bounds", f.lower_bounds));
  MIGSBYU_TRY(SetIntMap(df, "upper_bounds", f.upper_bounds));
  MIGSBYU_TRY(SetNull(df, "key_metadata"));
  MIGSBYU_TRY(SetList(df, "split_offsets", f.split_offsets));
  MIGSBYU_TRY(SetList(df, "equality_ids", f.equality_ids));
  MIGSBYU_TRY(SetOptional(df, "sort_order_id", f.sort_order_id));
  return SetOptional(df, "referenced_data_file", f.referenced_data_file);
}

// ---- reading values ----

class Fields {
 public:
  Fields(avro_value_t* record, const std::string& origin) : record_(record), origin_(origin) {}

  // The field's value, or nullopt when it is absent from the file's schema or null.
  Result<std::optional<avro_value_t>> Get(const char* name) const {
    avro_value_t field;
    if (avro_value_get_by_name(record_, name, &field, nullptr))
      return std::optional<avro_value_t>();
    if (avro_value_get_type(&field) == AVRO_UNION) {
      avro_value_t branch;
      if (avro_value_get_current_branch(&field, &branch)) return Bad(name, "has no branch");
      if (avro_value_get_type(&branch) == AVRO_NULL) return std::optional<avro_value_t>();
      return std::optional<avro_value_t>(branch);
    }
    return std::optional<avro_value_t>(field);
  }

  Result<avro_value_t> Need(const char* name) const {
    MIGSBYU_ASSIGN(auto v, Get(name));
    if (!v) return Bad(name, "is missing");
    return *v;
  }

  Result<int64_t> Long(const char* name) const {
    MIGSBYU_ASSIGN(avro_value_t v, Need(name));
    return AsLong(v, name);
  }

  Result<int32_t> Int(const char* name) const {
    MIGSBYU_ASSIGN(avro_value_t v, Need(name));
    int32_t out = 0;
    if (avro_value_get_int(&v, &out)) return Bad(name, "is not an int");
    return out;
  }

  Result<std::optional<int64_t>> OptionalLong(const char* name) const {
    MIGSBYU_ASSIGN(auto v, Get(name));
    if (!v) return std::optional<int64_t>();
    MIGSBYU_ASSIGN(int64_t out, AsLong(*v, name));
    return std::optional<int64_t>(out);
  }

  Result<std::optional<int32_t>> OptionalInt(const char* name) const {
    MIGSBYU_ASSIGN(auto v, Get(name));
    if (!v) return std::optional<int32_t>();
    int32_t out = 0;
    if (avro_value_get_int(&*v, &out)) return Bad(name, "is not an int");
    return std::optional<int32_t>(out);
  }

  Result<std::string> String(const char* name) const {
    MIGSBYU_ASSIGN(avro_value_t v, Need(name));
    return AsString(v, name);
  }

  Result<std::optional<std::string>> OptionalString(const char* name) const {
    MIGSBYU_ASSIGN(auto v, Get(name));
    if (!v) return std::optional<std::string>();
    MIGSBYU_ASSIGN(std::string out, AsString(*v, name));
    return std::optional<std::string>(std::move(out));
  }

  template <typename V>
  Status IntMap(const char* name, std::map<int32_t, V>* out) const {
    MIGSBYU_ASSIGN(auto array, Get(name));
    if (!array) return OkStatus();
    size_t n = 0;
    if (avro_value_get_type(&*array) != AVRO_ARRAY || avro_value_get_size(&*array, &n)) {
      return Bad(name, "is not an array of key/value records");
    }
    for (size_t i = 0; i < n; ++i) {
      avro_value_t element, k, v;
      int32_t key = 0;
      if (avro_value_get_by_index(&*array, i, &element, nullptr) ||
          avro_value_get_by_index(&element, 0, &k, nullptr) ||
          avro_value_get_by_index(&element, 1, &v, nullptr) || avro_value_get_int(&k, &key)) {
        return Bad(name, "holds a malformed key/value record");
      }
      if constexpr (std::is_same_v<V, int64_t>) {
        MIGSBYU_ASSIGN((*out)[key], AsLong(v, name));
      } else {
        const void* bytes = nullptr;
        size_t size = 0;
        if (avro_value_get_bytes(&v, &bytes, &size)) return Bad(name, "holds a non-bytes value");
        (*out)[key] = std::string(static_cast<const char*>(bytes), size);
      }
    }
    return OkStatus();
  }

  template <typename T>
  Status List(const char* name, std::vector<T>* out) const {
    MIGSBYU_ASSIGN(auto array, Get(name));
    if (!array) return OkStatus();
    size_t n = 0;
    if (avro_value_get_type(&*array) != AVRO_ARRAY || avro_value_get_size(&*array, &n)) {
      return Bad(name, "is not an array");
    }
    for (size_t i = 0; i < n; ++i) {
      avro_value_t element;
      if (avro_value_get_by_index(&*array, i, &element, nullptr)) return Bad(name, "is malformed");
      if constexpr (std::is_same_v<T, int64_t>) {
        MIGSBYU_ASSIGN(int64_t v, AsLong(element, name));
        out->push_back(v);
      } else {
        int32_t v = 0;
        if (avro_value_get_int(&element, &v)) return Bad(name, "holds a non-int");
        out->push_back(v);
      }
    }
    return OkStatus();
  }

 private:
  Error Bad(const char* name, const char* what) const {
    return Error::Corruption(origin_ + ": field " + name + " " + what);
  }
  Result<int64_t> AsLong(avro_value_t& v, const char* name) const {
    int64_t out = 0;
    if (avro_value_get_type(&v) == AVRO_INT32) {
      int32_t i = 0;
      if (avro_value_get_int(&v, &i)) return Bad(name, "is not a long");
      return int64_t{i};
    }
    if (avro_value_get_long(&v, &out)) return Bad(name, "is not a long");
    return out;
  }
  Result<std::string> AsString(avro_value_t& v, const char* name) const {
    const char* s = nullptr;
    size_t size = 0;
    if (avro_value_get_string(&v, &s, &size)) return Bad(name, "is not a string");
    return std::string(s, size > 0 ? size - 1 : 0);  // size counts the NUL
  }

  avro_value_t* record_;
  const std::string& origin_;
};

Result<DataFile> ReadDataFile(avro_value_t* df, const std::string& origin) {
  Fields f(df, origin);
  DataFile out;
  MIGSBYU_ASSIGN(auto content, f.OptionalInt("content"));  // v1 manifests have none: data
  int32_t c = content.value_or(0);
  if (c < 0 || c > 2) return Error::Corruption(origin + ": data_file.content " + std::to_string(c));
  out.content = static_cast<FileContent>(c);
  MIGSBYU_ASSIGN(out.file_path, f.String("file_path"));
  MIGSBYU_ASSIGN(out.file_format, f.String("file_format"));
  MIGSBYU_ASSIGN(out.record_count, f.Long("record_count"));
  MIGSBYU_ASSIGN(out.file_size_in_bytes, f.Long("file_size_in_bytes"));
  MIGSBYU_TRY(f.IntMap("column_sizes", &out.column_sizes));
  MIGSBYU_TRY(f.IntMap("value_counts", &out.value_counts));
  MIGSBYU_TRY(f.IntMap("null_value_counts", &out.null_value_counts));
  MIGSBYU_TRY(f.IntMap("nan_value_counts", &out.nan_value_counts));
  MIGSBYU_TRY(f.IntMap("lower_bounds", &out.lower_bounds));
  MIGSBYU_TRY(f.IntMap("upper_bounds", &out.upper_bounds));
  MIGSBYU_TRY(f.List("split_offsets", &out.split_offsets));
  MIGSBYU_TRY(f.List("equality_ids", &out.equality_ids));
  MIGSBYU_ASSIGN(out.sort_order_id, f.OptionalInt("sort_order_id"));
  MIGSBYU_ASSIGN(out.referenced_data_file, f.OptionalString("referenced_data_file"));
  return out;
}

std::string ContentName(ManifestContent content) {
  return content == ManifestContent::kData ? "data" : "deletes";
}

}  // namespace

Result<std::string> EncodeManifest(const std::vector<ManifestEntry>& entries, const Schema& schema,
                                   ManifestContent content) {
  std::vector<std::pair<std::string, std::string>> header = {
      {"schema", SchemaToJsonText(schema)},
      {"schema-id", std::to_string(schema.schema_id)},
      {"partition-spec", "[]"},
      {"partition-spec-id", "0"},
      {"format-version", "2"},
      {"content", ContentName(content)},
  };
  MIGSBYU_ASSIGN(AvroContainerWriter writer,
                 AvroContainerWriter::Create(ManifestEntrySchema(), std::move(header)));
  for (const auto& e : entries) {
    bool is_data = e.file.content == FileContent::kData;
    if (is_data != (content == ManifestContent::kData)) {
      return Error::InvalidArgument("file " + e.file.file_path + " does not belong in a " +
                                    ContentName(content) + " manifest");
    }
    avro_value_t* record = writer.record();
    MIGSBYU_TRY(SetInt(record, "status", static_cast<int32_t>(e.status)));
    MIGSBYU_TRY(SetOptional(record, "snapshot_id", e.snapshot_id));
    MIGSBYU_TRY(SetOptional(record, "sequence_number", e.sequence_number));
    MIGSBYU_TRY(SetOptional(record, "file_sequence_number", e.file_sequence_number));
    MIGSBYU_ASSIGN(avro_value_t df, Child(record, "data_file"));
    MIGSBYU_TRY(FillDataFile(&df, e.file));
    MIGSBYU_TRY(writer.Append());
  }
  return writer.Finish();
}

Result<std::vector<ManifestEntry>> DecodeManifest(const std::string& bytes,
                                                  const std::string& origin,
                                                  const ManifestFile& listed) {
  // Avro containers have no footer, so a file cut at a block boundary would read as a shorter,
  // valid one; the manifest list records the length.
  if (listed.manifest_length > 0 && static_cast<int64_t>(bytes.size()) != listed.manifest_length) {
    return Error::Corruption(origin + ": " + std::to_string(bytes.size()) +
                             " bytes, the manifest list says " +
                             std::to_string(listed.manifest_length));
  }
  MIGSBYU_ASSIGN(AvroContainerReader reader, AvroContainerReader::Open(bytes, origin));
  auto content = reader.metadata().find("content");
  if (content == reader.metadata().end() || content->second != ContentName(listed.content)) {
    return Error::Corruption(origin + ": header content does not match the manifest list's (" +
                             ContentName(listed.content) + ")");
  }
  std::vector<ManifestEntry> entries;
  for (;;) {
    MIGSBYU_ASSIGN(bool more, reader.Next());
    if (!more) break;
    Fields f(reader.record(), origin);
    ManifestEntry e;
    MIGSBYU_ASSIGN(int32_t status, f.Int("status"));
    if (status < 0 || status > 2) {
      return Error::Corruption(origin + ": entry status " + std::to_string(status));
    }
    e.status = static_cast<EntryStatus>(status);
    MIGSBYU_ASSIGN(e.snapshot_id, f.OptionalLong("snapshot_id"));
    MIGSBYU_ASSIGN(e.sequence_number, f.OptionalLong("sequence_number"));
    MIGSBYU_ASSIGN(e.file_sequence_number, f.OptionalLong("file_sequence_number"));
    if (e.status == EntryStatus::kAdded) {
      if (!e.snapshot_id) e.snapshot_id = listed.added_snapshot_id;
      if (!e.sequence_number) e.sequence_number = listed.sequence_number;
      if (!e.file_sequence_number) e.file_sequence_number = listed.sequence_number;
    } else if (!e.sequence_number || !e.file_sequence_number) {
      return Error::Corruption(origin +
                               ": an existing or deleted entry lacks its sequence numbers");
    }
    MIGSBYU_ASSIGN(avro_value_t df, f.Need("data_file"));
    MIGSBYU_ASSIGN(e.file, ReadDataFile(&df, origin));
    if ((e.file.content == FileContent::kData) != (listed.content == ManifestContent::kData)) {
      return Error::Corruption(origin + ": file " + e.file.file_path + " in a " +
                               ContentName(listed.content) + " manifest");
    }
    entries.push_back(std::move(e));
  }
  return entries;
}

Result<std::map<std::string, std::string>> AvroHeader(const std::string& bytes,
                                                      const std::string& origin) {
  MIGSBYU_ASSIGN(AvroContainerReader reader, AvroContainerReader::Open(bytes, origin));
  return reader.metadata();
}

ManifestFile SummarizeManifest(const std::vector<ManifestEntry>& entries, ManifestContent content,
                               int64_t inherited_sequence) {
  ManifestFile m;
  m.content = content;
  m.min_sequence_number = std::numeric_limits<int64_t>::max();
  for (const auto& e : entries) {
    switch (e.status) {
      case EntryStatus::kAdded:
        ++m.added_files_count;
        m.added_rows_count += e.file.record_count;
        break;
      case EntryStatus::kExisting:
        ++m.existing_files_count;
        m.existing_rows_count += e.file.record_count;
        break;
      case EntryStatus::kDeleted:
        ++m.deleted_files_count;
        m.deleted_rows_count += e.file.record_count;
        continue;  // not live: no part in the minimum
    }
    m.min_sequence_number =
        std::min(m.min_sequence_number, e.sequence_number.value_or(inherited_sequence));
  }
  if (m.min_sequence_number == std::numeric_limits<int64_t>::max()) {
    m.min_sequence_number = inherited_sequence;
  }
  return m;
}

Result<std::string> EncodeManifestList(const std::vector<ManifestFile>& manifests,
                                       const ManifestListHeader& header) {
  std::vector<std::pair<std::string, std::string>> meta = {
      {"snapshot-id", std::to_string(header.snapshot_id)}};
  if (header.parent_snapshot_id) {
    meta.emplace_back("parent-snapshot-id", std::to_string(*header.parent_snapshot_id));
  }
  meta.emplace_back("sequence-number", std::to_string(header.sequence_number));
  meta.emplace_back("format-version", "2");
  MIGSBYU_ASSIGN(AvroContainerWriter writer,
                 AvroContainerWriter::Create(ManifestFileSchema(), std::move(meta)));
  for (const auto& m : manifests) {
    avro_value_t* r = writer.record();
    MIGSBYU_TRY(SetString(r, "manifest_path", m.manifest_path));
    MIGSBYU_TRY(SetLong(r, "manifest_length", m.manifest_length));
    MIGSBYU_TRY(SetInt(r, "partition_spec_id", m.partition_spec_id));
    MIGSBYU_TRY(SetInt(r, "content", static_cast<int32_t>(m.content)));
    MIGSBYU_TRY(SetLong(r, "sequence_number", m.sequence_number));
    MIGSBYU_TRY(SetLong(r, "min_sequence_number", m.min_sequence_number));
    MIGSBYU_TRY(SetLong(r, "added_snapshot_id", m.added_snapshot_id));
    MIGSBYU_TRY(SetInt(r, "added_files_count", m.added_files_count));
    MIGSBYU_TRY(SetInt(r, "existing_files_count", m.existing_files_count));
    MIGSBYU_TRY(SetInt(r, "deleted_files_count", m.deleted_files_count));
    MIGSBYU_TRY(SetLong(r, "added_rows_count", m.added_rows_count));
    MIGSBYU_TRY(SetLong(r, "existing_rows_count", m.existing_rows_count));
    MIGSBYU_TRY(SetLong(r, "deleted_rows_count", m.deleted_rows_count));
    // Unpartitioned: one summary per partition field, so none, written as an empty list.
    MIGSBYU_TRY(Present(r, "partitions"));
    MIGSBYU_TRY(SetNull(r, "key_metadata"));
    MIGSBYU_TRY(writer.Append());
  }
  return writer.Finish();
}

Result<std::vector<ManifestFile>> DecodeManifestList(const std::string& bytes,
                                                     const std::string& origin) {
  MIGSBYU_ASSIGN(AvroContainerReader reader, AvroContainerReader::Open(bytes, origin));
  std::vector<ManifestFile> out;
  for (;;) {
    MIGSBYU_ASSIGN(bool more, reader.Next());
    if (!more) break;
    Fields f(reader.record(), origin);
    ManifestFile m;
    MIGSBYU_ASSIGN(m.manifest_path, f.String("manifest_path"));
    MIGSBYU_ASSIGN(m.manifest_length, f.Long("manifest_length"));
    MIGSBYU_ASSIGN(m.partition_spec_id, f.Int("partition_spec_id"));
    MIGSBYU_ASSIGN(int32_t content, f.Int("content"));
    if (content != 0 && content != 1) {
      return Error::Corruption(origin + ": manifest content " + std::to_string(content));
    }
    m.content = static_cast<ManifestContent>(content);
    MIGSBYU_ASSIGN(m.sequence_number, f.Long("sequence_number"));
    MIGSBYU_ASSIGN(m.min_sequence_number, f.Long("min_sequence_number"));
    MIGSBYU_ASSIGN(m.added_snapshot_id, f.Long("added_snapshot_id"));
    MIGSBYU_ASSIGN(m.added_files_count, f.Int("added_files_count"));
    MIGSBYU_ASSIGN(m.existing_files_count, f.Int("existing_files_count"));
    MIGSBYU_ASSIGN(m.deleted_files_count, f.Int("deleted_files_count"));
    MIGSBYU_ASSIGN(m.added_rows_count, f.Long("added_rows_count"));
    MIGSBYU_ASSIGN(m.existing_rows_count, f.Long("existing_rows_count"));
    MIGSBYU_ASSIGN(m.deleted_rows_count, f.Long("deleted_rows_count"));
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace migsbyu::iceberg
