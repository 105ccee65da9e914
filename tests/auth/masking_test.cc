// Personal fields (address, date_of_birth) on every read path of the real server, for a caller
// without the pii grant: each answer must be exactly what an admin gets with those values masked
// ("***"), and must not hold the values anywhere. Writes by such a caller echo the record masked
// too, and sorting or searching by a personal field tells nothing.
#include <gtest/gtest.h>

#include <algorithm>

#include "serve_process.h"
#include "support/test_database.h"

namespace migsbyu::auth::testing {
namespace {

using nlohmann::json;

// The personal values of the records below: none may reach a masked caller.
const std::vector<std::string> kSecrets = {"Hidden Lane", "Concealed Road", "2001-02-03",
                                           "1970-05-06"};

bool Personal(const std::string& name) {
  for (const char* f : {"address", "date_of_birth"}) {
    if (name == f || name == std::string("before_") + f || name == std::string("after_") + f) {
      return true;
    }
  }
  return false;
}

// What the admin's answer must look like to a caller without the grant. Written here from the
// rule (every non-null personal value reads "***", in rows, nested versions and their changes),
// independently of the server's masking code.
json Masked(json v) {
  if (v.is_array()) {
    for (auto& item : v) item = Masked(item);
  } else if (v.is_object()) {
    const bool change = v.contains("field") && v.contains("old") && v.contains("new") &&
                        v["field"].is_string() && Personal(v["field"]);
    for (auto& [name, value] : v.items()) {
      if ((Personal(name) || (change && (name == "old" || name == "new"))) && !value.is_null()) {
        value = "***";
      } else {
        value = Masked(value);
      }
    }
  }
  return v;
}

class MaskingTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = new migsbyu::testing::TestDatabase("masking");
    serve_ = new ServeProcess(db_->url(), db_->name(), /*pipeline=*/true);
    ASSERT_TRUE(serve_->running());
    auto token = [](const std::string& name, const std::vector<std::string>& more) {
      std::vector<std::string> args = {"token", "create",         "--name",
                                       name,    "--database-url", db_->url()};
      args.insert(args.end(), more.begin(), more.end());
      auto r = RunMigsbyu(args);
      EXPECT_EQ(r.exit_code, 0) << r.err;
      return r.out.substr(0, r.out.find('\n'));
    };
    admin_ = new std::string(token("admin", {"--role", "admin"}));
    analyst_ = new std::string(token("analyst", {"--role", "analyst"}));
    viewer_ = new std::string(token("viewer", {"--role", "viewer"}));
    writer_ = new std::string(token("writer", {"--role", "registrar", "--no-pii"}));
    // The audit trail is for admins only: one without the grant.
    masked_admin_ = new std::string(token("masked-admin", {"--role", "admin", "--no-pii"}));
    for (auto* t : {admin_, analyst_, viewer_, writer_, masked_admin_}) {
      ASSERT_TRUE(Eventually(
          [&] { return serve_->api().Call("GET", "/auth/me", Bearer(*t)).status == 200; }));
    }
    HttpClient api = serve_->api();
    const Credential admin = Bearer(*admin_);
    auto post = [&](const std::string& path, const json& body) {
      Reply r = api.Call("POST", path, admin, body);
      ASSERT_EQ(r.status, 200) << path << ": " << r.body;
    };
    post("/students/", {{"id", "S1"},
                        {"first_name", "Ada"},
                        {"last_name", "Masked"},
                        {"gender", "Female"},
                        {"address", "7 Hidden Lane, Secretville"},
                        {"date_of_birth", "2001-02-03"},
                        {"major", "Mathematics"},
                        {"year_of_study", 2},
                        {"gpa", 3.5},
                        {"enrollment_status", "Full-time"}});
    post("/professors/", {{"id", "P1"},
                          {"title", "Dr."},
                          {"first_name", "Grace"},
                          {"last_name", "Masked"},
                          {"gender", "Female"},
                          {"address", "9 Concealed Road"},
                          {"department", "Computer Science"},
                          {"date_of_birth", "1970-05-06"},
                          {"annual_salary", 100000}});
    post("/courses/",
         {{"id", "C1"}, {"name", "Privacy"}, {"units", 3}, {"department", "Computer Science"}});
    post("/enrollments/", {{"student_id", "S1"}, {"course_id", "C1"}, {"semester", "Fall 2026"}});
    post("/assignments/", {{"professor_id", "P1"}, {"course_id", "C1"}, {"semester", "Fall 2026"}});
    Reply moved = api.Call("PATCH", "/students/S1", admin, json{{"address", "8 Hidden Lane"}});
    ASSERT_EQ(moved.status, 200) << moved.body;
    // Captured into the lake: two versions of S1, the professor, the fact row.
    ASSERT_TRUE(Eventually(
        [&] {
          Reply h = api.Call("GET", "/analytics/history/students/S1", admin);
          Reply p = api.Call("GET", "/analytics/dimensions/professors?id=P1", admin);
          Reply f = api.Call("GET", "/analytics/fact", admin);
          return h.status == 200 && h.Json()["versions"].size() == 2 && p.status == 200 &&
                 p.Json().size() == 1 && f.status == 200 && f.Json().size() >= 1;
        },
        std::chrono::seconds(60)));
  }

  static void TearDownTestSuite() {
    delete serve_;
    delete db_;
    for (auto* s : {admin_, analyst_, viewer_, writer_, masked_admin_}) delete s;
  }

  // An instant after every change above, the same for both callers.
  static std::string Now() {
    char buf[32];
    time_t t = ::time(nullptr) + 1;
    tm utc{};
    ::gmtime_r(&t, &utc);
    return std::string(buf, ::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc));
  }

  static migsbyu::testing::TestDatabase* db_;
  static ServeProcess* serve_;
  static std::string* admin_;
  static std::string* analyst_;
  static std::string* viewer_;
  static std::string* writer_;
  static std::string* masked_admin_;
};

migsbyu::testing::TestDatabase* MaskingTest::db_ = nullptr;
ServeProcess* MaskingTest::serve_ = nullptr;
std::string* MaskingTest::admin_ = nullptr;
std::string* MaskingTest::analyst_ = nullptr;
std::string* MaskingTest::viewer_ = nullptr;
std::string* MaskingTest::writer_ = nullptr;
std::string* MaskingTest::masked_admin_ = nullptr;

bool HoldsASecret(const std::string& text) {
  for (const auto& s : kSecrets) {
    if (text.find(s) != std::string::npos) return true;
  }
  return false;
}

TEST_F(MaskingTest, EveryReadPathMasksPersonalFieldsForARoleWithoutPii) {
  ASSERT_NE(serve_, nullptr);
  const std::string at = Now();
  struct Path {
    std::string path;
    bool personal;       // the admin's answer holds personal values (so masking has work to do)
    bool stable = true;  // false: the answer moves with the clock (only the values are compared)
  };
  const std::vector<Path> paths = {
      {"/students/", true},
      {"/students/S1", true},
      {"/students/?q=Ada&sort=gpa", true},
      {"/professors/", true},
      {"/professors/P1", true},
      {"/courses/", false},
      {"/enrollments/?expand=names", false},
      {"/students/S1/enrollments?expand=names", false},
      {"/courses/C1/assignments?expand=names", false},
      {"/analytics/dimensions/students", true},
      {"/analytics/dimensions/students?current=false", true},
      {"/analytics/dimensions/students?as_of=" + at, true},
      {"/analytics/dimensions/professors", true},
      {"/analytics/dimensions/courses", false},
      {"/analytics/history/students/S1", true},
      {"/analytics/history/professors/P1", true},
      {"/analytics/as-of/students?at=" + at, true},
      {"/analytics/as-of/professors?at=" + at, true},
      {"/analytics/as-of/students_dim?at=" + at, true},
      {"/analytics/as-of/professors_dim?at=" + at, true},
      {"/analytics/as-of/takes?at=" + at, false},
      {"/analytics/fact", false},
      {"/analytics/aggregates/enrollments-per-semester", false},
      {"/analytics/aggregates/enrollments-per-department", false},
      {"/analytics/aggregates/gpa-distribution", false},
      {"/analytics/aggregates/headcount?interval=day", false, false},
  };
  HttpClient api = serve_->api();
  for (const auto& [path, personal, stable] : paths) {
    Reply full = api.Call("GET", path, Bearer(*admin_));
    ASSERT_EQ(full.status, 200) << path << ": " << full.body;
    if (personal) {
      bool holds = false;
      for (const auto& s : kSecrets) holds = holds || full.body.find(s) != std::string::npos;
      EXPECT_TRUE(holds) << path << ": the admin should see the personal values: " << full.body;
    }
    for (const std::string* masked : {analyst_, viewer_}) {
      Reply r = api.Call("GET", path, Bearer(*masked));
      ASSERT_EQ(r.status, 200) << path << ": " << r.body;
      if (stable) {
        EXPECT_EQ(r.Json(), Masked(full.Json())) << path;
      }
      for (const auto& s : kSecrets) {
        EXPECT_EQ(r.body.find(s), std::string::npos) << path << " shows " << s << ": " << r.body;
      }
      EXPECT_EQ(r.Header("X-Total-Count"), full.Header("X-Total-Count")) << path;
    }
  }
}

// The audit trail's images and changes, in JSON and in the server-made CSV, for an admin without
// the grant. Filtered to the records the suite's setup wrote, so that later writes change nothing.
TEST_F(MaskingTest, TheAuditTrailMasksImagesChangesAndItsCsv) {
  HttpClient api = serve_->api();
  for (const char* path : {"/analytics/audit?record=S1", "/analytics/audit?table=professors",
                           "/analytics/audit?record=S1&order=asc&limit=1"}) {
    Reply full = api.Call("GET", path, Bearer(*admin_));
    ASSERT_EQ(full.status, 200) << path << ": " << full.body;
    EXPECT_TRUE(HoldsASecret(full.body)) << path << ": " << full.body;
    Reply r = api.Call("GET", path, Bearer(*masked_admin_));
    ASSERT_EQ(r.status, 200) << path << ": " << r.body;
    EXPECT_EQ(r.Json(), Masked(full.Json())) << path;
    EXPECT_FALSE(HoldsASecret(r.body)) << path << ": " << r.body;
    EXPECT_EQ(r.Header("X-Total-Count"), full.Header("X-Total-Count")) << path;
  }
  for (const char* path :
       {"/analytics/audit.csv?record=S1", "/analytics/audit.csv?table=professors"}) {
    Reply full = api.Call("GET", path, Bearer(*admin_));
    ASSERT_EQ(full.status, 200) << path << ": " << full.body;
    EXPECT_TRUE(HoldsASecret(full.body)) << path << ": " << full.body;
    Reply r = api.Call("GET", path, Bearer(*masked_admin_));
    ASSERT_EQ(r.status, 200) << path << ": " << r.body;
    EXPECT_FALSE(HoldsASecret(r.body)) << path << ": " << r.body;
    EXPECT_NE(r.body.find("***"), std::string::npos) << path << ": " << r.body;
    EXPECT_EQ(std::count(r.body.begin(), r.body.end(), '\n'),
              std::count(full.body.begin(), full.body.end(), '\n'))
        << path;
  }
  // Registrars, analysts and viewers are refused the trail whatever their grant.
  for (const std::string* other : {writer_, analyst_, viewer_}) {
    EXPECT_EQ(api.Call("GET", "/analytics/audit", Bearer(*other)).status, 403);
  }
}

// The SQL console masks inside its worker: a masked caller's views hold "***" where the values
// were, so that neither a projection, an expression nor a filter over them reaches the values.
TEST_F(MaskingTest, TheConsoleWorkerMasksEveryViewForARoleWithoutPii) {
  HttpClient api = serve_->api();
  auto run = [&](const std::string& token, const std::string& sql) {
    Reply r = api.Call("POST", "/analytics/sql", Bearer(token), json{{"sql", sql}});
    EXPECT_EQ(r.status, 200) << sql << ": " << r.body;
    return r;
  };
  struct Query {
    std::string sql;
    json masked_rows;  // what the caller without the grant must get; null: the admin's, masked
  };
  const std::vector<Query> queries = {
      {"SELECT id, address, date_of_birth FROM students_dim ORDER BY id, student_key", nullptr},
      {"SELECT id, address, date_of_birth FROM professors_dim ORDER BY id, professor_key", nullptr},
      {"SELECT before_address, after_address FROM students_changes ORDER BY commit_lsn, position",
       nullptr},
      {"SELECT count(*) FROM students_dim WHERE address LIKE '%Hidden%'", json{{0}}},
      {"SELECT max(upper(CAST(date_of_birth AS VARCHAR))) FROM students_dim", json{{"***"}}},
  };
  for (const auto& [sql, masked_rows] : queries) {
    Reply full = run(*admin_, sql);
    ASSERT_EQ(full.status, 200);
    for (const std::string* masked : {analyst_}) {
      Reply r = run(*masked, sql);
      ASSERT_EQ(r.status, 200);
      EXPECT_FALSE(HoldsASecret(r.body)) << sql << ": " << r.body;
      if (!masked_rows.is_null()) {
        EXPECT_EQ(r.Json()["rows"], masked_rows) << sql << ": " << r.body;
        EXPECT_NE(full.Json()["rows"], masked_rows) << sql << ": the admin's answer is the same";
        continue;
      }
      EXPECT_TRUE(HoldsASecret(full.body)) << sql << ": " << full.body;
      // Row by row, the admin's answer with each personal column masked: the worker's views
      // replace the whole column, so a null reads "***" too (unlike the REST answers, whose
      // nulls stay null), and not even whether a value exists shows.
      const json admin = full.Json();
      json expected = admin["rows"];
      for (auto& row : expected) {
        for (size_t c = 0; c < admin["columns"].size(); ++c) {
          if (Personal(admin["columns"][c]["name"].get<std::string>())) row[c] = "***";
        }
      }
      EXPECT_EQ(r.Json()["rows"], expected) << sql;
    }
  }
}

TEST_F(MaskingTest, AMaskedWriterGetsItsOwnWritesBackMasked) {
  HttpClient api = serve_->api();
  const Credential writer = Bearer(*writer_);
  json student = {{"id", "S2"},
                  {"first_name", "Bo"},
                  {"last_name", "Writer"},
                  {"gender", "Male"},
                  {"address", "5 Hidden Lane"},
                  {"date_of_birth", "2001-02-03"},
                  {"major", "Physics"},
                  {"year_of_study", 1},
                  {"gpa", 3.0},
                  {"enrollment_status", "Part-time"}};
  Reply created = api.Call("POST", "/students/", writer, student);
  ASSERT_EQ(created.status, 200) << created.body;
  EXPECT_EQ(created.Json(), Masked(student));
  student["address"] = "6 Hidden Lane";
  Reply replaced = api.Call("PUT", "/students/S2", writer, student);
  ASSERT_EQ(replaced.status, 200) << replaced.body;
  EXPECT_EQ(replaced.Json()["address"], "***");
  EXPECT_EQ(replaced.Json()["date_of_birth"], "***");
  Reply patched = api.Call("PATCH", "/students/S2", writer, json{{"gpa", 3.25}});
  ASSERT_EQ(patched.status, 200);
  EXPECT_EQ(patched.Json()["address"], "***");
  EXPECT_EQ(patched.Json()["gpa"], 3.25);
  // Sending the masked record back would overwrite the real values: refused.
  Reply echoed = api.Call("PUT", "/students/S2", writer, replaced.Json());
  ASSERT_EQ(echoed.status, 422) << echoed.body;
  EXPECT_EQ(echoed.Json()["detail"][0]["loc"], json({"body", "address"}));
  EXPECT_EQ(api.Call("PATCH", "/students/S2", writer, json{{"address", "***"}}).status, 422);
  // What was written is the real value.
  Reply stored = api.Call("GET", "/students/S2", Bearer(*admin_));
  EXPECT_EQ(stored.Json()["address"], "6 Hidden Lane");
  EXPECT_EQ(stored.Json()["date_of_birth"], "2001-02-03");
}

TEST_F(MaskingTest, SortingOrSearchingByAPersonalFieldTellsNothing) {
  HttpClient api = serve_->api();
  for (const char* path :
       {"/students/?sort=address", "/students/?sort=date_of_birth&order=desc",
        "/professors/?sort=address", "/analytics/dimensions/students?sort=date_of_birth",
        "/analytics/dimensions/professors?sort=address"}) {
    EXPECT_EQ(api.Call("GET", path, Bearer(*admin_)).status, 200) << path;
    Reply r = api.Call("GET", path, Bearer(*analyst_));
    EXPECT_EQ(r.status, 403) << path << ": " << r.body;
    EXPECT_NE(r.Json()["detail"].get<std::string>().find("pii"), std::string::npos) << r.body;
  }
  // "Hidden" is only in the address: the admin finds S1 by it, a masked caller finds nothing.
  Reply found = api.Call("GET", "/students/?q=Hidden", Bearer(*admin_));
  ASSERT_EQ(found.status, 200);
  EXPECT_GE(found.Json().size(), 1u);
  Reply hidden = api.Call("GET", "/students/?q=Hidden", Bearer(*analyst_));
  ASSERT_EQ(hidden.status, 200);
  EXPECT_EQ(hidden.Json(), json::array());
  EXPECT_EQ(hidden.Header("X-Total-Count"), "0");
}

}  // namespace
}  // namespace migsbyu::auth::testing
