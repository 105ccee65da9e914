#include "api_fixture.h"

#include <fstream>

#include "auth/testing.h"
#include "oltp/migrations.h"
#include "oltp/pg_query_executor.h"
#include "portal/docs.h"
#include "portal/generate_api.h"
#include "portal/rest_api.h"

namespace migsbyu::testing {

nlohmann::json HttpReply::Json() const { return nlohmann::json::parse(body, nullptr, false); }

std::string HttpReply::Header(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (strcasecmp(k.c_str(), name.c_str()) == 0) return v;
  }
  return "";
}

void ApiTest::SetUp() {
  db_ = std::make_unique<TestDatabase>("api");
  {
    auto conn = pg::Connection::Open(db_->url());
    ASSERT_TRUE(conn.ok()) << conn.error().ToString();
    auto migrated = oltp::ApplyMigrations(*conn);
    ASSERT_TRUE(migrated.ok()) << migrated.error().ToString();
  }
  pool_ = std::make_unique<pg::Pool>(db_->url(), 8);
  executors_ = std::make_unique<oltp::PgQueryExecutorFactory>(db_->url());
  router_ = std::make_unique<portal::Router>();
  router_->SetGate(&gate_);
  router_->SetQueryExecutors(executors_.get());
  simulator_ = std::make_unique<oltp::Simulator>(*pool_);
  portal::RegisterRestApi(*router_, *pool_);
  portal::RegisterGenerateApi(*router_, *pool_, *simulator_);
  portal::RegisterDocs(*router_, "MigsbyU API", "test");
  AddRoutes(*router_);

  web_dir_ = std::filesystem::temp_directory_path() / ("migsbyu-web-" + db_->name());
  std::filesystem::create_directories(web_dir_ / "assets");
  std::ofstream(web_dir_ / "index.html") << "<!doctype html><title>MigsbyU</title>";
  std::ofstream(web_dir_ / "assets" / "index-3f2a1b.js") << "console.log('hi')";

  portal::ServerOptions options;
  options.api_address = "127.0.0.1:0";
  options.web_address = "127.0.0.1:0";
  options.web_dir = web_dir_.string();
  options.threads = 32;
  server_ = std::make_unique<portal::Server>(*router_, options);
  auto started = server_->Start();
  ASSERT_TRUE(started.ok()) << started.error().ToString();
}

void ApiTest::TearDown() {
  if (server_) server_->Stop();
  server_.reset();
  router_.reset();
  executors_.reset();
  simulator_.reset();
  pool_.reset();
  std::error_code ec;
  std::filesystem::remove_all(web_dir_, ec);
  db_.reset();
}

namespace {
HttpReply Send(int port, const std::string& method, const std::string& path,
               const std::string& body) {
  auto r = auth::testing::HttpClient(port).Call(method, path, {}, body);
  return {r.status, std::move(r.body), std::move(r.headers)};
}
}  // namespace

HttpReply ApiTest::Call(const std::string& method, const std::string& path,
                        const std::string& body) {
  return Send(server_->api_port(), method, path, body);
}

HttpReply ApiTest::CallWeb(const std::string& method, const std::string& path,
                           const std::string& body) {
  return Send(server_->web_port(), method, path, body);
}

std::string ApiTest::Sql(const std::string& sql) {
  auto conn = pg::Connection::Open(db_->url());
  EXPECT_TRUE(conn.ok());
  if (!conn.ok()) return "";
  auto r = conn->Exec(sql);
  EXPECT_TRUE(r.ok()) << r.error().ToString();
  if (!r.ok() || r->rows() == 0 || r->IsNull(0, 0)) return "";
  return std::string(r->Get(0, 0));
}

std::string ApiTest::Checksum() {
  std::string out;
  for (const char* table : {"students", "professors", "courses", "takes", "teaches"}) {
    out += table;
    out += ":" +
           Sql(std::string("SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' "
                           "ORDER BY t::text)), '') FROM ") +
               table + " t") +
           " ";
  }
  return out;
}

nlohmann::json ApiTest::StudentBody(const std::string& id) {
  return {{"id", id},
          {"first_name", "Ada"},
          {"last_name", "Lovelace"},
          {"gender", "Female"},
          {"address", "12 St James's Square, London"},
          {"date_of_birth", "2004-12-10"},
          {"major", "Mathematics"},
          {"year_of_study", 2},
          {"gpa", 3.85},
          {"enrollment_status", "Full-time"}};
}

nlohmann::json ApiTest::ProfessorBody(const std::string& id) {
  return {{"id", id},
          {"title", "Dr."},
          {"first_name", "Grace"},
          {"last_name", "Hopper"},
          {"gender", "Female"},
          {"address", "1 Navy Way, Arlington"},
          {"department", "Computer Science"},
          {"date_of_birth", "1966-12-09"},
          {"annual_salary", 125000}};
}

nlohmann::json ApiTest::CourseBody(const std::string& id) {
  return {{"id", id},
          {"name", "Introduction to Programming"},
          {"units", 4},
          {"department", "Computer Science"}};
}

void ApiTest::Seed() {
  ASSERT_EQ(Call("POST", "/students/", StudentBody("S1")).status, 200);
  ASSERT_EQ(Call("POST", "/professors/", ProfessorBody("P1")).status, 200);
  ASSERT_EQ(Call("POST", "/courses/", CourseBody("C1")).status, 200);
  ASSERT_EQ(
      Call("POST", "/enrollments/",
           nlohmann::json{{"student_id", "S1"}, {"course_id", "C1"}, {"semester", "Fall 2024"}})
          .status,
      200);
  ASSERT_EQ(
      Call("POST", "/assignments/",
           nlohmann::json{{"professor_id", "P1"}, {"course_id", "C1"}, {"semester", "Fall 2024"}})
          .status,
      200);
}

}  // namespace migsbyu::testing
