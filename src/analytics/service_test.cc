#include "analytics/service.h"

#include <gtest/gtest.h>

#include <set>

#include "analytics/fixture_lake.h"

namespace migsbyu::analytics {
namespace {

int64_t At(const std::string& iso) {
  auto micros = ParseInstantMicros(iso, "test instant");
  EXPECT_TRUE(micros.ok()) << iso;
  return micros.ok() ? *micros : 0;
}

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(lake_.Execute(testing::ReadFileOrDie(testing::StandardFixtureSql())).ok());
    auto published = lake_.Publish(Lsn(500), At("2026-05-10T10:00:00.000000Z"));
    ASSERT_TRUE(published.ok()) << published.error().ToString();
  }

  // The surrogate keys of a page's rows, in order.
  static std::vector<int64_t> Keys(const Page& page, const std::string& key) {
    std::vector<int64_t> keys;
    for (const auto& row : page.rows) keys.push_back(row[key].get<int64_t>());
    return keys;
  }

  Page Students(DimensionQuery query) {
    query.entity = "students";
    auto page = service_.Dimension(query);
    EXPECT_TRUE(page.ok()) << page.error().ToString();
    return page.ok() ? *page : Page{};
  }

  std::vector<int64_t> StudentKeysAt(const std::string& iso) {
    auto page = service_.AsOf("students_dim", At(iso), {});
    EXPECT_TRUE(page.ok()) << page.error().ToString();
    return page.ok() ? Keys(*page, "student_key") : std::vector<int64_t>{};
  }

  // The rows of an operational table at an instant, each as its key columns joined by '|'.
  std::vector<std::string> RowsAt(const std::string& table, const std::string& iso,
                                  const std::vector<std::string>& columns) {
    auto page = service_.AsOf(table, At(iso), {});
    EXPECT_TRUE(page.ok()) << page.error().ToString();
    std::vector<std::string> rows;
    if (!page.ok()) return rows;
    for (const auto& row : page->rows) {
      std::string text;
      for (const auto& c : columns) {
        text += (text.empty() ? "" : "|") +
                (row[c].is_string() ? row[c].get<std::string>() : row[c].dump());
      }
      rows.push_back(text);
    }
    EXPECT_EQ(page->total, static_cast<int64_t>(rows.size()));
    return rows;
  }

  testing::FixtureLake lake_;
  Service service_{lake_, nullptr};
};

TEST_F(ServiceTest, DimensionListsEveryVersionWithTotal) {
  Page page = Students({});
  EXPECT_EQ(page.total, 7);
  EXPECT_EQ(Keys(page, "student_key"), (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(page.rows[0]["id"], "S1");
  EXPECT_EQ(page.rows[0]["gpa"], 3.0);
  EXPECT_EQ(page.rows[0]["date_of_birth"], "2004-05-06");
  EXPECT_EQ(page.rows[0]["row_effective_start"], "2026-01-10T10:00:00.000000Z");
  EXPECT_EQ(page.rows[1]["row_effective_end"], "9999-12-31T00:00:00.000000Z");
  EXPECT_EQ(page.rows[0]["source_lsn"], 100u);
}

TEST_F(ServiceTest, DimensionFiltersByIdNameCurrentAndDeleted) {
  EXPECT_EQ(Keys(Students({.id = "S1"}), "student_key"), (std::vector<int64_t>{1, 3, 4, 7}));
  EXPECT_EQ(Keys(Students({.q = "hOPp"}), "student_key"), (std::vector<int64_t>{5, 6}));
  EXPECT_EQ(Keys(Students({.q = "ada love"}), "student_key"), (std::vector<int64_t>{1, 3, 4, 7}));
  EXPECT_EQ(Keys(Students({.q = "s2"}), "student_key"), (std::vector<int64_t>{2}));
  EXPECT_EQ(Keys(Students({.current = true}), "student_key"), (std::vector<int64_t>{2, 6, 7}));
  EXPECT_EQ(Keys(Students({.current = false}), "student_key"), (std::vector<int64_t>{1, 3, 4, 5}));
  EXPECT_EQ(Keys(Students({.deleted = true}), "student_key"), (std::vector<int64_t>{4}));
  EXPECT_EQ(Keys(Students({.id = "S1", .current = true}), "student_key"),
            (std::vector<int64_t>{7}));
  EXPECT_EQ(Students({.id = "nobody"}).total, 0);
  // A name search is a value, never SQL.
  EXPECT_EQ(Students({.q = "' OR 1=1 --"}).total, 0);
}

TEST_F(ServiceTest, DimensionSortsAndPaginates) {
  Page page = Students({.sort = "gpa", .descending = true, .paging = {.skip = 1, .limit = 3}});
  EXPECT_EQ(page.total, 7);
  // gpa: 2→4.00, 3,4→3.50, 1→3.00, 7→2.10, 6→1.20, 5→1.00; ties by key.
  EXPECT_EQ(Keys(page, "student_key"), (std::vector<int64_t>{3, 4, 1}));
  Page last = Students({.paging = {.skip = 6, .limit = 5}});
  EXPECT_EQ(Keys(last, "student_key"), (std::vector<int64_t>{7}));
  EXPECT_EQ(last.total, 7);
  Page beyond = Students({.paging = {.skip = 100, .limit = 5}});
  EXPECT_TRUE(beyond.rows.empty());
  EXPECT_EQ(beyond.total, 7);
  Page by_key_desc = Students({.descending = true, .paging = {.limit = 2}});
  EXPECT_EQ(Keys(by_key_desc, "student_key"), (std::vector<int64_t>{7, 6}));
}

TEST_F(ServiceTest, DimensionRefusesUnknownSortEntityAndPaging) {
  auto bad_sort = service_.Dimension({.entity = "students", .sort = "gpa; DROP VIEW x"});
  ASSERT_FALSE(bad_sort.ok());
  EXPECT_EQ(bad_sort.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(bad_sort.error().message().find("sort"), std::string::npos);
  auto bad_entity = service_.Dimension({.entity = "teachers"});
  ASSERT_FALSE(bad_entity.ok());
  EXPECT_EQ(bad_entity.error().code(), ErrorCode::kNotFound);
  auto bad_limit = service_.Dimension({.entity = "courses", .paging = {.limit = 0}});
  ASSERT_FALSE(bad_limit.ok());
  EXPECT_EQ(bad_limit.error().code(), ErrorCode::kInvalidArgument);
  auto too_many = service_.Dimension({.entity = "courses", .paging = {.limit = kMaxPageSize + 1}});
  EXPECT_FALSE(too_many.ok());
  auto negative = service_.Dimension({.entity = "courses", .paging = {.skip = -1}});
  EXPECT_FALSE(negative.ok());
}

TEST_F(ServiceTest, DimensionAsOfFollowsHalfOpenIntervals) {
  EXPECT_EQ(StudentKeysAt("2026-01-10T09:59:59.999999Z"), (std::vector<int64_t>{}));
  EXPECT_EQ(StudentKeysAt("2026-01-10T10:00:00.000000Z"), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(StudentKeysAt("2026-02-10T09:59:59.999999Z"), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(StudentKeysAt("2026-02-10T10:00:00.000000Z"), (std::vector<int64_t>{2, 3}));
  // Two changes in one transaction: the first version's interval is empty, never in force.
  EXPECT_EQ(StudentKeysAt("2026-03-10T10:00:00.000000Z"), (std::vector<int64_t>{2, 4, 6}));
  // The delete at T4 closes S1's version: no S1 until its re-insert at T5.
  EXPECT_EQ(StudentKeysAt("2026-04-10T09:59:59.999999Z"), (std::vector<int64_t>{2, 4, 6}));
  EXPECT_EQ(StudentKeysAt("2026-04-10T10:00:00.000000Z"), (std::vector<int64_t>{2, 6}));
  EXPECT_EQ(StudentKeysAt("2026-05-10T12:00:00+02:00"), (std::vector<int64_t>{2, 6, 7}));
  EXPECT_EQ(StudentKeysAt("2030-01-01"), (std::vector<int64_t>{2, 6, 7}));
}

TEST_F(ServiceTest, HistoryGivesVersionsWithChangedFields) {
  auto history = service_.History("students", "S1");
  ASSERT_TRUE(history.ok()) << history.error().ToString();
  const auto& versions = (*history)["versions"];
  ASSERT_EQ(versions.size(), 4u);
  EXPECT_EQ((*history)["entity"], "students");
  EXPECT_EQ((*history)["id"], "S1");

  EXPECT_EQ(versions[0]["operation"], "insert");
  EXPECT_EQ(versions[0]["commit_time"], "2026-01-10T10:00:00.000000Z");
  EXPECT_EQ(versions[0]["lsn"], "0/64");
  EXPECT_EQ(versions[0]["changes"].size(), 9u);  // every attribute, from null

  EXPECT_EQ(versions[1]["operation"], "update");
  EXPECT_EQ(versions[1]["changes"],
            nlohmann::json::parse(R"([{"field":"gpa","old":3.0,"new":3.5}])"));
  EXPECT_EQ(versions[2]["changes"],
            nlohmann::json::parse(R"([{"field":"major","old":"Physics","new":"Mathematics"}])"));
  EXPECT_EQ(versions[2]["deleted_at"], "2026-04-10T10:00:00.000000Z");
  EXPECT_TRUE(versions[1]["deleted_at"].is_null());

  EXPECT_EQ(versions[3]["operation"], "reinsert");
  EXPECT_EQ(versions[3]["commit_time"], "2026-05-10T10:00:00.000000Z");
  std::set<std::string> fields;
  for (const auto& change : versions[3]["changes"]) fields.insert(change["field"]);
  EXPECT_EQ(fields, (std::set<std::string>{"gpa", "major"}));
}

TEST_F(ServiceTest, HistorySaysWhoMadeEachVersionAndWhoDeletedOne) {
  auto history = service_.History("students", "S1");
  ASSERT_TRUE(history.ok()) << history.error().ToString();
  std::vector<std::string> who;
  for (const auto& v : (*history)["versions"]) {
    who.push_back(
        (v["changed_by"].is_null() ? std::string("NULL") : v["changed_by"].get<std::string>()) +
        "/" + v["origin"].get<std::string>());
  }
  EXPECT_EQ(who, (std::vector<std::string>{"registrar1/portal", "registrar2/portal",
                                           "simulator/simulator", "NULL/database"}));
  const auto& versions = (*history)["versions"];
  // Version 3 was closed by admin's delete at T4 (the change log's 'd'); the others by updates.
  EXPECT_EQ(versions[2]["deleted_by"], "admin");
  EXPECT_EQ(versions[2]["deleted_origin"], "portal");
  for (size_t i : {0u, 1u, 3u}) {
    EXPECT_TRUE(versions[i]["deleted_by"].is_null()) << i;
    EXPECT_TRUE(versions[i]["deleted_origin"].is_null()) << i;
  }
  // Who made a version is not an attribute that changed.
  for (const auto& v : versions) {
    for (const auto& change : v["changes"]) {
      EXPECT_NE(change["field"], "changed_by");
      EXPECT_NE(change["field"], "origin");
    }
  }
}

// The audit trail over the fixture's students and takes change logs (12 changes).
class AuditTest : public ServiceTest {
 protected:
  // "table:commit_lsn:position:changed_by/origin" of each row of a page, in order.
  std::vector<std::string> Rows(AuditQuery query) {
    auto page = service_.Audit(query);
    EXPECT_TRUE(page.ok()) << page.error().ToString();
    std::vector<std::string> out;
    if (!page.ok()) return out;
    total_ = page->total;
    for (const auto& r : page->rows) {
      out.push_back(
          r["table"].get<std::string>() + ":" + r["lsn"].get<std::string>() + ":" +
          std::to_string(r["position"].get<int64_t>()) + ":" +
          (r["changed_by"].is_null() ? std::string("NULL") : r["changed_by"].get<std::string>()) +
          "/" + r["origin"].get<std::string>());
    }
    return out;
  }
  int64_t total_ = -1;
};

TEST_F(AuditTest, ListsEveryChangeNewestFirstWithWhoMadeIt) {
  AuditQuery query;
  query.paging.limit = 4;
  EXPECT_EQ(Rows(query), (std::vector<std::string>{
                             "students:0/1F4:2:NULL/database", "takes:0/1F4:1:NULL/database",
                             "takes:0/1F4:0:NULL/database", "takes:0/190:1:admin/portal"}));
  EXPECT_EQ(total_, 12);
  query.oldest_first = true;
  query.paging = {.skip = 1, .limit = 2};
  EXPECT_EQ(Rows(query), (std::vector<std::string>{"students:0/64:1:NULL/snapshot",
                                                   "takes:0/64:2:registrar1/portal"}));
}

TEST_F(AuditTest, FiltersByUserOriginTableOperationRecordAndTime) {
  AuditQuery by_user;
  by_user.user = "registrar2";
  EXPECT_EQ(Rows(by_user), (std::vector<std::string>{"takes:0/C8:2:registrar2/portal",
                                                     "takes:0/C8:1:registrar2/portal",
                                                     "students:0/C8:0:registrar2/portal"}));
  AuditQuery by_origin;
  by_origin.origin = "simulator";
  EXPECT_EQ(Rows(by_origin), (std::vector<std::string>{"takes:0/12C:3:simulator/simulator"}));
  AuditQuery deletes;
  deletes.table = "students";
  deletes.op = "d";
  EXPECT_EQ(Rows(deletes), (std::vector<std::string>{"students:0/190:0:admin/portal"}));
  AuditQuery record;
  record.record = "S2";  // S2's snapshot row and its two enrollments' changes
  EXPECT_EQ(Rows(record), (std::vector<std::string>{
                              "takes:0/190:1:admin/portal", "takes:0/C8:2:registrar2/portal",
                              "takes:0/C8:1:registrar2/portal", "students:0/64:1:NULL/snapshot"}));
  AuditQuery february;
  february.from_micros = At("2026-02-10T10:00:00Z");
  february.to_micros = At("2026-03-10T10:00:00Z");  // exclusive
  EXPECT_EQ(Rows(february).size(), 3u);
  AuditQuery none;
  none.user = "nobody";
  EXPECT_TRUE(Rows(none).empty());
  EXPECT_EQ(total_, 0);
}

TEST_F(AuditTest, EachChangeCarriesItsKeyImagesAndChangedFields) {
  AuditQuery query;
  query.table = "takes";
  query.op = "u";
  auto page = service_.Audit(query);
  ASSERT_TRUE(page.ok()) << page.error().ToString();
  ASSERT_EQ(page->rows.size(), 1u);
  const auto& row = page->rows[0];
  EXPECT_EQ(row["operation"], "update");
  EXPECT_EQ(row["commit_time"], "2026-04-10T10:00:00.000000Z");
  EXPECT_EQ(row["xid"], 7004);
  EXPECT_EQ(row["key"], nlohmann::json::parse(
                            R"({"student_id":"S2","course_id":"MAT101","semester":"Fall 2026"})"));
  EXPECT_EQ(row["before"]["semester"], "Spring 2026");
  EXPECT_EQ(row["changes"], nlohmann::json::parse(
                                R"([{"field":"semester","old":"Spring 2026","new":"Fall 2026"}])"));
  query.op = "t";
  page = service_.Audit(query);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->rows.size(), 1u);
  EXPECT_EQ(page->rows[0]["operation"], "truncate");
  EXPECT_TRUE(page->rows[0]["before"].is_null());
  EXPECT_TRUE(page->rows[0]["after"].is_null());
  EXPECT_TRUE(page->rows[0]["changes"].empty());
  AuditQuery inserted;
  inserted.table = "students";
  inserted.op = "c";
  inserted.oldest_first = true;
  page = service_.Audit(inserted);
  ASSERT_TRUE(page.ok());
  ASSERT_FALSE(page->rows.empty());
  EXPECT_EQ(page->rows[0]["changes"],
            nlohmann::json::parse(R"([{"field":"first_name","old":null,"new":"Ada"},
                                      {"field":"gpa","old":null,"new":3.0},
                                      {"field":"id","old":null,"new":"S1"}])"));
}

TEST_F(AuditTest, RefusesBadFiltersNamingThem) {
  auto refused = [&](AuditQuery q, const std::string& what) {
    auto page = service_.Audit(q);
    ASSERT_FALSE(page.ok()) << what;
    EXPECT_EQ(page.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(page.error().message().find(what), std::string::npos) << page.error().message();
  };
  refused({.table = "pg_authid"}, "table");
  refused({.op = "x"}, "op");
  refused({.op = "cu"}, "op");
  refused({.origin = "Portal; DROP"}, "origin");
  refused({.from_micros = 2, .to_micros = 1}, "from");
  refused({.paging = {.skip = 0, .limit = 0}}, "limit");
  refused({.paging = {.skip = 0, .limit = kMaxAuditPageSize + 1}}, "limit");
  refused({.paging = {.skip = -1, .limit = 10}}, "skip");
  // Values are parameters, never SQL: a quote in a filter matches nothing.
  AuditQuery quoted;
  quoted.user = "x' OR '1'='1";
  EXPECT_TRUE(Rows(quoted).empty());
}

TEST_F(AuditTest, ActorsCountTheirChanges) {
  auto actors = service_.AuditActors();
  ASSERT_TRUE(actors.ok()) << actors.error().ToString();
  std::vector<std::string> got;
  for (const auto& a : *actors) {
    got.push_back(
        (a["changed_by"].is_null() ? std::string("NULL") : a["changed_by"].get<std::string>()) +
        "/" + a["origin"].get<std::string>() + "=" + std::to_string(a["changes"].get<int64_t>()));
  }
  EXPECT_EQ(got, (std::vector<std::string>{"registrar2/portal=3", "NULL/database=3",
                                           "admin/portal=2", "registrar1/portal=2",
                                           "simulator/simulator=1", "NULL/snapshot=1"}));
}

TEST_F(ServiceTest, HistoryOfUnknownIdIsNotFound) {
  auto history = service_.History("courses", "NOPE");
  ASSERT_FALSE(history.ok());
  EXPECT_EQ(history.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(history.error().message().find("NOPE"), std::string::npos);
}

TEST_F(ServiceTest, OperationalTableAsOfReplaysTheChangeLog) {
  const std::vector<std::string> takes = {"student_id", "course_id", "semester"};
  EXPECT_EQ(RowsAt("takes", "2026-01-10T09:00:00.000000Z", takes), (std::vector<std::string>{}));
  EXPECT_EQ(RowsAt("takes", "2026-01-10T10:00:00.000000Z", takes),
            (std::vector<std::string>{"S1|PHY101|Fall 2026"}));
  EXPECT_EQ(RowsAt("takes", "2026-02-10T10:00:00.000000Z", takes),
            (std::vector<std::string>{"S1|PHY101|Fall 2026", "S2|MAT101|Spring 2026",
                                      "S2|PHY101|Fall 2026"}));
  // A delete removes its row.
  EXPECT_EQ(RowsAt("takes", "2026-03-10T10:00:00.000000Z", takes),
            (std::vector<std::string>{"S2|MAT101|Spring 2026", "S2|PHY101|Fall 2026"}));
  // An update that changes the key moves the row.
  EXPECT_EQ(RowsAt("takes", "2026-04-10T10:00:00.000000Z", takes),
            (std::vector<std::string>{"S2|MAT101|Fall 2026", "S2|PHY101|Fall 2026"}));
  // A truncate empties the table; the insert after it in the same transaction stays.
  EXPECT_EQ(RowsAt("takes", "2026-05-10T10:00:00.000000Z", takes),
            (std::vector<std::string>{"S3|MAT101|Spring 2026"}));

  const std::vector<std::string> students = {"id", "gpa"};
  EXPECT_EQ(RowsAt("students", "2026-01-10T10:00:00.000000Z", students),
            (std::vector<std::string>{"S1|3.0", "S2|4.0"}));
  EXPECT_EQ(RowsAt("students", "2026-03-01T00:00:00.000000Z", students),
            (std::vector<std::string>{"S1|3.5", "S2|4.0"}));
  EXPECT_EQ(RowsAt("students", "2026-04-10T10:00:00.000000Z", students),
            (std::vector<std::string>{"S2|4.0"}));
  EXPECT_EQ(RowsAt("students", "2026-06-01T00:00:00.000000Z", students),
            (std::vector<std::string>{"S1|2.1", "S2|4.0"}));
}

TEST_F(ServiceTest, AsOfRefusesUnknownTable) {
  auto page = service_.AsOf("pg_authid", At("2026-01-01"), {});
  ASSERT_FALSE(page.ok());
  EXPECT_EQ(page.error().code(), ErrorCode::kNotFound);
}

TEST_F(ServiceTest, FactCarriesNaturalIdsAndFilters) {
  auto all = service_.Fact({});
  ASSERT_TRUE(all.ok()) << all.error().ToString();
  EXPECT_EQ(all->total, 6);
  EXPECT_EQ(all->rows[0]["student_id"], "S1");
  EXPECT_EQ(all->rows[0]["course_id"], "PHY101");
  EXPECT_EQ(all->rows[0]["course_name"], "Mechanics");
  EXPECT_EQ(all->rows[0]["professor_id"], "P1");
  EXPECT_EQ(all->rows[0]["course_enrollment_count"], 1);

  auto spring = service_.Fact({.semester = "Spring 2026"});
  ASSERT_TRUE(spring.ok());
  EXPECT_EQ(spring->total, 2);
  for (const auto& row : spring->rows) EXPECT_TRUE(row["professor_id"].is_null());

  auto s2 = service_.Fact({.student_id = "S2", .paging = {.skip = 0, .limit = 1}});
  ASSERT_TRUE(s2.ok());
  EXPECT_EQ(s2->total, 3);
  EXPECT_EQ(s2->rows.size(), 1u);
}

TEST_F(ServiceTest, EnrollmentAggregatesCountEachEventOnce) {
  auto per_semester = service_.EnrollmentsPerSemester();
  ASSERT_TRUE(per_semester.ok()) << per_semester.error().ToString();
  EXPECT_EQ(*per_semester, nlohmann::json::parse(R"([{"label":"Spring 2026","value":2},
                                                    {"label":"Fall 2026","value":1}])"));
  auto per_department = service_.EnrollmentsPerDepartment();
  ASSERT_TRUE(per_department.ok()) << per_department.error().ToString();
  EXPECT_EQ(*per_department, nlohmann::json::parse(R"([{"label":"Mathematics","value":2},
                                                      {"label":"Physics","value":1}])"));
}

TEST_F(ServiceTest, GpaDistributionNowAndAsOf) {
  auto now = service_.GpaDistribution(std::nullopt);
  ASSERT_TRUE(now.ok()) << now.error().ToString();
  ASSERT_EQ(now->size(), 16u);
  EXPECT_EQ((*now)[0]["label"], "0.00–0.25");
  EXPECT_EQ((*now)[15]["lower"], 3.75);
  EXPECT_EQ((*now)[15]["upper"], 4.0);
  std::map<int, int64_t> counts;
  for (size_t i = 0; i < now->size(); ++i) {
    if ((*now)[i]["value"] != 0) counts[static_cast<int>(i)] = (*now)[i]["value"];
  }
  // S3 1.20, S1 2.10, S2 4.00 (4.00 falls in the last bin).
  EXPECT_EQ(counts, (std::map<int, int64_t>{{4, 1}, {8, 1}, {15, 1}}));

  auto at_t2 = service_.GpaDistribution(At("2026-02-10T10:00:00.000000Z"));
  ASSERT_TRUE(at_t2.ok());
  counts.clear();
  for (size_t i = 0; i < at_t2->size(); ++i) {
    if ((*at_t2)[i]["value"] != 0) counts[static_cast<int>(i)] = (*at_t2)[i]["value"];
  }
  EXPECT_EQ(counts, (std::map<int, int64_t>{{14, 1}, {15, 1}}));
}

TEST_F(ServiceTest, HeadcountPerMonthCountsStudentsAtEachMonthsEnd) {
  auto monthly = service_.Headcount(HeadcountInterval::kMonth, At("2026-06-15T00:00:00.000000Z"));
  ASSERT_TRUE(monthly.ok()) << monthly.error().ToString();
  std::vector<std::pair<std::string, int64_t>> got;
  for (const auto& b : *monthly) got.emplace_back(b["label"], b["value"]);
  EXPECT_EQ(got, (std::vector<std::pair<std::string, int64_t>>{{"2026-01", 2},
                                                               {"2026-02", 2},
                                                               {"2026-03", 3},
                                                               {"2026-04", 2},
                                                               {"2026-05", 3},
                                                               {"2026-06", 3}}));
  EXPECT_EQ((*monthly)[0]["at"], "2026-01-31T23:59:59.999999Z");
  EXPECT_EQ((*monthly)[5]["at"], "2026-06-15T00:00:00.000000Z");

  auto daily = service_.Headcount(HeadcountInterval::kDay, At("2026-01-12T12:00:00.000000Z"));
  ASSERT_TRUE(daily.ok()) << daily.error().ToString();
  ASSERT_EQ(daily->size(), 3u);
  EXPECT_EQ((*daily)[0]["label"], "2026-01-10");
  EXPECT_EQ((*daily)[2]["value"], 2);
}

TEST_F(ServiceTest, StatusAddsLakeCommitAndTableCounts) {
  Service with_provider(lake_, [] {
    PipelineStatus s;
    s.capture_running = true;
    s.slot_lag_bytes = 4096;
    s.events_per_second = 12.5;
    return s;
  });
  PipelineStatus status = with_provider.CurrentStatus();
  EXPECT_TRUE(status.capture_running);
  EXPECT_EQ(status.slot_lag_bytes, 4096);
  EXPECT_EQ(status.lake_version, 1u);
  EXPECT_EQ(status.last_committed_lsn, Lsn(500));
  ASSERT_TRUE(status.last_commit_time.has_value());
  EXPECT_EQ(MicrosSinceEpoch(*status.last_commit_time), At("2026-05-10T10:00:00.000000Z"));
  EXPECT_EQ(status.table_rows["students_dim"], 7);
  EXPECT_EQ(status.table_rows["course_enrollment_fact"], 6);
  EXPECT_EQ(status.table_rows["takes_changes"], 7);
  EXPECT_EQ(status.table_rows.count("teaches_changes"), 0u);  // not in this lake

  // Counts follow the lake's next commit.
  ASSERT_TRUE(lake_
                  .Execute("INSERT INTO course_enrollment_fact VALUES "
                           "(7, 1, 1, 'Fall 2026', 1, '2026-05-11 10:00:00+00', 600)")
                  .ok());
  ASSERT_TRUE(lake_.Publish(Lsn(600)).ok());
  EXPECT_EQ(with_provider.CurrentStatus().table_rows["course_enrollment_fact"], 7);
}

}  // namespace
}  // namespace migsbyu::analytics
