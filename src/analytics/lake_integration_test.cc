// The analytics read side over the real lake: change events written by lake::LakeWriter, read
// back through AccessLake by the Service and the SQL console. Proves the queries hold on the
// lake's own views (temporary views over its Parquet files, closes folded into dimensions).
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "analytics/console.h"
#include "analytics/console_testing.h"
#include "analytics/lake_access.h"
#include "analytics/service.h"
#include "lake/catalog.h"
#include "lake/lake.h"
#include "lake/writer.h"

namespace migsbyu::analytics {
namespace {
namespace fs = std::filesystem;

int64_t At(const std::string& iso) { return *ParseInstantMicros(iso, "test"); }

std::shared_ptr<const events::TableSchema> SchemaOf(const std::string& table) {
  auto schema = std::make_shared<events::TableSchema>();
  schema->schema = "public";
  schema->name = table;
  const auto* known = lake::FindKnownTable(table);
  if (!known) {  // "rooms": a captured table outside the contract, keyed by its code
    schema->columns = {lake::ColumnFromDuckType("code", "VARCHAR"),
                       lake::ColumnFromDuckType("capacity", "INTEGER")};
    schema->columns[0].key = true;
    return schema;
  }
  for (const auto& c : known->columns) {
    auto column = lake::ColumnFromDuckType(c.name, c.duck_type);
    column.key = c.name == "id" || ((table == "takes" || table == "teaches") && c.name != "grade");
    schema->columns.push_back(column);
  }
  return schema;
}

// A row of `schema` from named values; columns not named are NULL.
events::Row RowOf(const events::TableSchema& schema,
                  const std::map<std::string, events::Value>& values) {
  events::Row row(schema.columns.size());
  for (const auto& [name, value] : values) {
    int index = schema.ColumnIndex(name);
    EXPECT_GE(index, 0) << name;
    if (index >= 0) row[index] = value;
  }
  return row;
}

using V = events::Value;

class LakeIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() / ("analytics_lake_" + std::to_string(getpid()))).string();
    fs::remove_all(dir_);
    auto lake = lake::Lake::Open(dir_, 1);
    ASSERT_TRUE(lake.ok()) << lake.error().ToString();
    lake_ = *lake;
    lake::WriterOptions options;
    options.dir = dir_;
    auto writer = lake::LakeWriter::Open(options, lake_);
    ASSERT_TRUE(writer.ok()) << writer.error().ToString();
    writer_ = std::move(*writer);
    access_ = AccessLake(lake_);
  }
  void TearDown() override {
    writer_.reset();
    fs::remove_all(dir_);
  }

  struct Change {
    events::Operation op;
    std::string table;
    std::map<std::string, V> before, after;
  };

  // One transaction at commit LSN `lsn`, committed at `iso`, then published.
  void Transaction(uint64_t lsn, const std::string& iso, const std::vector<Change>& changes) {
    events::TransactionInfo tx{static_cast<uint32_t>(lsn), Lsn(lsn), Lsn(lsn + 1), At(iso), false};
    ASSERT_TRUE(writer_->Begin(tx).ok());
    uint64_t position = 0;
    for (const auto& c : changes) {
      auto schema = schemas_.try_emplace(c.table, SchemaOf(c.table)).first->second;
      events::ChangeEvent e;
      e.op = c.op;
      e.table = schema;
      if (!c.before.empty()) e.before = RowOf(*schema, c.before);
      if (!c.after.empty()) e.after = RowOf(*schema, c.after);
      e.commit_lsn = tx.commit_lsn;
      e.lsn = Lsn(lsn - 10 + position);
      e.position = position++;
      e.xid = tx.xid;
      e.commit_time_us = tx.commit_time_us;
      Status s = writer_->Apply(e);
      ASSERT_TRUE(s.ok()) << s.error().ToString();
    }
    ASSERT_TRUE(writer_->Commit(tx).ok());
    auto published = writer_->Publish();
    ASSERT_TRUE(published.ok()) << published.error().ToString();
  }

  static std::map<std::string, V> Student(const std::string& id, const std::string& gpa,
                                          const std::string& major) {
    return {{"id", V::Text(id)},
            {"first_name", V::Text("Ada")},
            {"last_name", V::Text("Lovelace")},
            {"gender", V::Text("Female")},
            {"address", V::Text("1 Main St")},
            {"date_of_birth", V::Integer(12000)},
            {"major", V::Text(major)},
            {"year_of_study", V::Integer(2)},
            {"gpa", V::Text(gpa)},
            {"enrollment_status", V::Text("Full-time")}};
  }

  // S1: inserted at T1, gpa changed at T2, enrolled in C1 at T3, deleted at T4 (with its
  // enrollment), re-inserted at T5.
  void WriteHistory() {
    using Op = events::Operation;
    Transaction(100, "2026-01-10T10:00:00Z",
                {{Op::kInsert, "students", {}, Student("S1", "3.00", "Physics")},
                 {Op::kInsert,
                  "courses",
                  {},
                  {{"id", V::Text("C1")},
                   {"name", V::Text("Mechanics")},
                   {"units", V::Integer(4)},
                   {"department", V::Text("Physics")}}},
                 {Op::kInsert,
                  "professors",
                  {},
                  {{"id", V::Text("P1")},
                   {"first_name", V::Text("Emmy")},
                   {"last_name", V::Text("Noether")},
                   {"department", V::Text("Physics")},
                   {"annual_salary", V::Integer(120000)}}}});
    Transaction(200, "2026-02-10T10:00:00Z",
                {{Op::kUpdate, "students", Student("S1", "3.00", "Physics"),
                  Student("S1", "3.50", "Physics")}});
    std::map<std::string, V> takes = {{"student_id", V::Text("S1")},
                                      {"course_id", V::Text("C1")},
                                      {"semester", V::Text("Fall 2026")}};
    Transaction(300, "2026-03-10T10:00:00Z",
                {{Op::kInsert,
                  "teaches",
                  {},
                  {{"professor_id", V::Text("P1")},
                   {"course_id", V::Text("C1")},
                   {"semester", V::Text("Fall 2026")}}},
                 {Op::kInsert, "takes", {}, takes}});
    Transaction(400, "2026-04-10T10:00:00Z",
                {{Op::kDelete, "takes", takes, {}},
                 {Op::kDelete, "students", {{"id", V::Text("S1")}}, {}}});
    Transaction(500, "2026-05-10T10:00:00Z",
                {{Op::kInsert, "students", {}, Student("S1", "2.10", "Mathematics")}});
  }

  std::string dir_;
  std::shared_ptr<lake::Lake> lake_;
  std::unique_ptr<lake::LakeWriter> writer_;
  std::unique_ptr<LakeAccess> access_;
  std::map<std::string, std::shared_ptr<const events::TableSchema>> schemas_;
};

TEST_F(LakeIntegrationTest, ServiceReadsTheLakesViews) {
  WriteHistory();
  Service service(*access_, nullptr);

  auto all = service.Dimension({.entity = "students"});
  ASSERT_TRUE(all.ok()) << all.error().ToString();
  ASSERT_EQ(all->total, 3);  // the insert, the update (closed by the delete), the re-insert
  auto current = service.Dimension({.entity = "students", .current = true});
  ASSERT_TRUE(current.ok());
  ASSERT_EQ(current->total, 1);
  EXPECT_EQ(current->rows[0]["gpa"], 2.1);
  EXPECT_EQ(current->rows[0]["row_effective_end"], "9999-12-31T00:00:00.000000Z");

  auto history = service.History("students", "S1");
  ASSERT_TRUE(history.ok()) << history.error().ToString();
  const auto& versions = (*history)["versions"];
  ASSERT_EQ(versions.size(), 3u) << versions.dump();
  EXPECT_EQ(versions[0]["operation"], "insert");
  EXPECT_EQ(versions[1]["changes"],
            nlohmann::json::parse(R"([{"field":"gpa","old":3.0,"new":3.5}])"));
  EXPECT_EQ(versions[1]["deleted_at"], "2026-04-10T10:00:00.000000Z");
  EXPECT_EQ(versions[2]["operation"], "reinsert");
  EXPECT_EQ(versions[2]["lsn"], "0/1F4");

  auto gpa_at = [&](const std::string& iso) -> nlohmann::json {
    auto page = service.AsOf("students_dim", At(iso), {});
    EXPECT_TRUE(page.ok()) << page.error().ToString();
    if (!page.ok() || page->rows.empty()) return nullptr;
    return page->rows[0]["gpa"];
  };
  EXPECT_EQ(gpa_at("2026-01-10T10:00:00Z"), 3.0);
  EXPECT_EQ(gpa_at("2026-02-10T10:00:00Z"), 3.5);
  EXPECT_TRUE(gpa_at("2026-04-10T10:00:00Z").is_null());
  EXPECT_EQ(gpa_at("2026-05-10T10:00:00Z"), 2.1);

  auto takes_at = [&](const std::string& iso) {
    auto page = service.AsOf("takes", At(iso), {});
    EXPECT_TRUE(page.ok()) << page.error().ToString();
    return page.ok() ? page->total : -1;
  };
  EXPECT_EQ(takes_at("2026-03-10T09:00:00Z"), 0);
  EXPECT_EQ(takes_at("2026-03-10T10:00:00Z"), 1);
  EXPECT_EQ(takes_at("2026-04-10T10:00:00Z"), 0);
  auto students_then = service.AsOf("students", At("2026-02-11T00:00:00Z"), {});
  ASSERT_TRUE(students_then.ok()) << students_then.error().ToString();
  ASSERT_EQ(students_then->total, 1);
  EXPECT_EQ(students_then->rows[0]["gpa"], 3.5);
  EXPECT_EQ(students_then->rows[0]["major"], "Physics");

  auto fact = service.Fact({});
  ASSERT_TRUE(fact.ok()) << fact.error().ToString();
  EXPECT_GE(fact->total, 1);
  EXPECT_EQ(fact->rows[0]["student_id"], "S1");
  EXPECT_EQ(fact->rows[0]["course_id"], "C1");
  auto per_semester = service.EnrollmentsPerSemester();
  ASSERT_TRUE(per_semester.ok()) << per_semester.error().ToString();
  EXPECT_EQ(*per_semester, nlohmann::json::parse(R"([{"label":"Fall 2026","value":0}])"))
      << "one enrollment and its drop";
  auto gpa = service.GpaDistribution(std::nullopt);
  ASSERT_TRUE(gpa.ok());
  EXPECT_EQ((*gpa)[8]["value"], 1);
  auto headcount = service.Headcount(HeadcountInterval::kMonth, At("2026-05-31T00:00:00Z"));
  ASSERT_TRUE(headcount.ok()) << headcount.error().ToString();
  ASSERT_EQ(headcount->size(), 5u);
  EXPECT_EQ((*headcount)[3]["value"], 0);  // April: deleted
  EXPECT_EQ((*headcount)[4]["value"], 1);

  PipelineStatus status = service.CurrentStatus();
  EXPECT_EQ(status.lake_version, lake_->Position().version);
  EXPECT_EQ(status.last_committed_lsn, Lsn(501));
  EXPECT_EQ(status.table_rows["students_changes"], 4);
  EXPECT_EQ(status.table_rows["takes_changes"], 2);
}

TEST_F(LakeIntegrationTest, ConsoleReadsTheLakeAndNothingElse) {
  WriteHistory();
  auto console = SqlConsole::Open(*access_, testing::TestConsoleOptions());
  ASSERT_TRUE(console.ok()) << console.error().ToString();
  auto count = (*console)->Run("SELECT count(*) FROM students_dim", std::nullopt);
  ASSERT_TRUE(count.ok()) << count.error().ToString();
  EXPECT_EQ(count->rows, nlohmann::json::parse("[[3]]"));
  // The lake's files only through its views: not by path, not even its own.
  for (const std::string& sql :
       {"SELECT count(*) FROM read_parquet('" + dir_ + "/students_changes/*.parquet')",
        "SELECT count(*) FROM '" + dir_ + "/students_changes/*.parquet'",
        std::string("SELECT * FROM read_csv('/etc/passwd')")}) {
    auto refused = (*console)->Run(sql, std::nullopt);
    ASSERT_FALSE(refused.ok()) << sql;
    EXPECT_NE(refused.error().message().find("refused"), std::string::npos)
        << refused.error().message();
  }

  // The next commit shows in the console.
  Transaction(600, "2026-06-10T10:00:00Z",
              {{events::Operation::kInsert, "students", {}, Student("S2", "3.90", "Biology")}});
  auto after = (*console)->Run("SELECT count(*) FROM students_dim WHERE id = 'S2'", std::nullopt);
  ASSERT_TRUE(after.ok()) << after.error().ToString();
  EXPECT_EQ(after->rows, nlohmann::json::parse("[[1]]"));
}

// The lake's own views, with the lake's column names: the dimensions' personal columns and the
// change logs' before_ and after_ images of them are all masked.
TEST_F(LakeIntegrationTest, ConsoleMasksPersonalDataInEveryView) {
  WriteHistory();
  auto console = SqlConsole::Open(*access_, testing::TestConsoleOptions());
  ASSERT_TRUE(console.ok()) << console.error().ToString();
  const std::string sql =
      "SELECT (SELECT list(DISTINCT address) FROM students_dim), "
      "(SELECT list(DISTINCT CAST(date_of_birth AS VARCHAR)) FROM students_dim), "
      "(SELECT list(DISTINCT before_address) FROM students_changes WHERE before_id IS NOT NULL), "
      "(SELECT list(DISTINCT after_address) FROM students_changes WHERE after_id IS NOT NULL), "
      "(SELECT list(DISTINCT after_date_of_birth) FROM students_changes WHERE after_id IS NOT "
      "NULL)";
  auto masked = (*console)->Run(sql, std::nullopt, PersonalData::kMasked);
  ASSERT_TRUE(masked.ok()) << masked.error().ToString();
  EXPECT_EQ(masked->rows,
            nlohmann::json::parse(R"([["[***]", "[***]", "[***]", "[***]", "[***]"]])"));
  auto shown = (*console)->Run(sql, std::nullopt, PersonalData::kShown);
  ASSERT_TRUE(shown.ok()) << shown.error().ToString();
  EXPECT_EQ(shown->rows[0][0], "[1 Main St]");
  EXPECT_EQ(shown->rows[0][3], "[1 Main St]");
}

TEST_F(LakeIntegrationTest, WaitForCommitReportsTheNextCommit) {
  uint64_t before = access_->Latest().version;
  EXPECT_FALSE(access_->WaitForCommit(before, std::chrono::milliseconds(1)).has_value());
  Transaction(100, "2026-01-10T10:00:00Z",
              {{events::Operation::kInsert, "students", {}, Student("S1", "3.00", "Physics")}});
  auto commit = access_->WaitForCommit(before, std::chrono::milliseconds(1000));
  ASSERT_TRUE(commit.has_value());
  EXPECT_GT(commit->version, before);
  EXPECT_EQ(commit->end_lsn, Lsn(101));
  ASSERT_TRUE(commit->commit_time.has_value());
  EXPECT_EQ(MicrosSinceEpoch(*commit->commit_time), At("2026-01-10T10:00:00Z"));
}

TEST_F(LakeIntegrationTest, ACapturedTablesDimensionIsListedFromTheLakeAndPaged) {
  WriteHistory();
  using Op = events::Operation;
  Service service(*access_, {});
  auto listed = [&] {
    auto dims = service.LakeDimensions();
    EXPECT_TRUE(dims.ok()) << dims.error().ToString();
    std::vector<std::string> views;
    if (dims.ok()) {
      for (const auto& d : *dims) views.push_back(d["view"]);
    }
    return views;
  };
  EXPECT_EQ(listed(), (std::vector<std::string>{"courses_dim", "professors_dim", "students_dim"}));
  auto none = service.Dimension({.entity = "rooms"});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code(), ErrorCode::kNotFound);

  std::map<std::string, V> room = {{"code", V::Text("R1")}, {"capacity", V::Integer(20)}};
  std::map<std::string, V> bigger = {{"code", V::Text("R1")}, {"capacity", V::Integer(30)}};
  Transaction(900, "2026-06-10T10:00:00Z", {{Op::kInsert, "rooms", {}, room}});
  Transaction(1000, "2026-06-11T10:00:00Z", {{Op::kUpdate, "rooms", room, bigger}});
  EXPECT_EQ(listed(), (std::vector<std::string>{"courses_dim", "professors_dim", "rooms_dim",
                                                "students_dim"}));
  auto dims = service.LakeDimensions();
  ASSERT_TRUE(dims.ok());
  const auto& rooms = (*dims)[2];
  EXPECT_EQ(rooms["entity"], "rooms");
  EXPECT_EQ(rooms["key_column"], "rooms_key");
  EXPECT_EQ(rooms["portal"], false);
  EXPECT_EQ(rooms["versions"], 2);
  EXPECT_EQ(rooms["current_versions"], 1);
  EXPECT_EQ((*dims)[3]["entity"], "students");
  EXPECT_EQ((*dims)[3]["portal"], true);

  auto page = service.Dimension({.entity = "rooms", .sort = "capacity", .descending = true});
  ASSERT_TRUE(page.ok()) << page.error().ToString();
  EXPECT_EQ(page->total, 2);
  EXPECT_EQ(page->rows[0]["rooms_key"], 2);
  EXPECT_EQ(page->rows[0]["capacity"], 30);
  EXPECT_EQ(page->rows[0]["current_row_indicator"], "yes");
  EXPECT_EQ(page->rows[1]["current_row_indicator"], "no");
  auto current = service.Dimension({.entity = "rooms", .current = true});
  ASSERT_TRUE(current.ok());
  EXPECT_EQ(current->total, 1);
  auto by_id = service.Dimension({.entity = "rooms", .id = "R1"});
  ASSERT_FALSE(by_id.ok());
  EXPECT_EQ(by_id.error().code(), ErrorCode::kInvalidArgument);
}

TEST_F(LakeIntegrationTest, ChangedViewsAreThoseOfTheTablesACommitWrote) {
  WriteHistory();
  using Op = events::Operation;
  auto pinned = [&] {
    auto views = access_->PinViews();
    EXPECT_TRUE(views.ok()) << views.error().ToString();
    return views.ok() ? std::move(*views) : PinnedViews{};
  };
  PinnedViews before = pinned();
  std::map<std::string, V> professor = {{"id", V::Text("P1")},
                                        {"first_name", V::Text("Emmy")},
                                        {"last_name", V::Text("Noether")},
                                        {"department", V::Text("Physics")},
                                        {"annual_salary", V::Integer(120000)}};
  std::map<std::string, V> raised = professor;
  raised["annual_salary"] = V::Integer(130000);
  Transaction(900, "2026-06-10T10:00:00Z", {{Op::kUpdate, "professors", professor, raised}});
  PinnedViews after = pinned();
  EXPECT_EQ(ChangedViews(before, after),
            (std::vector<std::string>{"professors_changes", "professors_dim"}));
  EXPECT_TRUE(ChangedViews(after, after).empty());

  Transaction(1000, "2026-06-11T10:00:00Z",
              {{Op::kUpdate, "students", Student("S1", "3.50", "Physics"),
                Student("S1", "3.75", "Physics")}});
  EXPECT_EQ(ChangedViews(after, pinned()),
            (std::vector<std::string>{"students_changes", "students_dim"}));
}

}  // namespace
}  // namespace migsbyu::analytics
