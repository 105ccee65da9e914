// Manifests and manifest lists: read back by the Avro C library's own container reader (not
// ours), field ids as the spec assigns them, sequence-number inheritance, damaged files.
#include "lake/iceberg/manifest.h"

#include <avro.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "lake/iceberg/files.h"

namespace migsbyu::iceberg {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

Schema TableSchema() {
  return Schema{4,
                {Field{1, "id", Type::Of(TypeId::kLong), false, ""},
                 Field{2, "name", Type::Of(TypeId::kString), false, ""}},
                {}};
}

DataFile RichFile(const std::string& path) {
  DataFile f;
  f.file_path = path;
  f.record_count = 3;
  f.file_size_in_bytes = 1234;
  f.column_sizes = {{1, 40}, {2, 70}};
  f.value_counts = {{1, 3}, {2, 3}};
  f.null_value_counts = {{1, 0}, {2, 1}};
  f.nan_value_counts = {};
  f.lower_bounds = {{1, std::string("\x01\0\0\0\0\0\0\0", 8)}, {2, "abc"}};
  f.upper_bounds = {{1, std::string("\x09\0\0\0\0\0\0\0", 8)}, {2, "xyz"}};
  f.split_offsets = {4, 1000};
  f.sort_order_id = 0;
  return f;
}

std::vector<ManifestEntry> Entries() {
  ManifestEntry added{EntryStatus::kAdded, 77, std::nullopt, std::nullopt,
                      RichFile("file:///t/data/a.parquet")};
  ManifestEntry existing{EntryStatus::kExisting, 55, 3, 4, RichFile("file:///t/data/b.parquet")};
  return {added, existing};
}

std::string WriteTemp(const std::string& bytes, const std::string& name) {
  std::string path =
      (fs::temp_directory_path() / (name + std::to_string(getpid()) + ".avro")).string();
  fs::remove(path);
  EXPECT_TRUE(WriteNewFile(path, bytes).ok());
  return path;
}

// Reads every record of an Avro file with avro-c's datafile reader, calling `check` on each.
int ReadWithAvroC(const std::string& path, const std::function<void(avro_value_t*)>& check) {
  avro_file_reader_t reader;
  EXPECT_EQ(avro_file_reader(path.c_str(), &reader), 0) << avro_strerror();
  avro_schema_t schema = avro_file_reader_get_writer_schema(reader);
  avro_value_iface_t* iface = avro_generic_class_from_schema(schema);
  avro_value_t value;
  avro_generic_value_new(iface, &value);
  int n = 0;
  while (avro_file_reader_read_value(reader, &value) == 0) {
    check(&value);
    ++n;
  }
  avro_value_decref(&value);
  avro_value_iface_decref(iface);
  avro_file_reader_close(reader);
  return n;
}

avro_value_t Get(avro_value_t* v, const char* name) {
  avro_value_t child;
  EXPECT_EQ(avro_value_get_by_name(v, name, &child, nullptr), 0) << name;
  if (avro_value_get_type(&child) == AVRO_UNION) {
    avro_value_t branch;
    avro_value_get_current_branch(&child, &branch);
    return branch;
  }
  return child;
}

int64_t Long(avro_value_t* v, const char* name) {
  avro_value_t c = Get(v, name);
  int64_t out = -1;
  avro_value_get_long(&c, &out);
  return out;
}

int32_t Int(avro_value_t* v, const char* name) {
  avro_value_t c = Get(v, name);
  int32_t out = -1;
  avro_value_get_int(&c, &out);
  return out;
}

std::string Str(avro_value_t* v, const char* name) {
  avro_value_t c = Get(v, name);
  const char* s = nullptr;
  size_t size = 0;
  avro_value_get_string(&c, &s, &size);
  return s ? std::string(s, size - 1) : "";
}

bool IsNull(avro_value_t* v, const char* name) {
  avro_value_t c = Get(v, name);
  return avro_value_get_type(&c) == AVRO_NULL;
}

TEST(ManifestTest, AvroCReadsTheManifestWeWrite) {
  auto bytes = EncodeManifest(Entries(), TableSchema(), ManifestContent::kData);
  ASSERT_TRUE(bytes.ok()) << bytes.error().ToString();
  std::string path = WriteTemp(*bytes, "manifest_");
  int row = 0;
  int n = ReadWithAvroC(path, [&](avro_value_t* e) {
    EXPECT_EQ(Int(e, "status"), row == 0 ? 1 : 0);
    EXPECT_EQ(Long(e, "snapshot_id"), row == 0 ? 77 : 55);
    EXPECT_EQ(IsNull(e, "sequence_number"), row == 0);
    if (row == 1) {
      EXPECT_EQ(Long(e, "file_sequence_number"), 4);
    }
    avro_value_t df = Get(e, "data_file");
    EXPECT_EQ(Int(&df, "content"), 0);
    EXPECT_EQ(Str(&df, "file_path"),
              row == 0 ? "file:///t/data/a.parquet" : "file:///t/data/b.parquet");
    EXPECT_EQ(Str(&df, "file_format"), "PARQUET");
    EXPECT_EQ(Long(&df, "record_count"), 3);
    EXPECT_EQ(Long(&df, "file_size_in_bytes"), 1234);
    avro_value_t bounds = Get(&df, "upper_bounds");
    size_t count = 0;
    avro_value_get_size(&bounds, &count);
    ASSERT_EQ(count, 2u);
    avro_value_t pair, key, value;
    avro_value_get_by_index(&bounds, 1, &pair, nullptr);
    avro_value_get_by_index(&pair, 0, &key, nullptr);
    avro_value_get_by_index(&pair, 1, &value, nullptr);
    int32_t k = 0;
    avro_value_get_int(&key, &k);
    const void* b = nullptr;
    size_t size = 0;
    avro_value_get_bytes(&value, &b, &size);
    EXPECT_EQ(k, 2);
    EXPECT_EQ(std::string(static_cast<const char*>(b), size), "xyz");
    avro_value_t offsets = Get(&df, "split_offsets");
    avro_value_get_size(&offsets, &count);
    EXPECT_EQ(count, 2u);
    EXPECT_TRUE(IsNull(&df, "equality_ids"));
    EXPECT_TRUE(IsNull(&df, "nan_value_counts"));
    ++row;
  });
  EXPECT_EQ(n, 2);
  fs::remove(path);
}

// The field id a dotted path names in an Avro schema that carries Iceberg's ids.
std::optional<int> FieldId(const json& record, const std::string& dotted) {
  std::vector<std::string> names;
  std::stringstream in(dotted);
  for (std::string n; std::getline(in, n, '.');) names.push_back(n);
  const json* type = &record;
  std::optional<int> id;
  for (const auto& name : names) {
    // Unwrap an optional (a union with null) to its value type.
    if (type->is_array()) type = &(*type)[1];
    if (type->is_object() && (*type)["type"] == "array") {
      if (name == "element") {
        if (!type->contains("element-id")) return std::nullopt;
        id = (*type)["element-id"].get<int>();
        continue;
      }
      type = &(*type)["items"];  // a map's key/value record, or a list's element record
    }
    if (!type->is_object() || !type->contains("fields")) return std::nullopt;
    const json* found = nullptr;
    for (const auto& f : (*type)["fields"]) {
      if (f["name"] == name) found = &f;
    }
    if (!found || !found->contains("field-id")) return std::nullopt;
    id = (*found)["field-id"].get<int>();
    type = &(*found)["type"];
  }
  return id;
}

TEST(ManifestTest, FieldIdsAndHeaderAreTheSpecs) {
  auto manifest = EncodeManifest(Entries(), TableSchema(), ManifestContent::kData);
  ManifestFile listed;
  listed.manifest_path = "file:///t/metadata/m.avro";
  auto list = EncodeManifestList({listed}, ManifestListHeader{9, 8, 2});
  ASSERT_TRUE(manifest.ok() && list.ok());
  auto manifest_header = AvroHeader(*manifest, "manifest");
  auto list_header = AvroHeader(*list, "list");
  ASSERT_TRUE(manifest_header.ok() && list_header.ok());
  std::map<std::string, json> schemas = {
      {"manifest_entry", json::parse(manifest_header->at("avro.schema"))},
      {"manifest_file", json::parse(list_header->at("avro.schema"))}};

  std::ifstream in(MIGSBYU_ICEBERG_TESTDATA "/manifest_field_ids.txt");
  ASSERT_TRUE(in) << "testdata missing";
  int checked = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::stringstream words(line);
    std::string record, path;
    int expected = -1;
    words >> record >> path >> expected;
    SCOPED_TRACE(line);
    ASSERT_TRUE(schemas.count(record));
    EXPECT_EQ(schemas[record]["name"], record);
    EXPECT_EQ(FieldId(schemas[record], path), expected);
    ++checked;
  }
  EXPECT_GE(checked, 50);

  // The manifest's key-value metadata the spec requires for v2.
  const auto& h = *manifest_header;
  EXPECT_EQ(h.at("schema-id"), "4");
  EXPECT_EQ(h.at("partition-spec"), "[]");
  EXPECT_EQ(h.at("partition-spec-id"), "0");
  EXPECT_EQ(h.at("format-version"), "2");
  EXPECT_EQ(h.at("content"), "data");
  auto schema = SchemaFromJson(json::parse(h.at("schema")), "header");
  ASSERT_TRUE(schema.ok());
  EXPECT_TRUE(schema->SameColumns(TableSchema()));
  EXPECT_EQ(h.at("avro.codec"), "null");
  EXPECT_EQ(list_header->at("snapshot-id"), "9");
  EXPECT_EQ(list_header->at("parent-snapshot-id"), "8");
  EXPECT_EQ(list_header->at("sequence-number"), "2");
  EXPECT_EQ(list_header->at("format-version"), "2");

  DataFile deletes = RichFile("file:///t/data/d.parquet");
  deletes.content = FileContent::kPositionDeletes;
  auto delete_manifest = EncodeManifest({ManifestEntry{EntryStatus::kAdded, 1, {}, {}, deletes}},
                                        TableSchema(), ManifestContent::kDeletes);
  ASSERT_TRUE(delete_manifest.ok());
  EXPECT_EQ(AvroHeader(*delete_manifest, "deletes")->at("content"), "deletes");
  // A delete file does not go in a data manifest.
  EXPECT_FALSE(EncodeManifest({ManifestEntry{EntryStatus::kAdded, 1, {}, {}, deletes}},
                              TableSchema(), ManifestContent::kData)
                   .ok());
}

TEST(ManifestTest, AddedEntriesInheritSequenceNumbersFromTheList) {
  auto bytes = EncodeManifest(Entries(), TableSchema(), ManifestContent::kData);
  ASSERT_TRUE(bytes.ok());
  ManifestFile listed;
  listed.sequence_number = 7;
  listed.added_snapshot_id = 77;
  auto entries = DecodeManifest(*bytes, "m", listed);
  ASSERT_TRUE(entries.ok()) << entries.error().ToString();
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[0].sequence_number, 7);
  EXPECT_EQ((*entries)[0].file_sequence_number, 7);
  EXPECT_EQ((*entries)[1].sequence_number, 3);  // existing: as first inherited
  EXPECT_EQ((*entries)[1].file_sequence_number, 4);
  EXPECT_EQ((*entries)[0].file, Entries()[0].file);
  EXPECT_EQ((*entries)[1].file, Entries()[1].file);

  ManifestFile summary = SummarizeManifest(*entries, ManifestContent::kData, 7);
  EXPECT_EQ(summary.added_files_count, 1);
  EXPECT_EQ(summary.existing_files_count, 1);
  EXPECT_EQ(summary.added_rows_count, 3);
  EXPECT_EQ(summary.min_sequence_number, 3);

  // An existing entry without sequence numbers breaks the spec's rule.
  std::vector<ManifestEntry> bad = {
      ManifestEntry{EntryStatus::kExisting, 5, {}, {}, RichFile("file:///x")}};
  auto bad_bytes = EncodeManifest(bad, TableSchema(), ManifestContent::kData);
  ASSERT_TRUE(bad_bytes.ok());
  EXPECT_EQ(DecodeManifest(*bad_bytes, "m", listed).error().code(), ErrorCode::kCorruption);
}

TEST(ManifestTest, ManifestListRoundTripsAndAvroCReadsIt) {
  std::vector<ManifestFile> manifests(2);
  manifests[0] = ManifestFile{"file:///t/metadata/a-m0.avro",
                              500,
                              0,
                              ManifestContent::kData,
                              3,
                              1,
                              11,
                              2,
                              5,
                              1,
                              20,
                              100,
                              7};
  manifests[1] = ManifestFile{"file:///t/metadata/b-m0.avro",
                              300,
                              0,
                              ManifestContent::kDeletes,
                              3,
                              3,
                              11,
                              1,
                              0,
                              0,
                              4,
                              0,
                              0};
  auto bytes = EncodeManifestList(manifests, ManifestListHeader{11, std::nullopt, 3});
  ASSERT_TRUE(bytes.ok());
  auto back = DecodeManifestList(*bytes, "list");
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  EXPECT_EQ(*back, manifests);
  EXPECT_FALSE(AvroHeader(*bytes, "list")->count("parent-snapshot-id"));
  std::string path = WriteTemp(*bytes, "list_");
  int row = 0;
  EXPECT_EQ(
      ReadWithAvroC(path,
                    [&](avro_value_t* m) {
                      EXPECT_EQ(Str(m, "manifest_path"), manifests[row].manifest_path);
                      EXPECT_EQ(Int(m, "content"), row);
                      EXPECT_EQ(Long(m, "min_sequence_number"), manifests[row].min_sequence_number);
                      EXPECT_EQ(Long(m, "existing_rows_count"), manifests[row].existing_rows_count);
                      avro_value_t partitions = Get(m, "partitions");
                      size_t n = 99;
                      avro_value_get_size(&partitions, &n);
                      EXPECT_EQ(n, 0u);
                      ++row;
                    }),
      2);
  fs::remove(path);
}

TEST(ManifestTest, DamagedFilesAreCorruptionNotCrashes) {
  auto bytes = EncodeManifest(Entries(), TableSchema(), ManifestContent::kData);
  ASSERT_TRUE(bytes.ok());
  ManifestFile listed;
  listed.manifest_length = static_cast<int64_t>(bytes->size());
  // Every truncation fails cleanly.
  for (size_t n = 0; n < bytes->size(); ++n) {
    auto r = DecodeManifest(bytes->substr(0, n), "m", listed);
    ASSERT_FALSE(r.ok()) << "truncated at " << n;
    EXPECT_EQ(r.error().code(), ErrorCode::kCorruption) << n;
  }
  // Flipped bytes: a clean error or, where the damage stays inside a value, a decoded manifest.
  std::mt19937 rng(12345);
  for (int i = 0; i < 2000; ++i) {
    std::string damaged = *bytes;
    for (int k = 0; k < 3; ++k)
      damaged[rng() % damaged.size()] ^= static_cast<char>(1 + rng() % 255);
    auto r = DecodeManifest(damaged, "m", listed);
    if (!r.ok()) {
      EXPECT_EQ(r.error().code(), ErrorCode::kCorruption) << r.error().ToString();
    }
  }
  EXPECT_FALSE(DecodeManifestList("not avro at all", "list").ok());
}

}  // namespace
}  // namespace migsbyu::iceberg
