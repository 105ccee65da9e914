// Table metadata against the spec: every v2 field, per object, as listed by hand in
// testdata/metadata_v2_fields.txt; round trips; damaged and hostile metadata refused.
#include "lake/iceberg/metadata.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "lake/iceberg/files.h"
#include "lake/iceberg/table.h"
#include "lake/iceberg/testing.h"

namespace migsbyu::iceberg {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Rule {
  std::string object, key, kind, type;
};

std::vector<Rule> Rules() {
  std::ifstream in(MIGSBYU_ICEBERG_TESTDATA "/metadata_v2_fields.txt");
  EXPECT_TRUE(in) << "testdata missing";
  std::vector<Rule> rules;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::stringstream words(line);
    Rule r;
    words >> r.object >> r.key >> r.kind >> r.type;
    rules.push_back(r);
  }
  return rules;
}

// Every instance of `object` in a metadata document.
std::vector<json*> Instances(json& doc, const std::string& object) {
  std::vector<json*> out;
  auto each = [&](const char* key) {
    if (doc.contains(key)) {
      for (auto& v : doc[key]) out.push_back(&v);
    }
  };
  if (object == "table") out.push_back(&doc);
  if (object == "schema") each("schemas");
  if (object == "partition-spec") each("partition-specs");
  if (object == "sort-order") each("sort-orders");
  if (object == "snapshot") each("snapshots");
  if (object == "ref") each("refs");
  if (object == "snapshot-log") each("snapshot-log");
  if (object == "metadata-log") each("metadata-log");
  if (object == "field") {
    for (auto& s : doc["schemas"]) {
      for (auto& f : s["fields"]) out.push_back(&f);
    }
  }
  if (object == "summary") {
    for (auto& s : doc["snapshots"]) out.push_back(&s["summary"]);
  }
  return out;
}

bool HasType(const json& v, const std::string& type) {
  if (type == "int") return v.is_number_integer();
  if (type == "string") return v.is_string();
  if (type == "bool") return v.is_boolean();
  if (type == "array") return v.is_array();
  if (type == "object") return v.is_object();
  ADD_FAILURE() << "unknown type " << type;
  return false;
}

class MetadataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Schema schema{0,
                  {Field{1, "id", Type::Of(TypeId::kLong), true, "the key"},
                   Field{2, "name", Type::Of(TypeId::kString), false, ""}},
                  {1}};
    auto table = Table::Create(dir_ + "/ns/t", schema, {{"owner", "migsbyu"}});
    ASSERT_TRUE(table.ok()) << table.error().ToString();
    table_.emplace(std::move(table).value());
    // Snapshots, a schema change and a second snapshot: every object the metadata can hold.
    ASSERT_TRUE(table_->Commit(Append("a")).ok());
    ASSERT_TRUE(
        table_->UpdateSchema({SchemaChange::AddColumn("email", Type::Of(TypeId::kString))}).ok());
    SnapshotUpdate second = Append("b");
    second.summary["migsbyu.commit-lsn"] = "42";
    second.summary["migsbyu.note"] = "a \"quoted\" \\ line\n\t\x01 \xC3\xA9";  // escaped
    ASSERT_TRUE(table_->Commit(second).ok());
    auto text = ReadWholeFile(dir_ + "/ns/t/metadata/v" + std::to_string(table_->version()) +
                              ".metadata.json");
    ASSERT_TRUE(text.ok());
    text_ = *text;
  }
  // An append of a file that need not exist: commits read no data file.
  SnapshotUpdate Append(const std::string& name) {
    DataFile f;
    f.file_path = table_->location() + "/data/" + name + ".parquet";
    f.record_count = 10;
    f.file_size_in_bytes = 1000;
    SnapshotUpdate u;
    u.added_files = {f};
    return u;
  }

  testing::ScratchDirectory scratch_{"iceberg_metadata"};
  const std::string dir_ = scratch_.path();
  std::optional<Table> table_;
  std::string text_;
};

TEST_F(MetadataTest, EveryV2FieldIsWrittenWithItsType) {
  json doc = json::parse(text_);
  std::set<std::string> objects_seen;
  int checks = 0;
  for (const Rule& r : Rules()) {
    SCOPED_TRACE(r.object + " " + r.key);
    std::vector<json*> instances = Instances(doc, r.object);
    ASSERT_FALSE(instances.empty()) << "the test table holds no " << r.object;
    for (json* o : instances) {
      ++checks;
      if (r.kind == "forbidden") {
        EXPECT_FALSE(o->contains(r.key));
      } else if (r.kind == "required") {
        ASSERT_TRUE(o->contains(r.key));
        EXPECT_TRUE(HasType((*o)[r.key], r.type)) << (*o)[r.key].dump();
      } else {
        ASSERT_EQ(r.kind, "optional");
        if (o->contains(r.key)) {
          EXPECT_TRUE(HasType((*o)[r.key], r.type));
        }
      }
    }
  }
  EXPECT_GE(checks, 80);
  // Values the spec fixes.
  EXPECT_EQ(doc["format-version"], 2);
  EXPECT_EQ(doc["current-snapshot-id"], doc["refs"]["main"]["snapshot-id"]);
  EXPECT_EQ(doc["refs"]["main"]["type"], "branch");
  EXPECT_EQ(doc["location"], FileUri(dir_ + "/ns/t"));
  EXPECT_EQ(doc["partition-specs"], json::parse(R"([{"spec-id":0,"fields":[]}])"));
  EXPECT_EQ(doc["sort-orders"], json::parse(R"([{"order-id":0,"fields":[]}])"));
  EXPECT_EQ(doc["last-column-id"], 3);
  EXPECT_EQ(doc["current-schema-id"], 1);
  EXPECT_EQ(doc["last-sequence-number"], 2);
  ASSERT_EQ(doc["snapshots"].size(), 2u);
  EXPECT_EQ(doc["snapshots"][1]["parent-snapshot-id"], doc["snapshots"][0]["snapshot-id"]);
  EXPECT_EQ(doc["snapshots"][1]["sequence-number"], 2);
  EXPECT_EQ(doc["snapshots"][1]["schema-id"], 1);
  EXPECT_FALSE(doc["snapshots"][0].contains("parent-snapshot-id"));
  EXPECT_GT(doc["snapshots"][0]["snapshot-id"].get<int64_t>(), 0);
  const json& summary = doc["snapshots"][1]["summary"];
  EXPECT_EQ(summary["operation"], "append");
  EXPECT_EQ(summary["added-data-files"], "1");
  EXPECT_EQ(summary["added-records"], "10");
  EXPECT_EQ(summary["total-records"], "20");
  EXPECT_EQ(summary["total-data-files"], "2");
  EXPECT_EQ(summary["total-delete-files"], "0");
  EXPECT_EQ(summary["migsbyu.commit-lsn"], "42");
  ASSERT_EQ(doc["metadata-log"].size(), 3u);  // v1, v2, v3 precede v4
  EXPECT_EQ(doc["metadata-log"][0]["metadata-file"],
            FileUri(dir_ + "/ns/t/metadata/v1.metadata.json"));
  EXPECT_EQ(doc["snapshot-log"].size(), 2u);
  EXPECT_EQ(doc["schemas"][0]["identifier-field-ids"], json::array({1}));
  // The hint names the latest version, as readers of the Hadoop layout expect: digits only.
  EXPECT_EQ(*ReadWholeFile(dir_ + "/ns/t/metadata/version-hint.text"), "4");
}

TEST_F(MetadataTest, RoundTripIsExact) {
  auto m = MetadataFromJson(text_, "v4");
  ASSERT_TRUE(m.ok()) << m.error().ToString();
  EXPECT_EQ(*m, table_->metadata());
  auto again = MetadataFromJson(MetadataToJson(*m), "again");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *m);
}

TEST_F(MetadataTest, MissingOrMistypedRequiredFieldsAreRefused) {
  int refused = 0;
  for (const Rule& r : Rules()) {
    if (r.kind != "required") continue;
    for (int mistype = 0; mistype < 2; ++mistype) {
      SCOPED_TRACE(r.object + " " + r.key + (mistype ? " mistyped" : " missing"));
      json doc = json::parse(text_);
      json* first = Instances(doc, r.object).at(0);
      if (mistype) {
        (*first)[r.key] = r.type == "string" ? json(12) : json("twelve");
      } else {
        first->erase(r.key);
      }
      auto m = MetadataFromJson(doc.dump(), "damaged");
      ASSERT_FALSE(m.ok());
      EXPECT_EQ(m.error().code(), ErrorCode::kCorruption);
      ++refused;
    }
  }
  EXPECT_GE(refused, 60);
}

TEST_F(MetadataTest, InconsistentMetadataIsRefused) {
  std::vector<std::function<void(json&)>> damage = {
      [](json& d) { d["format-version"] = 1; },
      [](json& d) { d["format-version"] = 3; },
      [](json& d) { d["current-schema-id"] = 99; },
      [](json& d) { d["default-spec-id"] = 5; },
      [](json& d) { d["default-sort-order-id"] = 5; },
      [](json& d) { d["current-snapshot-id"] = 12345; },
      [](json& d) { d["refs"]["main"]["snapshot-id"] = d["snapshots"][0]["snapshot-id"]; },
      [](json& d) { d["refs"]["main"]["type"] = "trunk"; },
      [](json& d) { d["last-column-id"] = 2; },
      [](json& d) { d["last-sequence-number"] = 1; },
      [](json& d) { d["snapshots"][1]["snapshot-id"] = d["snapshots"][0]["snapshot-id"]; },
      [](json& d) { d["snapshots"][0]["summary"].erase("operation"); },
      [](json& d) { d["snapshots"][0]["schema-id"] = 42; },
      [](json& d) { d["schemas"][1]["schema-id"] = 0; },
      [](json& d) { d["schemas"][0]["fields"][1]["id"] = 1; },
      [](json& d) { d["properties"]["owner"] = 7; },
      [](json& d) { d = json::array(); },
  };
  for (size_t i = 0; i < damage.size(); ++i) {
    SCOPED_TRACE("damage " + std::to_string(i));
    json doc = json::parse(text_);
    damage[i](doc);
    auto m = MetadataFromJson(doc.dump(), "damaged");
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.error().code(), ErrorCode::kCorruption);
  }
  EXPECT_FALSE(MetadataFromJson("{\"format-version\": 2", "torn").ok());
  EXPECT_FALSE(MetadataFromJson("", "empty").ok());
}

TEST_F(MetadataTest, AsOfLooksUpTheSnapshotLog) {
  const TableMetadata& m = table_->metadata();
  ASSERT_EQ(m.snapshot_log.size(), 2u);
  int64_t first = m.snapshot_log[0].timestamp_ms, second = m.snapshot_log[1].timestamp_ms;
  EXPECT_EQ(*m.SnapshotIdAsOf(first), m.snapshot_log[0].snapshot_id);
  EXPECT_EQ(*m.SnapshotIdAsOf(second + 1000), m.snapshot_log[1].snapshot_id);
  EXPECT_EQ(m.SnapshotIdAsOf(first - 1).error().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace migsbyu::iceberg
