#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "api_fixture.h"
#include "oltp/pg_query_executor.h"
#include "portal/rest_api.h"

namespace migsbyu::testing {
namespace {

using nlohmann::json;

// One entity of the prototype's contract: its path, a valid body maker and its message title.
struct EntityCase {
  std::string path;
  json (*body)(const std::string& id);
  std::string title;
  std::string changed_field;
  json changed_value;
};

class ContractTest : public ApiTest {
 protected:
  std::vector<EntityCase> Cases() {
    return {{"students", &ApiTest::StudentBody, "Student", "gpa", 2.5},
            {"professors", &ApiTest::ProfessorBody, "Professor", "annual_salary", 130000},
            {"courses", &ApiTest::CourseBody, "Course", "units", 3}};
  }

  // Seed(), then course C2 with S1 enrolled in it for `semester`: S1 has two enrollments.
  void SeedWithSecondCourse(const std::string& semester) {
    Seed();
    ASSERT_EQ(Call("POST", "/courses/", CourseBody("C2")).status, 200);
    ASSERT_EQ(Call("POST", "/enrollments/",
                   json{{"student_id", "S1"}, {"course_id", "C2"}, {"semester", semester}})
                  .status,
              200);
  }
};

TEST_F(ContractTest, EntitiesKeepThePrototypesCrudContract) {
  for (const auto& c : Cases()) {
    SCOPED_TRACE(c.path);
    const std::string base = "/" + c.path + "/";
    json body = c.body("X1");
    auto created = Call("POST", base, body);
    ASSERT_EQ(created.status, 200) << created.body;
    EXPECT_EQ(created.Json(), body);
    EXPECT_EQ(created.Header("Content-Type"), "application/json");

    auto dup = Call("POST", base, body);
    EXPECT_EQ(dup.status, 409);
    EXPECT_EQ(dup.Json(), json({{"detail", c.title + " already registered"}}));

    auto got = Call("GET", base + "X1");
    ASSERT_EQ(got.status, 200);
    EXPECT_EQ(got.Json(), body);

    auto list = Call("GET", base + "?skip=0&limit=100");
    ASSERT_EQ(list.status, 200);
    EXPECT_EQ(list.Json(), json::array({body}));
    EXPECT_EQ(list.Header("X-Total-Count"), "1");

    json replaced = body;
    replaced[c.changed_field] = c.changed_value;
    auto put = Call("PUT", base + "X1", replaced);
    ASSERT_EQ(put.status, 200) << put.body;
    EXPECT_EQ(put.Json(), replaced);
    EXPECT_EQ(Call("GET", base + "X1").Json(), replaced);

    auto del = Call("DELETE", base + "X1");
    ASSERT_EQ(del.status, 200);
    EXPECT_EQ(del.Json(), json({{"ok", true}}));

    auto gone = Call("GET", base + "X1");
    EXPECT_EQ(gone.status, 404);
    EXPECT_EQ(gone.Json()["detail"], c.title + " 'X1' not found");
    EXPECT_EQ(Call("PUT", base + "X1", replaced).status, 404);
    EXPECT_EQ(Call("PATCH", base + "X1", json{{c.changed_field, c.changed_value}}).status, 404);
    EXPECT_EQ(Call("DELETE", base + "X1").status, 404);
  }
}

TEST_F(ContractTest, PutMayOmitOrRepeatTheIdButNotChangeIt) {
  ASSERT_EQ(Call("POST", "/courses/", CourseBody("C9")).status, 200);
  json without_id = CourseBody("C9");
  without_id.erase("id");
  without_id["units"] = 1;
  EXPECT_EQ(Call("PUT", "/courses/C9", without_id).Json()["units"], 1);
  auto changed = Call("PUT", "/courses/C9", CourseBody("C10"));
  EXPECT_EQ(changed.status, 422);
  EXPECT_EQ(changed.Json()["detail"][0]["loc"], json({"body", "id"}));
  json partial = without_id;
  partial.erase("name");
  auto missing = Call("PUT", "/courses/C9", partial);
  EXPECT_EQ(missing.status, 422);
  EXPECT_EQ(missing.Json()["detail"][0]["msg"], "field required");
}

TEST_F(ContractTest, PatchChangesOnlyTheGivenFields) {
  ASSERT_EQ(Call("POST", "/students/", StudentBody("S7")).status, 200);
  auto patched = Call("PATCH", "/students/S7", json{{"gpa", 3.999}, {"major", "Physics"}});
  ASSERT_EQ(patched.status, 200) << patched.body;
  json expected = StudentBody("S7");
  expected["gpa"] = 4.0;
  expected["major"] = "Physics";
  EXPECT_EQ(patched.Json(), expected);
  EXPECT_EQ(Call("PATCH", "/students/S7", json::object()).Json(), expected);
  EXPECT_EQ(Call("PATCH", "/students/S7", json{{"enrollment_status", "Sometimes"}}).status, 422);
  EXPECT_EQ(Call("GET", "/students/S7").Json(), expected);
}

TEST_F(ContractTest, GpaIsANumberWithTwoDecimalsAndDatesAreIso) {
  json body = StudentBody("S2");
  body["gpa"] = 3.456;
  auto created = Call("POST", "/students/", body);
  ASSERT_EQ(created.status, 200);
  EXPECT_TRUE(created.Json()["gpa"].is_number());
  EXPECT_DOUBLE_EQ(created.Json()["gpa"].get<double>(), 3.46);
  EXPECT_NE(created.body.find("\"gpa\":3.46"), std::string::npos) << created.body;
  EXPECT_EQ(created.Json()["date_of_birth"], "2004-12-10");
  EXPECT_EQ(Sql("SELECT gpa::text FROM students WHERE id = 'S2'"), "3.46");
}

TEST_F(ContractTest, UnicodeRoundTrips) {
  json body = StudentBody("Ü-1");
  body["first_name"] = "Zoë 李";
  body["address"] = "Straße 5, 東京 🏫";
  ASSERT_EQ(Call("POST", "/students/", body).status, 200);
  auto got = Call("GET", "/students/%C3%9C-1");
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.Json(), body);
}

TEST_F(ContractTest, RelationsKeepThePrototypesContract) {
  Seed();
  struct RelationCase {
    std::string path, owner_column, owner_id;
  };
  for (const auto& r : std::vector<RelationCase>{{"enrollments", "student_id", "S1"},
                                                 {"assignments", "professor_id", "P1"}}) {
    SCOPED_TRACE(r.path);
    const std::string base = "/" + r.path + "/";
    json row = {{r.owner_column, r.owner_id}, {"course_id", "C1"}, {"semester", "Spring 2025"}};
    auto created = Call("POST", base, row);
    ASSERT_EQ(created.status, 200) << created.body;
    EXPECT_EQ(created.Json(), row);
    auto dup = Call("POST", base, row);
    EXPECT_EQ(dup.status, 409);
    auto list = Call("GET", base);
    ASSERT_EQ(list.status, 200);
    EXPECT_EQ(list.Json().size(), 2u);
    EXPECT_EQ(list.Header("X-Total-Count"), "2");
    auto by_owner = Call("GET", base + r.owner_id);
    ASSERT_EQ(by_owner.status, 200);
    EXPECT_EQ(by_owner.Json().size(), 2u);
    EXPECT_EQ(Call("GET", base + "NOBODY").status, 404);

    auto del = Call("DELETE", base, row);
    ASSERT_EQ(del.status, 200) << del.body;
    EXPECT_EQ(del.Json(), json({{"ok", true}}));
    EXPECT_EQ(Call("DELETE", base, row).status, 404);
    EXPECT_EQ(Call("GET", base).Json().size(), 1u);

    json dangling = row;
    dangling["course_id"] = "NOPE";
    auto missing = Call("POST", base, dangling);
    EXPECT_EQ(missing.status, 422) << missing.body;
    EXPECT_EQ(missing.Json()["detail"][0]["loc"], json({"body", "course_id"}));
    EXPECT_EQ(missing.Json()["detail"][0]["msg"], "course 'NOPE' does not exist");
  }
}

TEST_F(ContractTest, NestedListingsFollowTheReferences) {
  SeedWithSecondCourse("Summer 2025");
  auto s = Call("GET", "/students/S1/enrollments");
  ASSERT_EQ(s.status, 200);
  EXPECT_EQ(s.Json().size(), 2u);
  EXPECT_EQ(s.Header("X-Total-Count"), "2");
  EXPECT_EQ(Call("GET", "/courses/C2/enrollments").Json().size(), 1u);
  EXPECT_EQ(Call("GET", "/courses/C2/assignments").Json(), json::array());
  EXPECT_EQ(Call("GET", "/courses/C1/assignments").Json().size(), 1u);
  EXPECT_EQ(Call("GET", "/professors/P1/assignments").Json().size(), 1u);
  auto unknown = Call("GET", "/students/NOBODY/enrollments");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.Json()["detail"], "Student 'NOBODY' not found");
  EXPECT_EQ(Call("GET", "/professors/NOBODY/assignments").status, 404);
}

TEST_F(ContractTest, RelationListingsExpandNamesOnlyWhenAsked) {
  Seed();
  json course = CourseBody("C2");
  course["name"] = "Analytical Engines";
  ASSERT_EQ(Call("POST", "/courses/", course).status, 200);
  ASSERT_EQ(Call("POST", "/enrollments/",
                 json{{"student_id", "S1"}, {"course_id", "C2"}, {"semester", "Spring 2025"}})
                .status,
            200);
  const std::string course_name = CourseBody("C1")["name"];
  const std::string professor_name = std::string(ProfessorBody("P1")["first_name"]) + " " +
                                     std::string(ProfessorBody("P1")["last_name"]);

  // Without the parameter the rows are the prototype's, key columns only.
  EXPECT_EQ(Call("GET", "/enrollments/").Json(),
            json::parse(R"([{"student_id": "S1", "course_id": "C1", "semester": "Fall 2024"},
                            {"student_id": "S1", "course_id": "C2", "semester": "Spring 2025"}])"));

  auto named = Call("GET", "/enrollments/?expand=names&sort=course_id&order=desc");
  ASSERT_EQ(named.status, 200) << named.body;
  EXPECT_EQ(named.Header("X-Total-Count"), "2");
  EXPECT_EQ(named.Json(), json::parse(R"([
      {"student_id": "S1", "course_id": "C2", "semester": "Spring 2025",
       "student_name": "Ada Lovelace", "course_name": "Analytical Engines"},
      {"student_id": "S1", "course_id": "C1", "semester": "Fall 2024",
       "student_name": "Ada Lovelace", "course_name": ")" +
                                      course_name + R"("}])"));

  auto taught = Call("GET", "/assignments/?expand=names");
  ASSERT_EQ(taught.status, 200) << taught.body;
  ASSERT_EQ(taught.Json().size(), 1u);
  EXPECT_EQ(taught.Json()[0]["professor_name"], professor_name);
  EXPECT_EQ(taught.Json()[0]["course_name"], course_name);

  // The per-record listings take it too, with their filter and search.
  auto mine = Call("GET", "/students/S1/enrollments?expand=names&q=C2");
  ASSERT_EQ(mine.status, 200) << mine.body;
  ASSERT_EQ(mine.Json().size(), 1u);
  EXPECT_EQ(mine.Json()[0]["course_name"], "Analytical Engines");
  EXPECT_EQ(Call("GET", "/assignments/P1?expand=names").Json()[0]["professor_name"],
            professor_name);
  EXPECT_EQ(Call("GET", "/courses/C2/enrollments?expand=names").Json()[0]["student_name"],
            "Ada Lovelace");

  auto bad = Call("GET", "/enrollments/?expand=everything");
  EXPECT_EQ(bad.status, 422) << bad.body;
  EXPECT_EQ(bad.Json()["detail"][0]["loc"], json({"query", "expand"}));
  // Entities have nothing to expand and ignore it, as any parameter they do not know.
  EXPECT_EQ(Call("GET", "/students/?expand=names").Json()[0].size(), 10u);
}

TEST_F(ContractTest, ExpandedNamesOfAMissingRecordAreNull) {
  Seed();
  // The foreign keys forbid it, so only a row written around them can refer to nothing; the
  // listing must still answer.
  Sql("ALTER TABLE takes DROP CONSTRAINT takes_student_id_fkey");
  Sql("INSERT INTO takes (student_id, course_id, semester) VALUES ('GONE', 'C1', 'Fall 2024')");
  auto named = Call("GET", "/enrollments/?expand=names");
  ASSERT_EQ(named.status, 200) << named.body;
  ASSERT_EQ(named.Json().size(), 2u);
  EXPECT_EQ(named.Json()[0]["student_id"], "GONE");
  EXPECT_TRUE(named.Json()[0]["student_name"].is_null());
  EXPECT_EQ(named.Json()[0]["course_name"], CourseBody("C1")["name"]);
  EXPECT_EQ(named.Json()[1]["student_name"], "Ada Lovelace");
}

TEST_F(ContractTest, ListingsPageSortAndSearch) {
  for (int i = 0; i < 12; ++i) {
    json body = StudentBody("S" + std::string(i < 10 ? "0" : "") + std::to_string(i));
    body["gpa"] = i / 4.0;
    body["last_name"] = i % 3 == 0 ? "Smith_%" : "Jones";
    ASSERT_EQ(Call("POST", "/students/", body).status, 200);
  }
  auto page = Call("GET", "/students/?skip=2&limit=3");
  ASSERT_EQ(page.status, 200);
  ASSERT_EQ(page.Json().size(), 3u);
  EXPECT_EQ(page.Json()[0]["id"], "S02");
  EXPECT_EQ(page.Header("X-Total-Count"), "12");
  auto sorted = Call("GET", "/students/?sort=gpa&order=desc&limit=2");
  ASSERT_EQ(sorted.status, 200);
  EXPECT_EQ(sorted.Json()[0]["id"], "S11");
  EXPECT_EQ(sorted.Json()[1]["id"], "S10");
  auto search = Call("GET", "/students/?q=smith_%25");
  ASSERT_EQ(search.status, 200);
  EXPECT_EQ(search.Json().size(), 4u);
  EXPECT_EQ(search.Header("X-Total-Count"), "4");
  // The wildcard characters are matched literally.
  EXPECT_EQ(Call("GET", "/students/?q=J_nes").Json().size(), 0u);
  EXPECT_EQ(Call("GET", "/students/?q=%25").Json().size(), 4u);
  auto beyond = Call("GET", "/students/?skip=100");
  EXPECT_EQ(beyond.Json(), json::array());
  EXPECT_EQ(beyond.Header("X-Total-Count"), "12");
  EXPECT_EQ(Call("GET", "/students/?limit=0").Json(), json::array());
}

TEST_F(ContractTest, BadListingParametersAre422NamingTheParameter) {
  for (const char* query : {"skip=-1", "limit=abc", "limit=1001", "sort=password", "order=up",
                            "sort=id%3BDROP%20TABLE%20students", "skip=99999999999999999999"}) {
    auto r = Call("GET", std::string("/students/?") + query);
    EXPECT_EQ(r.status, 422) << query << ": " << r.body;
    EXPECT_EQ(r.Json()["detail"][0]["loc"][0], "query") << query;
  }
}

TEST_F(ContractTest, DeletingAReferencedRowIs409UnlessCascading) {
  SeedWithSecondCourse("Fall 2025");
  auto student = Call("DELETE", "/students/S1");
  EXPECT_EQ(student.status, 409);
  EXPECT_TRUE(
      student.Json()["detail"].get<std::string>().starts_with("student 'S1' has 2 enrollments"))
      << student.body;
  auto course = Call("DELETE", "/courses/C1");
  EXPECT_EQ(course.status, 409);
  EXPECT_TRUE(course.Json()["detail"].get<std::string>().starts_with(
      "course 'C1' has 1 enrollment and 1 assignment"))
      << course.body;
  EXPECT_EQ(Call("DELETE", "/professors/P1").status, 409);
  EXPECT_EQ(Call("DELETE", "/students/S1?cascade=maybe").status, 422);
  EXPECT_EQ(Sql("SELECT count(*) FROM takes"), "2");

  auto cascaded = Call("DELETE", "/courses/C1?cascade=true");
  ASSERT_EQ(cascaded.status, 200) << cascaded.body;
  EXPECT_EQ(Sql("SELECT count(*) FROM courses WHERE id = 'C1'"), "0");
  EXPECT_EQ(Sql("SELECT count(*) FROM takes WHERE course_id = 'C1'"), "0");
  EXPECT_EQ(Sql("SELECT count(*) FROM teaches"), "0");
  EXPECT_EQ(Sql("SELECT count(*) FROM takes"), "1");
  ASSERT_EQ(Call("DELETE", "/students/S1?cascade=true").status, 200);
  EXPECT_EQ(Sql("SELECT count(*) FROM takes"), "0");
  EXPECT_EQ(Call("DELETE", "/professors/P1").status, 200);
}

// Every validation rule of every entity, through HTTP: 422 naming the field, nothing written.
TEST_F(ContractTest, EveryValidationRuleIs422NamingTheField) {
  Seed();
  struct Rule {
    std::string path;
    json body;
    std::string field;
  };
  auto with = [](json body, const std::string& field, json value) {
    body[field] = std::move(value);
    return body;
  };
  auto without = [](json body, const std::string& field) {
    body.erase(field);
    return body;
  };
  json enrollment = {{"student_id", "S1"}, {"course_id", "C1"}, {"semester", "Fall 2030"}};
  json assignment = {{"professor_id", "P1"}, {"course_id", "C1"}, {"semester", "Fall 2030"}};
  std::vector<Rule> rules;
  for (const auto& [path, make] : std::vector<std::pair<std::string, json (*)(const std::string&)>>{
           {"/students/", &ApiTest::StudentBody},
           {"/professors/", &ApiTest::ProfessorBody},
           {"/courses/", &ApiTest::CourseBody}}) {
    json body = make("NEW");
    for (const auto& [field, value] : body.items()) {
      rules.push_back({path, without(body, field), field});
      rules.push_back({path, with(body, field, nullptr), field});
      rules.push_back({path, with(body, field, value.is_string() ? json(12) : json("12")), field});
      if (value.is_string() && field != "date_of_birth") {
        rules.push_back({path, with(body, field, ""), field});
        rules.push_back({path, with(body, field, std::string(501, 'x')), field});
      }
    }
  }
  json student = StudentBody("NEW");
  rules.push_back({"/students/", with(student, "gpa", 4.01), "gpa"});
  rules.push_back({"/students/", with(student, "gpa", -0.01), "gpa"});
  rules.push_back({"/students/", with(student, "year_of_study", 0), "year_of_study"});
  rules.push_back({"/students/", with(student, "year_of_study", 1.5), "year_of_study"});
  rules.push_back(
      {"/students/", with(student, "enrollment_status", "Full time"), "enrollment_status"});
  rules.push_back({"/students/", with(student, "date_of_birth", "2004-13-01"), "date_of_birth"});
  rules.push_back({"/students/", with(student, "date_of_birth", "2023-02-29"), "date_of_birth"});
  rules.push_back({"/students/", with(student, "unknown", 1), "unknown"});
  rules.push_back(
      {"/professors/", with(ProfessorBody("NEW"), "annual_salary", -1), "annual_salary"});
  rules.push_back(
      {"/professors/", with(ProfessorBody("NEW"), "annual_salary", 3000000000LL), "annual_salary"});
  rules.push_back({"/courses/", with(CourseBody("NEW"), "units", 0), "units"});
  rules.push_back({"/courses/", with(CourseBody("NEW"), "units", 5), "units"});
  for (const auto& [path, row] : std::vector<std::pair<std::string, json>>{
           {"/enrollments/", enrollment}, {"/assignments/", assignment}}) {
    for (const auto& [field, value] : row.items()) {
      rules.push_back({path, without(row, field), field});
      rules.push_back({path, with(row, field, 7), field});
    }
    rules.push_back({path, with(row, "semester", "Winter 2030"), "semester"});
    rules.push_back({path, with(row, "semester", "Fall 30"), "semester"});
    rules.push_back({path, with(row, "extra", true), "extra"});
  }
  const std::string before = Checksum();
  for (const auto& rule : rules) {
    auto r = Call("POST", rule.path, rule.body);
    ASSERT_EQ(r.status, 422) << rule.path << " " << rule.body.dump() << ": " << r.body;
    ASSERT_EQ(r.Json()["detail"].size(), 1u) << r.body;
    EXPECT_EQ(r.Json()["detail"][0]["loc"], json({"body", rule.field})) << r.body;
  }
  EXPECT_EQ(Checksum(), before);
  EXPECT_GT(rules.size(), 100u);
}

TEST_F(ApiTest, HealthReportsTheDatabase) {
  auto ok = Call("GET", "/health");
  ASSERT_EQ(ok.status, 200);
  EXPECT_EQ(ok.Json(), json({{"status", "ok"}, {"database", "ok"}}));
  EXPECT_EQ(CallWeb("GET", "/api/health").status, 200);
}

TEST(HealthTest, Is503WhenTheDatabaseIsUnreachable) {
  // A pool aimed at a port nothing listens on (port 1 is never a PostgreSQL server here).
  const std::string nowhere = "postgresql://migsbyu@127.0.0.1:1/none?connect_timeout=2";
  pg::Pool pool(nowhere, 2);
  oltp::PgQueryExecutorFactory executors(nowhere);
  portal::Router router;
  router.SetQueryExecutors(&executors);
  portal::RegisterRestApi(router, pool);
  portal::ServerOptions options;
  options.api_address = "127.0.0.1:0";
  options.web_address = "";
  portal::Server server(router, options);
  ASSERT_TRUE(server.Start().ok());
  httplib::Client client("127.0.0.1", server.api_port());
  auto health = client.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 503);
  auto students = client.Get("/students/");
  ASSERT_TRUE(students);
  EXPECT_EQ(students->status, 503);
  EXPECT_TRUE(json::parse(students->body).contains("detail"));
  // The routes run on the event loops' asynchronous connections answer the same way.
  auto one = client.Get("/students/S1");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->status, 503);
  EXPECT_TRUE(json::parse(one->body).contains("detail")) << one->body;
  auto created = client.Post("/students/", ApiTest::StudentBody("S1").dump(), "application/json");
  ASSERT_TRUE(created);
  EXPECT_EQ(created->status, 503);
  EXPECT_TRUE(json::parse(created->body).contains("detail")) << created->body;
}

TEST_F(ApiTest, OpenApiListsEveryRegisteredRoute) {
  auto doc = Call("GET", "/openapi.json");
  ASSERT_EQ(doc.status, 200);
  json spec = doc.Json();
  EXPECT_EQ(spec["openapi"], "3.0.3");
  size_t operations = 0;
  for (const auto& route : router_->routes()) {
    std::string method = route.method;
    for (auto& ch : method) ch = static_cast<char>(std::tolower(ch));
    EXPECT_TRUE(spec["paths"][route.pattern].contains(method))
        << route.method << " " << route.pattern;
    ++operations;
  }
  size_t documented = 0;
  for (const auto& [path, methods] : spec["paths"].items()) documented += methods.size();
  EXPECT_EQ(documented, operations);
  // Every prototype path is there, with its trailing slash.
  for (const char* p :
       {"/students/", "/students/{id}", "/professors/", "/professors/{id}", "/courses/",
        "/courses/{id}", "/enrollments/", "/enrollments/{student_id}", "/assignments/",
        "/assignments/{professor_id}", "/health", "/students/{id}/enrollments",
        "/courses/{id}/enrollments", "/professors/{id}/assignments", "/courses/{id}/assignments"}) {
    EXPECT_TRUE(spec["paths"].contains(p)) << p;
  }
  EXPECT_EQ(spec["components"]["schemas"]["Student"]["required"].size(), 10u);
  EXPECT_EQ(spec["components"]["schemas"]["Student"]["additionalProperties"], false);
  EXPECT_TRUE(
      spec["components"]["schemas"]["EnrollmentWithNames"]["properties"].contains("student_name"));
  bool documents_expand = false;
  for (const auto& p : spec["paths"]["/students/{id}/enrollments"]["get"]["parameters"]) {
    documents_expand = documents_expand || p["name"] == "expand";
  }
  EXPECT_TRUE(documents_expand);
  EXPECT_TRUE(spec["paths"]["/students/{id}"].contains("patch"));
}

TEST_F(ApiTest, DocsPageIsServedLocallyAndRootRedirectsToIt) {
  auto docs = Call("GET", "/docs");
  ASSERT_EQ(docs.status, 200);
  EXPECT_NE(docs.Header("Content-Type").find("text/html"), std::string::npos);
  EXPECT_NE(docs.body.find("openapi.json"), std::string::npos);
  EXPECT_EQ(docs.body.find("https://"), std::string::npos) << "the page must not need a CDN";
  // Its Content-Security-Policy forbids inline script and style: both are files beside it.
  EXPECT_EQ(docs.body.find("<script>"), std::string::npos);
  EXPECT_EQ(docs.body.find("<style"), std::string::npos);
  EXPECT_EQ(docs.body.find(" style="), std::string::npos);
  EXPECT_NE(docs.Header("Content-Security-Policy").find("script-src 'self'"), std::string::npos);
  for (const char* asset : {"docs.js", "docs.css"}) {
    EXPECT_NE(docs.body.find(std::string("\"") + asset + "\""), std::string::npos) << asset;
    auto file = Call("GET", std::string("/") + asset);
    EXPECT_EQ(file.status, 200) << asset;
    EXPECT_FALSE(file.body.empty()) << asset;
    EXPECT_EQ(CallWeb("GET", std::string("/api/") + asset).body, file.body) << asset;
  }
  EXPECT_NE(Call("GET", "/docs.js").body.find("fetch(\"openapi.json\")"), std::string::npos);
  auto root = Call("GET", "/");
  EXPECT_EQ(root.status, 307);
  EXPECT_EQ(root.Header("Location"), "/docs");
  auto web_root = CallWeb("GET", "/api/");
  EXPECT_EQ(web_root.status, 307);
  EXPECT_EQ(web_root.Header("Location"), "/api/docs");
  EXPECT_EQ(CallWeb("GET", "/api/openapi.json").status, 200);
}

TEST_F(ApiTest, UnknownPathsAndMethodsAnswerJsonAndSlashesRedirect) {
  auto missing = Call("GET", "/nothing/here");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.Json(), json({{"detail", "Not Found"}}));
  auto method = Call("PATCH", "/students/");
  EXPECT_EQ(method.status, 405);
  EXPECT_EQ(method.Json(), json({{"detail", "Method Not Allowed"}}));
  auto redirect = Call("GET", "/students?limit=5");
  EXPECT_EQ(redirect.status, 307);
  EXPECT_EQ(redirect.Header("Location"), "/students/?limit=5");
  EXPECT_EQ(CallWeb("GET", "/api/courses").Header("Location"), "/api/courses/");
  EXPECT_EQ(Call("GET", "/students/S1/").status, 307);
  auto long_uri = Call("GET", "/students/" + std::string(20000, 'x'));
  EXPECT_EQ(long_uri.status, 414);
  EXPECT_TRUE(long_uri.Json().contains("detail")) << long_uri.body;
}

TEST_F(ApiTest, WebAddressServesTheApiUnderApiAndTheFrontEnd) {
  ASSERT_EQ(CallWeb("POST", "/api/students/", StudentBody("W1").dump()).status, 200);
  auto list = CallWeb("GET", "/api/students/");
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.Json().size(), 1u);
  auto index = CallWeb("GET", "/");
  ASSERT_EQ(index.status, 200);
  EXPECT_NE(index.body.find("<title>MigsbyU</title>"), std::string::npos);
  EXPECT_EQ(index.Header("Cache-Control"), "no-cache");
  auto client_route = CallWeb("GET", "/operational/students");
  ASSERT_EQ(client_route.status, 200);
  EXPECT_EQ(client_route.body, index.body);
  EXPECT_NE(client_route.Header("Content-Type").find("text/html"), std::string::npos);
  auto asset = CallWeb("GET", "/assets/index-3f2a1b.js");
  ASSERT_EQ(asset.status, 200);
  EXPECT_EQ(asset.Header("Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_NE(asset.Header("Content-Type").find("javascript"), std::string::npos);
  EXPECT_EQ(CallWeb("GET", "/assets/missing-000.js").status, 404);
  auto traversal = CallWeb("GET", "/assets/../../../../etc/passwd");
  EXPECT_NE(traversal.body.find("root:"), 0u);
  EXPECT_EQ(traversal.body.find("root:x:"), std::string::npos);
  EXPECT_EQ(CallWeb("GET", "/students/").body, index.body) << "API paths live under /api only";
}

TEST_F(ApiTest, OversizedBodyIs413Json) {
  json body = StudentBody("BIG");
  body["address"] = std::string(2 << 20, 'a');
  const std::string before = Checksum();
  auto r = Call("POST", "/students/", body);
  EXPECT_EQ(r.status, 413);
  EXPECT_TRUE(r.Json().contains("detail")) << r.body;
  EXPECT_EQ(Checksum(), before);
}

TEST_F(ApiTest, ManyConcurrentClientsAreAllServed) {
  constexpr int kClients = 24;
  constexpr int kPerClient = 20;
  std::atomic<int> failures{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      httplib::Client client("127.0.0.1", server_->api_port());
      client.set_keep_alive(true);
      for (int i = 0; i < kPerClient; ++i) {
        std::string id = "C" + std::to_string(c) + "-" + std::to_string(i);
        auto post = client.Post("/students/", StudentBody(id).dump(), "application/json");
        if (!post || post->status != 200) {
          ++failures;
          ADD_FAILURE() << "POST " << id << ": "
                        << (post ? std::to_string(post->status) + " " + post->body
                                 : httplib::to_string(post.error()));
        }
        auto get = client.Get("/students/" + id);
        if (!get || get->status != 200 || json::parse(get->body)["id"] != id) ++failures;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Sql("SELECT count(*) FROM students"), std::to_string(kClients * kPerClient));
}

// A server whose extra routes let the tests hold a request in flight and stream events.
class ServerBehaviourTest : public ApiTest {
 protected:
  void AddRoutes(portal::Router& router) override {
    portal::RouteDoc doc;
    doc.permission = portal::Permission::kRead;  // a route the gate refuses has none
    router.Add(
        "GET", "/test/held",
        [this](const portal::Request&) {
          {
            std::unique_lock lock(mu_);
            entered_ = true;
            cv_.notify_all();
            cv_.wait(lock, [&] { return released_; });
          }
          return portal::Response::Json({{"finished", true}});
        },
        doc);
    router.AddEventStream(
        "/test/events",
        [](portal::EventPublisher& events) {
          events.PublishRetained("hello", "{\"i\":0}");
          for (int i = 1; events.WaitFor(std::chrono::milliseconds(10)); ++i) {
            events.Publish("tick", "{\"i\":" + std::to_string(i) + "}\nsecond line");
          }
        },
        doc);
  }
  std::mutex mu_;
  std::condition_variable cv_;
  bool entered_ = false;
  bool released_ = false;
};

TEST_F(ServerBehaviourTest, StopFinishesRequestsInFlight) {
  auto reply = std::async(std::launch::async, [&] { return Call("GET", "/test/held"); });
  {
    std::unique_lock lock(mu_);
    ASSERT_TRUE(cv_.wait_for(lock, std::chrono::seconds(30), [&] { return entered_; }));
  }
  auto stopped = std::async(std::launch::async, [&] { server_->Stop(); });
  // The listener closes while the request is held: new connections are refused.
  for (int i = 0; i < 1000; ++i) {
    httplib::Client probe("127.0.0.1", server_->api_port());
    probe.set_connection_timeout(1, 0);
    if (!probe.Get("/health")) break;
    std::this_thread::yield();
  }
  {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  auto r = reply.get();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Json(), json({{"finished", true}}));
  stopped.get();
}

TEST_F(ServerBehaviourTest, EventStreamsAreChunkedServerSentEvents) {
  for (int port : {server_->api_port(), server_->web_port()}) {
    const std::string path = port == server_->api_port() ? "/test/events" : "/api/test/events";
    httplib::Client client("127.0.0.1", port);
    client.set_read_timeout(30, 0);
    httplib::Headers headers;
    std::string received;
    client.Get(
        path,
        [&](const httplib::Response& r) {
          headers = r.headers;
          return r.status == 200;
        },
        [&](const char* data, size_t length) {
          received.append(data, length);
          return received.find("event: tick\n") == std::string::npos;  // one tick is enough
        });
    SCOPED_TRACE(path);
    auto header = [&](const char* name) {
      auto it = headers.find(name);
      return it == headers.end() ? std::string() : it->second;
    };
    EXPECT_EQ(header("Content-Type"), "text/event-stream");
    EXPECT_EQ(header("Transfer-Encoding"), "chunked");
    // The retained event first, then what is published, each line of the data its own field.
    EXPECT_TRUE(received.starts_with("event: hello\ndata: {\"i\":0}\n\n")) << received;
    auto tick = received.find("event: tick\ndata: {\"i\":");
    ASSERT_NE(tick, std::string::npos) << received;
    EXPECT_NE(received.find("}\ndata: second line\n\n", tick), std::string::npos) << received;
  }
}

}  // namespace
}  // namespace migsbyu::testing
