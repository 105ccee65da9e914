// An independent Iceberg reader opens a table the iceberg library wrote: icebird (pure
// JavaScript, tests/lake/package.json) reads it over loopback HTTP (read_iceberg.mjs serves the
// lake directory) after appends, a row-level change with position deletes (an SCD2 version
// closed: the open row deleted by position, the closed row and the new version appended), a
// schema change (a column added, one renamed), a second row-level change touching two files, a
// compaction and an append after it. Every table version is read, older ones through icebird's
// time travel (by metadata file), and must give exactly the rows this test's own model of the
// operations says, which the test computes without reading anything back.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "lake/duck.h"
#include "lake/iceberg/files.h"
#include "lake/iceberg/parquet.h"
#include "lake/iceberg/scan.h"
#include "lake/iceberg/table.h"
#include "lake/iceberg/testing.h"

namespace migsbyu::iceberg {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kEndOfTime = 253402214400000000;  // 9999-12-31 00:00:00+00 in µs

// One version of a student in the dimension, as the model holds it.
struct Version {
  int64_t key = 0;
  std::string id, name, gpa;  // gpa with its two decimals, "3.50"
  int born = 0;               // days since 1970-01-01
  int64_t from = 0, to = kEndOfTime;
  bool current = true;
  std::string score;  // a double in its shortest text, "2.5"
  std::optional<std::string> email;
};

// What a reader must see at one table version.
struct Expected {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;  // sorted
};

class IcebirdTest : public ::testing::Test {
 protected:
  bool Renamed() const { return table_->metadata().CurrentSchema().Find("full_name") != nullptr; }

  // Writes `versions` as a new data file of the current schema; records each row's position.
  DataFile Write(const std::vector<Version>& versions) {
    std::string values;
    for (const Version& v : versions) {
      std::string row = std::to_string(v.key) + ", " + duck::QuoteString(v.id) + ", " +
                        duck::QuoteString(v.name) + ", " + v.gpa + ", DATE '1970-01-01' + " +
                        std::to_string(v.born) + ", " + Timestamp(v.from) + ", " + Timestamp(v.to) +
                        ", " + (v.current ? "true" : "false") + ", " + v.score;
      if (Renamed()) row += ", " + (v.email ? duck::QuoteString(*v.email) : std::string("NULL"));
      values += (values.empty() ? "(" : ", (") + row + ")";
    }
    std::string names = "student_key, id, " + std::string(Renamed() ? "full_name" : "name") +
                        ", gpa, born, valid_from, valid_to, current_row, score" +
                        (Renamed() ? ", email" : "");
    auto file = WriteDataFile(*conn_, "(VALUES " + values + ") AS t(" + names + ")",
                              table_->metadata().CurrentSchema(), table_->NewDataFileUri());
    EXPECT_TRUE(file.ok()) << file.error().ToString();
    for (size_t i = 0; i < versions.size(); ++i) {
      position_[versions[i].key] = {file->file_path, static_cast<int64_t>(i)};
    }
    return *file;
  }

  static std::string Timestamp(int64_t us) {
    return "TIMESTAMPTZ '1970-01-01 00:00:00+00' + to_microseconds(" + std::to_string(us) + ")";
  }

  void Append(std::vector<Version> versions) {
    DataFile f = Write(versions);
    auto c = table_->Commit({Operation::kAppend, {f}, {}, {}, {}});
    ASSERT_TRUE(c.ok()) << c.error().ToString();
    for (auto& v : versions) live_.push_back(std::move(v));
    Record();
  }

  // Closes the current versions of `keys` at `at` (a position delete of each open row and the
  // closed row appended) and appends `opened`, all in one snapshot; `dropped` keys are deleted
  // without a closed copy.
  void RowLevelChange(const std::vector<int64_t>& keys, int64_t at, std::vector<Version> opened,
                      const std::vector<int64_t>& dropped = {}) {
    std::vector<PositionDelete> deletes;
    std::set<std::string> touched;
    std::vector<Version> rows;
    auto take = [&](int64_t key) {
      auto it =
          std::find_if(live_.begin(), live_.end(), [&](const Version& v) { return v.key == key; });
      EXPECT_NE(it, live_.end());
      Version v = *it;
      live_.erase(it);
      deletes.push_back({position_.at(key).first, position_.at(key).second});
      touched.insert(position_.at(key).first);
      return v;
    };
    for (int64_t key : keys) {
      Version closed = take(key);
      closed.to = at;
      closed.current = false;
      rows.push_back(closed);
    }
    for (int64_t key : dropped) take(key);
    for (auto& v : opened) rows.push_back(v);
    DataFile data = Write(rows);
    auto del = WritePositionDeletes(*conn_, deletes, table_->NewDeleteFileUri());
    ASSERT_TRUE(del.ok()) << del.error().ToString();
    auto c = table_->Commit({Operation::kOverwrite, {data, *del}, {}, touched, {}});
    ASSERT_TRUE(c.ok()) << c.error().ToString();
    for (auto& v : rows) live_.push_back(std::move(v));
    Record();
  }

  // Rewrites every live row into one file and drops the data and delete files it replaces.
  void Compact() {
    auto plan = table_->PlanScan();
    ASSERT_TRUE(plan.ok());
    auto query = ScanQuery(*plan);
    ASSERT_TRUE(query.ok());
    auto file = WriteDataFile(*conn_, "(" + *query + " ORDER BY student_key)",
                              table_->metadata().CurrentSchema(), table_->NewDataFileUri());
    ASSERT_TRUE(file.ok()) << file.error().ToString();
    std::set<std::string> removed;
    for (const auto& f : plan->data_files) removed.insert(f.path);
    for (const auto& f : plan->delete_files) removed.insert(f.path);
    auto c = table_->Commit({Operation::kReplace, {*file}, removed, {}, {}});
    ASSERT_TRUE(c.ok()) << c.error().ToString();
    std::sort(live_.begin(), live_.end(),
              [](const Version& a, const Version& b) { return a.key < b.key; });
    for (size_t i = 0; i < live_.size(); ++i)
      position_[live_[i].key] = {file->file_path, static_cast<int64_t>(i)};
    Record();
  }

  // What the current table version must show, from the model.
  void Record() {
    Expected e;
    bool renamed = Renamed();
    e.columns = {"student_key", "id",          renamed ? "full_name" : "name",
                 "gpa",         "born",        "valid_from",
                 "valid_to",    "current_row", "score"};
    if (renamed) e.columns.push_back("email");
    for (const Version& v : live_) {
      std::vector<std::string> row = {std::to_string(v.key),
                                      v.id,
                                      v.name,
                                      v.gpa,
                                      std::to_string(v.born),
                                      std::to_string(v.from),
                                      std::to_string(v.to),
                                      v.current ? "true" : "false",
                                      v.score};
      if (renamed) row.push_back(v.email.value_or("NULL"));
      e.rows.push_back(std::move(row));
    }
    std::sort(e.rows.begin(), e.rows.end());
    expected_[table_->version()] = std::move(e);
  }

  testing::ScratchDirectory scratch_{"iceberg_icebird"};
  const std::string root_ = scratch_.path();
  testing::DuckSession duck_;
  duck::Connection* conn_ = &duck_.conn;
  std::optional<Table> table_;
  std::vector<Version> live_;
  std::map<int64_t, std::pair<std::string, int64_t>> position_;  // key -> (file, row)
  std::map<int64_t, Expected> expected_;                         // table version -> rows
};

std::string RunNode(const std::string& args) {
  std::string cmd = "cd '" MIGSBYU_LAKE_TESTS_DIR "' && node read_iceberg.mjs " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  EXPECT_NE(pipe, nullptr);
  std::string output;
  char buf[4096];
  while (pipe && fgets(buf, sizeof buf, pipe)) output += buf;
  int rc = pipe ? pclose(pipe) : -1;
  EXPECT_EQ(rc, 0) << "node failed (run scripts/setup.sh for tests/lake/node_modules): " << output;
  return output;
}

TEST_F(IcebirdTest, IcebirdReadsEveryVersionOfATableWeWrote) {
  auto dir = TableDirectory(root_, "lake", "students_dim");
  ASSERT_TRUE(dir.ok());
  Schema schema{0,
                {Field{1, "student_key", Type::Of(TypeId::kLong), false, ""},
                 Field{2, "id", Type::Of(TypeId::kString), false, ""},
                 Field{3, "name", Type::Of(TypeId::kString), false, ""},
                 Field{4, "gpa", Type::Decimal(3, 2), false, ""},
                 Field{5, "born", Type::Of(TypeId::kDate), false, ""},
                 Field{6, "valid_from", Type::Of(TypeId::kTimestampTz), false, ""},
                 Field{7, "valid_to", Type::Of(TypeId::kTimestampTz), false, ""},
                 Field{8, "current_row", Type::Of(TypeId::kBoolean), false, ""},
                 Field{9, "score", Type::Of(TypeId::kDouble), false, ""}},
                {}};
  auto table = Table::Create(*dir, schema);
  ASSERT_TRUE(table.ok()) << table.error().ToString();
  table_.emplace(std::move(table).value());

  const int64_t t1 = 1767225600000001;  // 2026-01-01 00:00:00.000001+00
  Append({{1, "S1", "Ann Lee", "3.50", 10957, t1, kEndOfTime, true, "2.5", {}},
          {2, "S2", "Bob Roy", "2.00", 11000, t1, kEndOfTime, true, "-1", {}},
          {3, "S3", "Zoë \"Q\" O'Neil", "4.00", -1, t1, kEndOfTime, true, "100", {}},
          {4, "S4", "Dee", "0.05", 0, t1, kEndOfTime, true, "0.125", {}}});
  Append({{5, "S5", "Eve", "1.25", 12000, t1 + 5, kEndOfTime, true, "3.75", {}},
          {6, "S6", "Fay", "3.99", 12001, t1 + 6, kEndOfTime, true, "2.25", {}}});
  // S2 changes its name: version 2 closes, version 7 opens.
  const int64_t t3 = t1 + 3600000000;
  RowLevelChange({2}, t3, {{7, "S2", "Bob Ray", "2.00", 11000, t3, kEndOfTime, true, "-1", {}}});
  // A column added, one renamed: a new metadata version, no snapshot.
  ASSERT_TRUE(table_
                  ->UpdateSchema({SchemaChange::RenameColumn("name", "full_name"),
                                  SchemaChange::AddColumn("email", Type::Of(TypeId::kString))})
                  .ok());
  Record();
  Append({{8, "S8", "Gus", "2.75", 13000, t3 + 1, kEndOfTime, true, "1.5", "gus@u.edu"},
          {9, "S9", "Hal", "3.00", 13001, t3 + 2, kEndOfTime, true, "4.5", {}}});
  // S5 changes (version 5 closes, 10 opens) and S8 is removed: one delete file, two data files.
  const int64_t t5 = t3 + 7200000000;
  RowLevelChange({5}, t5,
                 {{10, "S5", "Eve Lu", "1.50", 12000, t5, kEndOfTime, true, "3.75", "eve@u.edu"}},
                 {8});
  Compact();
  Append({{11, "S11", "Ivy", "3.33", 14000, t5 + 1, kEndOfTime, true, "0.5", "ivy@u.edu"}});

  ASSERT_EQ(table_->version(), 9);
  // Our own reader agrees with the model at every snapshot (the lake's views are built on it).
  for (const auto& [version, expected] : expected_) {
    SCOPED_TRACE("version " + std::to_string(version));
    auto path = *dir + "/metadata/v" + std::to_string(version) + ".metadata.json";
    auto metadata = MetadataFromJson(*ReadWholeFile(path), path);
    ASSERT_TRUE(metadata.ok());
    auto plan = table_->PlanScan(metadata->current_snapshot_id);
    ASSERT_TRUE(plan.ok());
    auto query = ScanQuery(*plan, metadata->CurrentSchema());
    ASSERT_TRUE(query.ok());
    auto rows = conn_->Query("SELECT * FROM (" + *query + ")");
    ASSERT_TRUE(rows.ok()) << rows.error().ToString();
    EXPECT_EQ(rows->RowCount(), expected.rows.size());
  }

  // icebird, version by version, and the latest through version-hint.text.
  std::string args = "'" + root_ + "' lake/students_dim";
  for (const auto& [version, expected] : expected_)
    args += " v" + std::to_string(version) + ".metadata.json";
  args += " latest";
  std::string output = RunNode(args);
  std::stringstream lines(output);
  size_t read = 0;
  for (std::string line; std::getline(lines, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << line;
    std::string name = j["metadata"];
    int64_t version = name == "latest" ? table_->version() : std::stoll(name.substr(1));
    SCOPED_TRACE(name);
    ASSERT_TRUE(expected_.count(version));
    const Expected& expected = expected_.at(version);
    EXPECT_EQ(j["columns"].get<std::vector<std::string>>(), expected.columns);
    auto rows = j["rows"].get<std::vector<std::vector<std::string>>>();
    std::sort(rows.begin(), rows.end());
    EXPECT_EQ(rows, expected.rows);
    ++read;
  }
  EXPECT_EQ(read, expected_.size() + 1) << output;
}

// The types icebird reads as the lake writes them, and in what form (docs/ICEBERG.md lists what it
// cannot give exactly): a table of every type the library writes, one row of values, one of NULLs.
TEST_F(IcebirdTest, IcebirdReadsEveryTypeTheLibraryWrites) {
  struct Column {
    const char* name;
    Type type;
    const char* value;     // DuckDB SQL
    const char* expected;  // what icebird gives, as read_iceberg.mjs prints it
  };
  const Column columns[] = {
      {"b", Type::Of(TypeId::kBoolean), "true", "true"},
      {"i", Type::Of(TypeId::kInt), "-2147483648", "-2147483648"},
      {"l", Type::Of(TypeId::kLong), "9007199254740993", "9007199254740993"},
      {"f", Type::Of(TypeId::kFloat), "1.25", "1.25"},
      {"d", Type::Of(TypeId::kDouble), "-0.1", "-0.1"},
      {"dec9", Type::Decimal(9, 2), "-1234567.89", "-1234567.89"},
      {"dec18", Type::Decimal(18, 4), "12345678901.2345", "12345678901.2345"},
      {"dec38", Type::Decimal(38, 2), "123456789012.34", "123456789012.34"},
      {"dt", Type::Of(TypeId::kDate), "DATE '1969-07-20'", "-165"},
      {"ts", Type::Of(TypeId::kTimestamp), "TIMESTAMP '2026-01-01 12:00:00.000001'",
       "1767268800000001"},
      {"tstz", Type::Of(TypeId::kTimestampTz), "TIMESTAMPTZ '2026-01-01 12:00:00.000001+02'",
       "1767261600000001"},
      {"s", Type::Of(TypeId::kString), "'ünïcode ✓'", "ünïcode ✓"},
      // Binary comes back decoded as UTF-8 text (hyparquet's default for BYTE_ARRAY), so only
      // valid UTF-8 reads back unchanged; a uuid comes back as its 16 bytes.
      {"bin", Type::Of(TypeId::kBinary), "'\\x61\\x62'::BLOB", "ab"},
      {"u", Type::Of(TypeId::kUuid), "'f79c3e09-677c-4bbd-a479-3f349cb785e7'",
       "f79c3e09677c4bbda4793f349cb785e7"},
  };
  Schema schema;
  std::string values, nulls, names;
  std::vector<std::string> expected_values, expected_nulls, expected_names;
  int32_t id = 0;
  for (const Column& c : columns) {
    schema.fields.push_back(Field{++id, c.name, c.type, false, ""});
    std::string cast = std::string("CAST(") + c.value + " AS " + DuckTypeOf(c.type) + ")";
    values += (values.empty() ? "" : ", ") + cast;
    nulls += (nulls.empty() ? "" : ", ") + std::string("NULL");
    names += (names.empty() ? "" : ", ") + std::string(c.name);
    expected_values.push_back(c.expected);
    expected_nulls.push_back("NULL");
    expected_names.push_back(c.name);
  }
  auto dir = TableDirectory(root_, "lake", "types");
  ASSERT_TRUE(dir.ok());
  auto table = Table::Create(*dir, schema);
  ASSERT_TRUE(table.ok()) << table.error().ToString();
  auto file =
      WriteDataFile(*conn_, "(VALUES (" + values + "), (" + nulls + ")) AS t(" + names + ")",
                    schema, table->NewDataFileUri());
  ASSERT_TRUE(file.ok()) << file.error().ToString();
  ASSERT_TRUE(table->Commit({Operation::kAppend, {*file}, {}, {}, {}}).ok());

  std::string output = RunNode("'" + root_ + "' lake/types latest");
  auto j = nlohmann::json::parse(output, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << output;
  EXPECT_EQ(j["columns"].get<std::vector<std::string>>(), expected_names);
  auto rows = j["rows"].get<std::vector<std::vector<std::string>>>();
  ASSERT_EQ(rows.size(), 2u);
  std::sort(rows.begin(), rows.end());  // "NULL" sorts before the values' row here
  std::vector<std::vector<std::string>> expected = {expected_values, expected_nulls};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(rows, expected);
}

}  // namespace
}  // namespace migsbyu::iceberg
