// The lake as Iceberg tables, read by an independent reader: after a mixed workload through the
// lake's writer (deletes, a re-insert, enrollments dropped and re-made, a compaction folding the
// SCD2 closes, small commits that make the Iceberg tables compact), icebird (pure JavaScript,
// tests/lake/package.json) opens every table of the lake through its version hint, over loopback
// HTTP, and its rows equal the lake's own views exactly; an older lake commit's snapshot of the
// students' dimension, read through icebird's time travel (the metadata file the commit record
// names), equals the dimension as the lake showed it then, and its versions in force at that
// commit's time are those the analytics API's as-of gives. Every table's metadata is checked
// field by field against the spec's list (src/lake/iceberg/testdata/metadata_v2_fields.txt) and
// its manifest list and manifests are read back with avro-c's own reader.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "analytics/lake_access.h"
#include "analytics/service.h"
#include "lake/commit_record.h"
#include "lake/iceberg/files.h"
#include "lake/iceberg/table.h"
#include "lake/iceberg/testing.h"
#include "lake/lake.h"
#include "lake/testing.h"
#include "lake/writer.h"

namespace migsbyu::lake {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using Rows = std::vector<std::vector<std::string>>;

// What icebird read of one table version: its columns and its rows (sorted).
struct IcebirdRead {
  std::vector<std::string> columns;
  Rows rows;
};

IcebirdRead ReadWithIcebird(const std::string& lake, const std::string& table,
                            const std::string& version) {
  std::string out = iceberg::testing::RunNode(
      MIGSBYU_LAKE_TESTS_DIR, "read_iceberg.mjs '" + lake + "' 'public/" + table + "' " + version);
  IcebirdRead read;
  std::stringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] != '{') continue;
    json j = json::parse(line);
    read.columns = j["columns"].get<std::vector<std::string>>();
    read.rows = j["rows"].get<Rows>();
  }
  std::sort(read.rows.begin(), read.rows.end());
  return read;
}

std::vector<std::string> Names(const iceberg::Schema& schema) {
  std::vector<std::string> names;
  for (const auto& f : schema.fields) names.push_back(f.name);
  return names;
}

class LakeIcebergTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.dir = dir_;
    options_.iceberg.interval = std::chrono::milliseconds(0);
    options_.iceberg.max_data_files = 4;
    options_.iceberg.max_delete_files = 2;
    auto lake = Lake::Open(dir_, 1);
    ASSERT_TRUE(lake.ok()) << lake.error().ToString();
    lake_ = *lake;
  }

  Rows ViewRows(const std::string& view, const iceberg::Schema& schema) {
    auto conn = lake_->Connect();
    EXPECT_TRUE(conn.ok());
    if (!conn.ok()) return {};
    return testing::IcebergTextRows(conn->connection, "SELECT * FROM " + view, schema);
  }

  iceberg::testing::ScratchDirectory scratch_{"lake_iceberg"};
  const std::string dir_ = scratch_.path();
  WriterOptions options_;
  std::shared_ptr<Lake> lake_;
};

TEST_F(LakeIcebergTest, IcebirdReadsEveryTableAsTheLakesViewsShowIt) {
  auto writer = LakeWriter::Open(options_, lake_);
  ASSERT_TRUE(writer.ok()) << writer.error().ToString();
  // The students' dimension as the lake showed it at step 5 (S3 deleted and re-inserted).
  std::optional<CommitRecord> older;
  Rows older_view;
  testing::RunMixedWorkload(**writer, [&](int step) {
    Status flushed = (*writer)->FlushIceberg();
    ASSERT_TRUE(flushed.ok()) << flushed.error().ToString();
    if (step != 5) return;
    auto record = LoadLatestCommitRecord(dir_);
    ASSERT_TRUE(record.ok() && record->has_value());
    older = **record;
    auto table = iceberg::Table::Open(dir_ + "/public/students_dim");
    ASSERT_TRUE(table.ok());
    older_view = ViewRows("students_dim", table->metadata().CurrentSchema());
  });
  ASSERT_TRUE(older);

  auto latest = LoadLatestCommitRecord(dir_);
  ASSERT_TRUE(latest.ok() && latest->has_value());
  EXPECT_EQ((*latest)->lake_version, lake_->Position().version);
  std::set<std::string> tables;
  for (const auto& [name, version] : (*latest)->tables) tables.insert(name);
  EXPECT_EQ(tables,
            (std::set<std::string>{
                "public.course_enrollment_fact", "public.courses_changes", "public.courses_dim",
                "public.departments_changes", "public.departments_dim", "public.professors_changes",
                "public.professors_dim", "public.students_changes", "public.students_dim",
                "public.takes_changes", "public.teaches_changes"}));
  for (const auto& [qualified, version] : (*latest)->tables) {
    const std::string name = qualified.substr(qualified.find('.') + 1);
    SCOPED_TRACE(name);
    auto table = iceberg::Table::Open(dir_ + "/public/" + name);
    ASSERT_TRUE(table.ok());
    EXPECT_EQ(table->version(), version.version);
    const iceberg::Schema& schema = table->metadata().CurrentSchema();
    IcebirdRead read = ReadWithIcebird(dir_, name, "latest");
    EXPECT_EQ(read.columns, Names(schema));
    Rows view = ViewRows(name, schema);
    EXPECT_FALSE(view.empty());
    EXPECT_EQ(read.rows, view);
  }

  // Time travel: the students' dimension at step 5, by the metadata file its record names.
  const TableVersion& then = older->tables.at("public.students_dim");
  IcebirdRead old = ReadWithIcebird(dir_, "students_dim", then.metadata);
  EXPECT_EQ(old.rows, older_view);
  // Its versions in force at that commit's time are the as-of API's, answered today.
  auto access = analytics::AccessLake(lake_);
  analytics::Service service(*access, [] { return analytics::PipelineStatus{}; });
  analytics::DimensionQuery query;
  query.entity = "students";
  query.as_of_micros = older->commit_time_us;
  query.paging.limit = 1000;
  auto page = service.Dimension(query);
  ASSERT_TRUE(page.ok()) << page.error().ToString();
  std::set<std::string> api_keys, icebird_keys;
  for (const auto& row : page->rows) {
    api_keys.insert(row["student_key"].is_string() ? row["student_key"].get<std::string>()
                                                   : row["student_key"].dump());
  }
  const auto col = [&](const std::string& c) {
    return std::find(old.columns.begin(), old.columns.end(), c) - old.columns.begin();
  };
  const std::string at = std::to_string(older->commit_time_us);
  for (const auto& row : old.rows) {
    int64_t start = std::stoll(row[col("row_effective_start")]);
    int64_t end = std::stoll(row[col("row_effective_end")]);
    if (start <= older->commit_time_us && older->commit_time_us < end) {
      icebird_keys.insert(row[col("student_key")]);
    }
  }
  EXPECT_EQ(icebird_keys.size(), 6u);  // S1..S6 exist at step 5 (S3 re-inserted)
  EXPECT_EQ(icebird_keys, api_keys);
}

TEST_F(LakeIcebergTest, MetadataFollowsTheSpecAndManifestsReadBackWithAvroC) {
  {
    auto writer = LakeWriter::Open(options_, lake_);
    ASSERT_TRUE(writer.ok()) << writer.error().ToString();
    testing::RunMixedWorkload(**writer, [&](int) { ASSERT_TRUE((*writer)->FlushIceberg().ok()); });
  }
  auto latest = LoadLatestCommitRecord(dir_);
  ASSERT_TRUE(latest.ok() && latest->has_value());
  for (const auto& [qualified, version] : (*latest)->tables) {
    const std::string name = qualified.substr(qualified.find('.') + 1);
    SCOPED_TRACE(name);
    const std::string table_dir = dir_ + "/public/" + name;
    auto text = iceberg::ReadWholeFile(table_dir + "/metadata/" + version.metadata);
    ASSERT_TRUE(text.ok());
    json doc = json::parse(*text);
    EXPECT_GE(iceberg::testing::ExpectMetadataFollowsSpec(
                  doc, MIGSBYU_ICEBERG_TESTDATA "/metadata_v2_fields.txt"),
              50);
    EXPECT_EQ(doc["format-version"], 2);
    EXPECT_EQ(doc["location"], iceberg::FileUri(table_dir));
    EXPECT_EQ(doc["current-snapshot-id"], version.snapshot_id);
    EXPECT_EQ(doc["refs"]["main"]["snapshot-id"], version.snapshot_id);
    EXPECT_EQ(doc["last-sequence-number"], version.sequence_number);
    EXPECT_EQ(doc["properties"]["write.metadata.delete-after-commit.enabled"], "true");
    auto hint = iceberg::ReadWholeFile(table_dir + "/metadata/version-hint.text");
    ASSERT_TRUE(hint.ok());
    EXPECT_EQ(*hint, std::to_string(version.version));
    const json* current = nullptr;
    for (const auto& s : doc["snapshots"]) {
      if (s["snapshot-id"] == doc["current-snapshot-id"]) current = &s;
    }
    ASSERT_NE(current, nullptr);
    EXPECT_TRUE((*current)["summary"].contains("migsbyu.lake-version"));
    EXPECT_TRUE((*current)["summary"].contains("migsbyu.watermark-lsn"));

    // The manifest list and every manifest, decoded by avro-c itself: as many records as the
    // library reads, and every live data file present on disk with its row count.
    auto table = iceberg::Table::Open(table_dir);
    ASSERT_TRUE(table.ok());
    const iceberg::Snapshot* snapshot = table->metadata().CurrentSnapshot();
    ASSERT_NE(snapshot, nullptr);
    auto manifests = table->ReadManifestList(*snapshot);
    ASSERT_TRUE(manifests.ok());
    auto list_path = iceberg::LocalPath(snapshot->manifest_list);
    ASSERT_TRUE(list_path.ok());
    EXPECT_EQ(iceberg::testing::ReadWithAvroC(*list_path, [](avro_value_t*) {}),
              static_cast<int>(manifests->size()));
    int64_t live_rows = 0;
    for (const auto& m : *manifests) {
      auto entries = table->ReadManifest(m);
      ASSERT_TRUE(entries.ok());
      auto path = iceberg::LocalPath(m.manifest_path);
      ASSERT_TRUE(path.ok());
      int64_t avro_live_rows = 0;
      int n = iceberg::testing::ReadWithAvroC(*path, [&](avro_value_t* entry) {
        avro_value_t status, file, count, content;
        int32_t s = -1, c = -1;
        int64_t rows = 0;
        ASSERT_EQ(avro_value_get_by_name(entry, "status", &status, nullptr), 0);
        avro_value_get_int(&status, &s);
        ASSERT_EQ(avro_value_get_by_name(entry, "data_file", &file, nullptr), 0);
        ASSERT_EQ(avro_value_get_by_name(&file, "record_count", &count, nullptr), 0);
        avro_value_get_long(&count, &rows);
        ASSERT_EQ(avro_value_get_by_name(&file, "content", &content, nullptr), 0);
        avro_value_get_int(&content, &c);
        if (s != 2 && c == 0) avro_live_rows += rows;
      });
      EXPECT_EQ(n, static_cast<int>(entries->size()));
      live_rows += avro_live_rows;
      for (const auto& e : *entries) {
        if (e.status == iceberg::EntryStatus::kDeleted) continue;
        auto file = iceberg::LocalPath(e.file.file_path);
        ASSERT_TRUE(file.ok());
        EXPECT_TRUE(fs::exists(*file)) << *file;
      }
    }
    EXPECT_EQ(std::to_string(live_rows), snapshot->summary.at("total-records"));
  }
}

}  // namespace
}  // namespace migsbyu::lake
