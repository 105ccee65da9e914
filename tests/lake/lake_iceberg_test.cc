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
#include <httplib.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <tuple>

#include "analytics/instant.h"
#include "analytics/lake_access.h"
#include "analytics/service.h"
#include "lake/commit_record.h"
#include "lake/iceberg/files.h"
#include "lake/iceberg/table.h"
#include "lake/iceberg/testing.h"
#include "lake/lake.h"
#include "lake/testing.h"
#include "lake/writer.h"
#include "portal/analytics_api/analytics_routes.h"
#include "portal/server.h"

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

// The analytics API over real loopback HTTP, reading the lake of `lake`.
class AnalyticsServer {
 public:
  explicit AnalyticsServer(std::shared_ptr<Lake> lake)
      : access_(analytics::AccessLake(std::move(lake))),
        service_(*access_, [] { return analytics::PipelineStatus{}; }) {
    portal::RegisterAnalyticsRoutes(router_, service_, nullptr, {});
    server_ = std::make_unique<portal::Server>(router_,
                                               portal::ServerOptions{.api_address = "127.0.0.1:0",
                                                                     .web_address = "127.0.0.1:0",
                                                                     .web_dir = "/nonexistent",
                                                                     .threads = 2});
    Status started = server_->Start();
    EXPECT_TRUE(started.ok()) << started.error().ToString();
  }
  ~AnalyticsServer() { server_->Stop(); }

  httplib::Result Get(const std::string& path) {
    httplib::Client client("127.0.0.1", server_->api_port());
    return client.Get(path);
  }

 private:
  std::unique_ptr<analytics::LakeAccess> access_;
  analytics::Service service_;
  portal::Router router_;
  std::unique_ptr<portal::Server> server_;
};

TEST_F(LakeIcebergTest, AsOfAnIcebergSnapshotIdEqualsIcebirdReadingThatSnapshot) {
  auto writer = LakeWriter::Open(options_, lake_);
  ASSERT_TRUE(writer.ok()) << writer.error().ToString();
  std::map<int, CommitRecord> records;  // after steps 4 (S3 deleted) and 5 (S3 re-inserted)
  testing::RunMixedWorkload(**writer, [&](int step) {
    Status flushed = (*writer)->FlushIceberg();
    ASSERT_TRUE(flushed.ok()) << flushed.error().ToString();
    if (step != 4 && step != 5) return;
    auto record = LoadLatestCommitRecord(dir_);
    ASSERT_TRUE(record.ok() && record->has_value());
    records[step] = **record;
  });
  ASSERT_EQ(records.size(), 2u);
  const CommitRecord& older = records.at(5);
  const int64_t snapshot = older.tables.at("public.students_dim").snapshot_id;
  AnalyticsServer api(lake_);

  // The versions in force at the snapshot, as the API gives them for its id...
  auto as_of = api.Get("/analytics/as-of/students_dim?limit=1000&as_of_snapshot=" +
                       std::to_string(snapshot));
  ASSERT_TRUE(as_of);
  ASSERT_EQ(as_of->status, 200) << as_of->body;
  EXPECT_EQ(as_of->get_header_value("X-As-Of"),
            analytics::FormatInstant(analytics::FromMicros(older.commit_time_us)));
  std::set<std::tuple<int64_t, std::string, int64_t, int64_t>> api_rows, icebird_rows;
  for (const auto& row : json::parse(as_of->body)) {
    auto start = analytics::ParseInstantMicros(row["row_effective_start"].get<std::string>(), "");
    ASSERT_TRUE(start.ok());
    api_rows.emplace(row["student_key"].get<int64_t>(), row["id"].get<std::string>(),
                     std::llround(row["gpa"].get<double>() * 100), *start);
  }
  // ... are icebird's rows of that snapshot (the metadata file its record names) in force then.
  IcebirdRead then =
      ReadWithIcebird(dir_, "students_dim", older.tables.at("public.students_dim").metadata);
  const auto col = [&](const std::string& c) {
    return std::find(then.columns.begin(), then.columns.end(), c) - then.columns.begin();
  };
  for (const auto& row : then.rows) {
    int64_t start = std::stoll(row[col("row_effective_start")]);
    int64_t end = std::stoll(row[col("row_effective_end")]);
    if (start <= older.commit_time_us && older.commit_time_us < end) {
      icebird_rows.emplace(std::stoll(row[col("student_key")]), row[col("id")],
                           std::llround(std::stod(row[col("gpa")]) * 100), start);
    }
  }
  EXPECT_EQ(icebird_rows.size(), 6u);  // S1..S6, S3 re-inserted with a new key
  EXPECT_EQ(api_rows, icebird_rows);

  // A snapshot of another table at the same lake commit names the same instant; the operational
  // table replayed there has the six students.
  auto students = api.Get("/analytics/as-of/students?as_of_snapshot=" +
                          std::to_string(older.tables.at("public.students_changes").snapshot_id));
  ASSERT_TRUE(students);
  EXPECT_EQ(students->status, 200) << students->body;
  EXPECT_EQ(students->get_header_value("X-As-Of"), as_of->get_header_value("X-As-Of"));
  EXPECT_EQ(students->get_header_value("X-Total-Count"), "6");
  auto dimension = api.Get("/analytics/dimensions/students?limit=1000&as_of_snapshot=" +
                           std::to_string(snapshot));
  ASSERT_TRUE(dimension);
  EXPECT_EQ(dimension->status, 200);
  EXPECT_EQ(json::parse(dimension->body), json::parse(as_of->body));

  // Unknown and malformed ids, and an id beside an instant.
  auto unknown = api.Get("/analytics/as-of/students_dim?as_of_snapshot=12345");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404) << unknown->body;
  for (const std::string query : {"/analytics/as-of/students_dim?as_of_snapshot=abc",
                                  "/analytics/as-of/students_dim?as_of_snapshot=1&at=2026-01-01",
                                  "/analytics/dimensions/students?as_of_snapshot=1x"}) {
    auto bad = api.Get(query);
    ASSERT_TRUE(bad);
    EXPECT_EQ(bad->status, 400) << query;
    EXPECT_NE(bad->body.find("as_of_snapshot"), std::string::npos) << bad->body;
  }

  // The listing: every point newest first; step 4 closed S3's version (a position delete and its
  // closed copy), step 5 added its new version, and neither touched the professors or courses.
  auto listing = api.Get("/analytics/snapshots");
  ASSERT_TRUE(listing);
  ASSERT_EQ(listing->status, 200);
  json points = json::parse(listing->body);
  ASSERT_FALSE(points.empty());
  EXPECT_EQ(points[0]["lake_version"], lake_->Position().version);
  std::map<uint64_t, json> by_version;
  for (const auto& p : points) by_version[p["lake_version"].get<uint64_t>()] = p;
  for (const auto& [step, record] : records) {
    SCOPED_TRACE(step);
    ASSERT_TRUE(by_version.count(record.lake_version));
    const json& point = by_version[record.lake_version];
    EXPECT_EQ(point["snapshots"]["students_dim"],
              std::to_string(record.tables.at("public.students_dim").snapshot_id));
    EXPECT_EQ(point["commit_time"],
              analytics::FormatInstant(analytics::FromMicros(record.commit_time_us)));
    std::map<std::string, json> changes;
    for (const auto& c : point["changes"]) changes[c["table"].get<std::string>()] = c;
    for (const char* untouched :
         {"professors_dim", "courses_dim", "professors_changes", "courses_changes"}) {
      EXPECT_FALSE(changes.count(untouched)) << untouched;
    }
    ASSERT_TRUE(changes.count("students_dim"));
    ASSERT_TRUE(changes.count("students_changes"));
    const json& dim = changes["students_dim"];
    EXPECT_EQ(dim["complete"], true);
    EXPECT_EQ(dim["added_rows"], 1);
    EXPECT_EQ(dim["deleted_rows"], step == 4 ? 1 : 0);
    EXPECT_EQ(changes["students_changes"]["added_rows"], 1);
    EXPECT_EQ(changes["students_changes"]["deleted_rows"], 0);
  }
}

// A table's columns as the connector would describe them after some DDL: `columns` are (name,
// type) with type "text", "int4" or "int8"; the first is the key.
std::shared_ptr<const events::TableSchema> DepartmentsWith(
    const std::vector<std::pair<std::string, std::string>>& columns) {
  auto schema = std::make_shared<events::TableSchema>();
  schema->schema = "public";
  schema->name = "departments";
  for (const auto& [name, type] : columns) {
    events::Column c;
    c.name = name;
    c.type = type == "text"   ? events::ValueType::kText
             : type == "int4" ? events::ValueType::kInt32
                              : events::ValueType::kInt64;
    c.type_oid = type == "text" ? 25 : type == "int4" ? 23 : 20;
    c.key = name == columns.front().first;
    schema->columns.push_back(c);
  }
  return schema;
}

// The students' table with one column added after the contract's (`extra`, text).
std::shared_ptr<const events::TableSchema> StudentsWith(const std::string& extra) {
  auto schema = std::make_shared<events::TableSchema>(*testing::ContractSchema("students"));
  events::Column c;
  c.name = extra;
  c.type = events::ValueType::kText;
  c.type_oid = 25;
  schema->columns.push_back(c);
  return schema;
}

events::Row StudentRow(const std::string& id, const std::string& extra) {
  using events::Value;
  return {Value::Text(id),          Value::Text("Ada " + id), Value::Text("L"),
          Value::Text("Female"),    Value::Text("Street 1"),  Value::Integer(12000),
          Value::Text("Physics"),   Value::Integer(2),        Value::Text("3.00"),
          Value::Text("Full-time"), Value::Text(extra)};
}

// The id of `name` in `table`'s current schema, 0 when absent.
int32_t FieldId(const std::string& dir, const std::string& table, const std::string& name) {
  auto t = iceberg::Table::Open(dir + "/public/" + table);
  if (!t.ok()) return 0;
  const iceberg::Field* f = t->metadata().CurrentSchema().Find(name);
  return f ? f->id : 0;
}

TEST_F(LakeIcebergTest, ColumnsAddedRenamedWidenedAndDroppedBecomeIcebergSchemaChanges) {
  auto writer = LakeWriter::Open(options_, lake_);
  ASSERT_TRUE(writer.ok()) << writer.error().ToString();
  using events::Operation;
  using events::Value;
  int n = 0;
  // One transaction of `changes` (table schema, op, before, after), published to Iceberg.
  using Change = std::tuple<std::shared_ptr<const events::TableSchema>, Operation,
                            std::optional<events::Row>, std::optional<events::Row>>;
  auto step = [&](const std::vector<Change>& changes) {
    ++n;
    events::TransactionInfo info{static_cast<uint32_t>(900 + n), Lsn(1000ull * n),
                                 Lsn(1000ull * n + 1), 1767225600000000LL + n * 1000000LL, false};
    ASSERT_TRUE((*writer)->Begin(info).ok());
    size_t position = 0;
    for (const auto& [schema, op, before, after] : changes) {
      Status s = (*writer)->Apply(testing::ChangeIn(info, position++, schema, op, before, after));
      ASSERT_TRUE(s.ok()) << s.error().ToString();
    }
    ASSERT_TRUE((*writer)->Commit(info).ok());
    ASSERT_TRUE((*writer)->Publish().ok());
    Status flushed = (*writer)->FlushIceberg();
    ASSERT_TRUE(flushed.ok()) << flushed.error().ToString();
  };
  auto t = [](const char* v) { return Value::Text(v); };
  auto i = [](int64_t v) { return Value::Integer(v); };
  const auto d0 = DepartmentsWith({{"id", "text"}, {"name", "text"}});
  const auto d1 = DepartmentsWith({{"id", "text"}, {"name", "text"}, {"budget", "int4"}});
  const auto d2 = DepartmentsWith({{"id", "text"}, {"title", "text"}, {"budget", "int4"}});
  const auto d3 = DepartmentsWith({{"id", "text"}, {"title", "text"}, {"budget", "int8"}});
  const auto d4 = DepartmentsWith({{"id", "text"}, {"budget", "int8"}});
  const auto s0 = StudentsWith("nickname"), s1 = StudentsWith("alias");

  step({{d0, Operation::kInsert, std::nullopt, events::Row{t("D1"), t("Physics")}},
        {s0, Operation::kInsert, std::nullopt, StudentRow("S1", "Al")},
        {s0, Operation::kInsert, std::nullopt, StudentRow("S2", "Bo")}});
  const int32_t name_id = FieldId(dir_, "departments_changes", "after_name");
  const int32_t nickname_id = FieldId(dir_, "students_dim", "nickname");
  ASSERT_GT(name_id, 0);
  ASSERT_GT(nickname_id, 0);
  // ADD COLUMN budget integer
  step({{d1, Operation::kUpdate, events::Row{t("D1"), t("Physics"), Value::Null()},
         events::Row{t("D1"), t("Physics"), i(5)}}});
  const int32_t budget_id = FieldId(dir_, "departments_changes", "after_budget");
  EXPECT_GT(budget_id, name_id);
  // RENAME name TO title; students: RENAME nickname TO alias (S1's open version, written with
  // the old name, is closed by this step's update: its closed copy must carry the value too).
  step({{d2, Operation::kUpdate, events::Row{t("D1"), t("Physics"), i(5)},
         events::Row{t("D1"), t("Physics & Optics"), i(5)}},
        {d2, Operation::kInsert, std::nullopt, events::Row{t("D2"), t("History"), i(7)}},
        {s1, Operation::kUpdate, StudentRow("S1", "Al"), StudentRow("S1", "Alf")}});
  EXPECT_EQ(FieldId(dir_, "departments_changes", "after_title"), name_id);
  EXPECT_EQ(FieldId(dir_, "departments_changes", "after_name"), 0);
  EXPECT_EQ(FieldId(dir_, "students_dim", "alias"), nickname_id);
  EXPECT_EQ(FieldId(dir_, "students_dim", "nickname"), 0);
  // The lake compacts (closes folded: its rewritten dimension files hold both names).
  {
    Status compacted = (*writer)->Compact(/*force=*/true);
    ASSERT_TRUE(compacted.ok()) << compacted.error().ToString();
  }
  // ALTER budget TYPE bigint; S2, whose version was written under the former name, deleted.
  step({{d3, Operation::kInsert, std::nullopt, events::Row{t("D3"), t("Law"), i(5000000000)}},
        {s1, Operation::kDelete, StudentRow("S2", "Bo"), std::nullopt}});
  {
    auto table = iceberg::Table::Open(dir_ + "/public/departments_changes");
    ASSERT_TRUE(table.ok());
    const iceberg::Field* budget = table->metadata().CurrentSchema().Find("after_budget");
    ASSERT_NE(budget, nullptr);
    EXPECT_EQ(budget->id, budget_id);
    EXPECT_EQ(budget->type, iceberg::Type::Of(iceberg::TypeId::kLong));
  }
  // The history under the new names, as icebird reads this version: the rows written before the
  // rename show their value under `title`, `alias`.
  auto before_drop = LoadLatestCommitRecord(dir_);
  ASSERT_TRUE(before_drop.ok() && before_drop->has_value());
  {
    IcebirdRead read =
        ReadWithIcebird(dir_, "departments_changes",
                        (*before_drop)->tables.at("public.departments_changes").metadata);
    auto col = [&](const std::string& c) {
      return std::find(read.columns.begin(), read.columns.end(), c) - read.columns.begin();
    };
    ASSERT_LT(col("after_title"), static_cast<long>(read.columns.size()));
    EXPECT_EQ(std::find(read.columns.begin(), read.columns.end(), "after_name"),
              read.columns.end());
    std::multiset<std::string> titles;
    for (const auto& row : read.rows)
      titles.insert(row[col("after_id")] + ":" + row[col("after_title")]);
    EXPECT_EQ(titles, (std::multiset<std::string>{"D1:Physics", "D1:Physics", "D1:Physics & Optics",
                                                  "D2:History", "D3:Law"}));
    IcebirdRead dim = ReadWithIcebird(dir_, "students_dim",
                                      (*before_drop)->tables.at("public.students_dim").metadata);
    auto dcol = [&](const std::string& c) {
      return std::find(dim.columns.begin(), dim.columns.end(), c) - dim.columns.begin();
    };
    std::multiset<std::string> aliases;
    for (const auto& row : dim.rows) {
      aliases.insert(row[dcol("id")] + ":" + row[dcol("alias")] + ":" +
                     row[dcol("current_row_indicator")]);
    }
    EXPECT_EQ(aliases, (std::multiset<std::string>{"S1:Al:no", "S1:Alf:yes", "S2:Bo:no"}));
  }
  // DROP COLUMN title: gone from the current schema, its id not reused by a later column. S2
  // re-inserted (a new version with a new key).
  step({{d4, Operation::kInsert, std::nullopt, events::Row{t("D4"), i(1)}},
        {s1, Operation::kInsert, std::nullopt, StudentRow("S2", "Cy")}});
  auto table = iceberg::Table::Open(dir_ + "/public/departments_changes");
  ASSERT_TRUE(table.ok());
  EXPECT_EQ(table->metadata().CurrentSchema().Find("after_title"), nullptr);
  EXPECT_EQ(FieldId(dir_, "departments_changes", "after_budget"), budget_id);
  const int32_t last_id = table->metadata().last_column_id;
  EXPECT_GE(last_id, budget_id);
  for (const auto& f : table->metadata().CurrentSchema().fields) EXPECT_NE(f.id, name_id);

  // The latest version through icebird equals the lake's view, read with the current schema
  // (the view still shows every name any file had; the Iceberg table only the current ones).
  const iceberg::Schema& schema = table->metadata().CurrentSchema();
  IcebirdRead latest = ReadWithIcebird(dir_, "departments_changes", "latest");
  EXPECT_EQ(latest.columns, Names(schema));
  EXPECT_EQ(latest.rows, ViewRows("departments_changes", schema));
  EXPECT_EQ(latest.rows.size(), 6u);
  auto text = iceberg::ReadWholeFile(dir_ + "/public/departments_changes/metadata/v" +
                                     std::to_string(table->version()) + ".metadata.json");
  ASSERT_TRUE(text.ok());
  EXPECT_GE(iceberg::testing::ExpectMetadataFollowsSpec(
                json::parse(*text), MIGSBYU_ICEBERG_TESTDATA "/metadata_v2_fields.txt"),
            50);
  // The students' tables equal the lake's views once the view's two names of the renamed column
  // are taken as one (the lake's own files keep both names; the Iceberg table one field).
  for (const auto& [name, merged] : std::vector<std::pair<std::string, std::string>>{
           {"students_dim",
            "SELECT * REPLACE (coalesce(alias, nickname) AS alias) FROM students_dim"},
           {"students_changes",
            "SELECT * REPLACE (coalesce(before_alias, before_nickname) AS before_alias, "
            "coalesce(after_alias, after_nickname) AS after_alias) FROM students_changes"}}) {
    SCOPED_TRACE(name);
    auto students = iceberg::Table::Open(dir_ + "/public/" + name);
    ASSERT_TRUE(students.ok());
    IcebirdRead read = ReadWithIcebird(dir_, name, "latest");
    EXPECT_EQ(read.columns, Names(students->metadata().CurrentSchema()));
    EXPECT_EQ(read.rows, ViewRows("(" + merged + ")", students->metadata().CurrentSchema()));
    EXPECT_FALSE(read.rows.empty());
  }
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
