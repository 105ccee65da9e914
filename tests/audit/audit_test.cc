// Who changed what, end to end on the real server: the REST API and the simulator behind a Gate
// that signs requests in as fixed users (the registrar "registrar1", the admin "auditor"), and
// psql-like SQL straight on the database, all captured by the connector into the lake; then the
// change log, the dimension, the history API and the Audit API (JSON and CSV) must say who made
// each change, and a rolled-back write must leave its actor on nothing.
#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "analytics/lake_access.h"
#include "analytics/service.h"
#include "cdc/connector.h"
#include "lake/lake.h"
#include "lake/lake_sink.h"
#include "oltp/migrations.h"
#include "oltp/pg_query_executor.h"
#include "oltp/simulator.h"
#include "pg/pool.h"
#include "portal/analytics_api/analytics_routes.h"
#include "portal/generate_api.h"
#include "portal/rest_api.h"
#include "portal/server.h"
#include "support/test_database.h"

namespace migsbyu {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;

// Admits a request as the user its X-Test-User header names (registrar1, a registrar; auditor,
// an admin; neither has the pii grant), with the roles' permissions; 401 without one.
class TestGate : public portal::Gate {
 public:
  Admission Admit(const portal::Request& request, portal::Permission permission) const override {
    if (permission == portal::Permission::kPublic) return {};
    auto header = request.headers.find("x-test-user");
    if (header == request.headers.end() ||
        (header->second != "registrar1" && header->second != "auditor")) {
      return {std::nullopt, portal::Response::FromError(Error::Unauthenticated("sign in"))};
    }
    portal::Principal who{
        header->second,
        header->second == "auditor" ? portal::Role::kAdmin : portal::Role::kRegistrar,
        /*pii=*/false};
    if (!portal::RoleHolds(who.role, permission)) {
      return {std::nullopt, portal::Response::FromError(Error::PermissionDenied("not allowed"))};
    }
    return {who, std::nullopt};
  }
};

// The routes of `from` on `to`, each with its declared permission or, for one that declares none
// yet, the table: reads for GET, writes otherwise.
void CopyRoutes(const portal::Router& from, portal::Router& to) {
  for (const auto& route : from.routes()) {
    portal::RouteDoc doc = route.doc;
    if (!doc.permission) {
      doc.permission =
          route.method == "GET" ? portal::Permission::kRead : portal::Permission::kWrite;
    }
    if (route.handler) to.Add(route.method, route.pattern, route.handler, doc);
    if (route.query) to.AddQuery(route.method, route.pattern, route.query, doc);
    if (route.stream) to.AddEventStream(route.pattern, route.stream, doc);
  }
  to.SetQueryExecutors(from.query_executors());
}

class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    {
      auto conn = pg::Connection::Open(db_.url());
      ASSERT_TRUE(conn.ok()) << conn.error().ToString();
      ASSERT_TRUE(oltp::ApplyMigrations(*conn).ok());
    }
    lake_dir_ = (fs::temp_directory_path() / ("audit_lake_" + db_.name())).string();
    fs::remove_all(lake_dir_);
    auto lake = lake::Lake::Open(lake_dir_, 1);
    ASSERT_TRUE(lake.ok()) << lake.error().ToString();
    lake_ = *lake;
    lake::LakeSinkOptions sink_options;
    sink_options.writer.dir = lake_dir_;
    sink_options.commit_interval = 20ms;
    auto sink = lake::LakeSink::Open(sink_options, lake_);
    ASSERT_TRUE(sink.ok()) << sink.error().ToString();
    sink_ = std::move(*sink);
    cdc::ConnectorOptions capture;
    capture.database_url = db_.url();
    capture.slot_name = db_.name();
    capture.status_interval = 50ms;
    connector_ = std::make_unique<cdc::Connector>(capture, sink_.get());
    capture_ = std::jthread([this](std::stop_token stop) { (void)connector_->Run(stop); });
    // Every change below is then streamed, none copied by the (empty) snapshot.
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (connector_->GetMetrics().state != cdc::ConnectorState::kStreaming) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "capture did not start streaming";
      std::this_thread::sleep_for(10ms);
    }

    pool_ = std::make_unique<pg::Pool>(db_.url(), 4);
    simulator_ = std::make_unique<oltp::Simulator>(*pool_);
    access_ = analytics::AccessLake(lake_);
    service_ = std::make_unique<analytics::Service>(*access_, nullptr);
    executors_ = std::make_unique<oltp::PgQueryExecutorFactory>(db_.url());
    portal::Router routes;
    routes.SetQueryExecutors(executors_.get());
    portal::RegisterRestApi(routes, *pool_);
    portal::RegisterGenerateApi(routes, *pool_, *simulator_);
    portal::RegisterAnalyticsRoutes(routes, *service_, nullptr);
    CopyRoutes(routes, router_);
    router_.SetGate(&gate_);
    server_ = std::make_unique<portal::Server>(
        router_,
        portal::ServerOptions{.api_address = "127.0.0.1:0", .web_address = "", .threads = 4});
    auto started = server_->Start();
    ASSERT_TRUE(started.ok()) << started.error().ToString();
  }

  void TearDown() override {
    if (server_) server_->Stop();
    if (simulator_) simulator_->Stop();
    capture_.request_stop();
    if (capture_.joinable()) capture_.join();
    server_.reset();
    sink_.reset();
    fs::remove_all(lake_dir_);
  }

  httplib::Result Call(const std::string& method, const std::string& path, const std::string& user,
                       const json& body = nullptr) {
    httplib::Client client("127.0.0.1", server_->api_port());
    client.set_read_timeout(30, 0);
    httplib::Headers headers;
    if (!user.empty()) headers.emplace("X-Test-User", user);
    const std::string text = body.is_null() ? "" : body.dump();
    if (method == "GET") return client.Get(path, headers);
    if (method == "POST") return client.Post(path, headers, text, "application/json");
    if (method == "PATCH") return client.Patch(path, headers, text, "application/json");
    return client.Delete(path, headers, text, "application/json");
  }
  json Body(const httplib::Result& r) { return json::parse(r->body, nullptr, false); }

  // Runs SQL straight on the database, as psql would.
  void Psql(const std::string& sql) {
    auto conn = pg::Connection::Open(db_.url());
    ASSERT_TRUE(conn.ok()) << conn.error().ToString();
    auto r = conn->Exec(sql);
    ASSERT_TRUE(r.ok()) << sql << ": " << r.error().ToString();
  }

  // Commits a marker with psql and waits until the lake holds it, so that it holds every change
  // committed before.
  void WaitForTheLake() {
    static int markers = 0;
    const std::string id = "MARK" + std::to_string(++markers);
    Psql("INSERT INTO courses VALUES ('" + id + "', 'Marker', 1, 'None')");
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (Lines("SELECT 1 FROM courses_changes WHERE after_id = '" + id + "'").size() == 1) return;
      lake_->WaitForCommit(lake_->Position().version, 100ms);
    }
    FAIL() << "the lake did not catch up with " << id;
  }

  // The rows of `sql` over the lake: columns joined by '|', NULL as "NULL".
  std::vector<std::string> Lines(const std::string& sql) {
    auto conn = lake_->Connect();
    EXPECT_TRUE(conn.ok()) << conn.error().ToString();
    if (!conn.ok()) return {};
    auto rows = conn->connection.Query(sql);
    EXPECT_TRUE(rows.ok()) << sql << ": " << rows.error().ToString();
    std::vector<std::string> out;
    for (uint64_t r = 0; rows.ok() && r < rows->RowCount(); ++r) {
      std::string line;
      for (uint64_t c = 0; c < rows->ColumnCount(); ++c) {
        line += (c ? "|" : "") + (rows->IsNull(c, r) ? std::string("NULL") : rows->GetString(c, r));
      }
      out.push_back(line);
    }
    return out;
  }

  static json Student(const std::string& id) {
    return {{"id", id},
            {"first_name", "Ada"},
            {"last_name", "Lovelace"},
            {"gender", "Female"},
            {"address", "12 Secret Lane"},
            {"date_of_birth", "2004-05-06"},
            {"major", "Mathematics"},
            {"year_of_study", 2},
            {"gpa", 3.1},
            {"enrollment_status", "Full-time"}};
  }

  testing::TestDatabase db_{"audit"};
  std::string lake_dir_;
  std::shared_ptr<lake::Lake> lake_;
  std::unique_ptr<lake::LakeSink> sink_;
  std::unique_ptr<cdc::Connector> connector_;
  std::jthread capture_;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<oltp::PgQueryExecutorFactory> executors_;
  std::unique_ptr<oltp::Simulator> simulator_;
  std::unique_ptr<analytics::LakeAccess> access_;
  std::unique_ptr<analytics::Service> service_;
  TestGate gate_;
  portal::Router router_;
  std::unique_ptr<portal::Server> server_;
};

TEST_F(AuditTest, EveryChangeSaysWhoMadeItFromTheChangeLogToTheAuditApi) {
  // The simulator, started by registrar1: its events are the simulator's, not registrar1's. It
  // runs first and alone, so that the rows below are only the portal's and psql's (its ids are
  // ten hexadecimal digits: never S1 or C1).
  auto started = Call("POST", "/simulation/start", "registrar1",
                      {{"rate", 200}, {"duration_s", 60}, {"max_events", 30}, {"seed", 7}});
  ASSERT_EQ(started->status, 200) << started->body;
  ASSERT_TRUE(simulator_->WaitUntilStopped(60s));
  ASSERT_EQ(simulator_->GetStatus().events, 30) << simulator_->GetStatus().last_error;
  // registrar1 through the portal: a create (one statement on the event loop) and an update.
  auto created = Call("POST", "/students/", "registrar1", Student("S1"));
  ASSERT_EQ(created->status, 200) << created->body;
  auto patched = Call("PATCH", "/students/S1", "registrar1", {{"gpa", 3.5}});
  ASSERT_EQ(patched->status, 200) << patched->body;
  // Someone on the database itself, outside MigsbyU.
  Psql("UPDATE students SET major = 'Physics' WHERE id = 'S1'");
  // A stamped write that rolls back, then an unstamped one on the same connection: the
  // rolled-back actor must not reach it. And a portal write that fails (a duplicate) before it.
  EXPECT_EQ(Call("POST", "/students/", "registrar1", Student("S1"))->status, 409);
  Psql(
      "BEGIN; SELECT pg_logical_emit_message(true, 'migsbyu.actor', "
      "'{\"user\":\"mallory\",\"origin\":\"portal\"}'); "
      "UPDATE students SET gpa = 0 WHERE id = 'S1'; ROLLBACK; "
      "UPDATE students SET year_of_study = 3 WHERE id = 'S1'");
  // registrar1 creates S2 and C1, enrolls S2, and deletes S2 with its enrollment.
  ASSERT_EQ(Call("POST", "/students/", "registrar1", Student("S2"))->status, 200);
  ASSERT_EQ(Call("POST", "/courses/", "registrar1",
                 {{"id", "C1"}, {"name", "Optics"}, {"units", 3}, {"department", "Physics"}})
                ->status,
            200);
  ASSERT_EQ(Call("POST", "/enrollments/", "registrar1",
                 {{"student_id", "S2"}, {"course_id", "C1"}, {"semester", "Fall 2025"}})
                ->status,
            200);
  auto deleted = Call("DELETE", "/students/S2?cascade=true", "registrar1");
  ASSERT_EQ(deleted->status, 200) << deleted->body;
  WaitForTheLake();

  // The change log.
  EXPECT_EQ(Lines("SELECT op, coalesce(changed_by, 'NULL'), origin FROM students_changes "
                  "WHERE coalesce(after_id, before_id) = 'S1' ORDER BY commit_lsn, position"),
            (std::vector<std::string>{"c|registrar1|portal", "u|registrar1|portal",
                                      "u|NULL|database", "u|NULL|database"}));
  EXPECT_EQ(Lines("SELECT count(*) FROM students_changes WHERE changed_by = 'mallory'"),
            (std::vector<std::string>{"0"}));
  EXPECT_EQ(Lines("SELECT op, changed_by, origin FROM students_changes WHERE before_id = 'S2' "
                  "AND op = 'd'"),
            (std::vector<std::string>{"d|registrar1|portal"}));
  // The cascade: one transaction, one stamp, both deletes.
  EXPECT_EQ(Lines("SELECT op, changed_by, origin FROM takes_changes WHERE before_student_id = "
                  "'S2' OR after_student_id = 'S2' ORDER BY commit_lsn, position"),
            (std::vector<std::string>{"c|registrar1|portal", "d|registrar1|portal"}));
  // Every simulated change, and only those, is the simulator's.
  const auto simulated = Lines(
      "SELECT count(*) FROM (SELECT changed_by, origin FROM students_changes UNION ALL "
      "SELECT changed_by, origin FROM professors_changes UNION ALL SELECT changed_by, origin "
      "FROM courses_changes UNION ALL SELECT changed_by, origin FROM takes_changes UNION ALL "
      "SELECT changed_by, origin FROM teaches_changes) WHERE origin = 'simulator' AND "
      "changed_by = 'simulator'");
  ASSERT_EQ(simulated.size(), 1u);
  EXPECT_GT(std::stoi(simulated[0]), 0);
  EXPECT_EQ(Lines("SELECT count(*) FROM students_changes WHERE origin = 'simulator' AND "
                  "changed_by IS DISTINCT FROM 'simulator'"),
            (std::vector<std::string>{"0"}));

  // The dimension's versions.
  EXPECT_EQ(Lines("SELECT gpa, major, year_of_study, coalesce(changed_by, 'NULL'), origin "
                  "FROM students_dim WHERE id = 'S1' ORDER BY student_key"),
            (std::vector<std::string>{
                "3.10|Mathematics|2|registrar1|portal", "3.50|Mathematics|2|registrar1|portal",
                "3.50|Physics|2|NULL|database", "3.50|Physics|3|NULL|database"}));

  // The history API (any signed-in user may read it).
  auto history = Call("GET", "/analytics/history/students/S1", "registrar1");
  ASSERT_EQ(history->status, 200) << history->body;
  std::vector<std::string> who;
  const json versions = Body(history)["versions"];
  for (const auto& v : versions) {
    who.push_back(v["changed_by"].is_null()
                      ? "NULL/" + v["origin"].get<std::string>()
                      : v["changed_by"].get<std::string>() + "/" + v["origin"].get<std::string>());
  }
  EXPECT_EQ(who, (std::vector<std::string>{"registrar1/portal", "registrar1/portal",
                                           "NULL/database", "NULL/database"}));
  auto gone = Call("GET", "/analytics/history/students/S2", "registrar1");
  ASSERT_EQ(gone->status, 200) << gone->body;
  const json last = Body(gone)["versions"].back();
  EXPECT_EQ(last["is_deleted"], true);
  EXPECT_EQ(last["deleted_by"], "registrar1");
  EXPECT_EQ(last["deleted_origin"], "portal");

  // The Audit API: admins only.
  EXPECT_EQ(Call("GET", "/analytics/audit", "registrar1")->status, 403);
  EXPECT_EQ(Call("GET", "/analytics/audit.csv", "registrar1")->status, 403);
  EXPECT_EQ(Call("GET", "/analytics/audit", "")->status, 401);
  auto mine = Call("GET", "/analytics/audit?user=registrar1&table=students&order=asc", "auditor");
  ASSERT_EQ(mine->status, 200) << mine->body;
  const json rows = Body(mine);
  ASSERT_EQ(rows.size(), 4u) << rows.dump(1);  // S1 created and changed, S2 created and deleted
  EXPECT_EQ(mine->get_header_value("X-Total-Count"), "4");
  EXPECT_EQ(rows[0]["operation"], "insert");
  EXPECT_EQ(rows[0]["key"], (json{{"id", "S1"}}));
  EXPECT_EQ(rows[1]["operation"], "update");
  EXPECT_EQ(rows[1]["changes"], (json::array({{{"field", "gpa"}, {"old", 3.1}, {"new", 3.5}}})));
  EXPECT_EQ(rows[3]["operation"], "delete");
  EXPECT_EQ(rows[3]["key"], (json{{"id", "S2"}}));
  for (const auto& row : rows) {
    EXPECT_EQ(row["changed_by"], "registrar1");
    EXPECT_EQ(row["origin"], "portal");
  }
  // The auditor has no pii grant: the address reads masked in the images and the changes.
  EXPECT_EQ(rows[0]["after"]["address"], "***");
  EXPECT_EQ(mine->body.find("12 Secret Lane"), std::string::npos);
  auto outside = Call("GET", "/analytics/audit?origin=database&record=S1", "auditor");
  ASSERT_EQ(outside->status, 200) << outside->body;
  ASSERT_EQ(Body(outside).size(), 2u);
  for (const auto& row : Body(outside)) EXPECT_TRUE(row["changed_by"].is_null());
  auto sim = Call("GET", "/analytics/audit?origin=simulator&limit=1", "auditor");
  ASSERT_EQ(sim->status, 200);
  EXPECT_EQ(sim->get_header_value("X-Total-Count"), simulated[0]);
  EXPECT_EQ(Body(sim)[0]["changed_by"], "simulator");
  EXPECT_EQ(Call("GET", "/analytics/audit?table=pg_authid", "auditor")->status, 400);
  EXPECT_EQ(Call("GET", "/analytics/audit?limit=10001", "auditor")->status, 400);

  // Who changed anything.
  auto actors = Call("GET", "/analytics/audit/actors", "auditor");
  ASSERT_EQ(actors->status, 200) << actors->body;
  std::set<std::string> names;
  for (const auto& a : Body(actors)) {
    names.insert((a["changed_by"].is_null() ? "NULL" : a["changed_by"].get<std::string>()) + "/" +
                 a["origin"].get<std::string>());
  }
  EXPECT_EQ(names,
            (std::set<std::string>{"registrar1/portal", "NULL/database", "simulator/simulator"}));

  // The CSV download: the same rows, masked, with a header.
  auto csv =
      Call("GET", "/analytics/audit.csv?user=registrar1&table=students&order=asc", "auditor");
  ASSERT_EQ(csv->status, 200) << csv->body;
  EXPECT_EQ(csv->get_header_value("Content-Type"), "text/csv; charset=utf-8");
  EXPECT_NE(csv->get_header_value("Content-Disposition").find("attachment"), std::string::npos);
  EXPECT_EQ(csv->get_header_value("X-Total-Count"), "4");
  std::vector<std::string> lines;
  for (size_t at = 0; at < csv->body.size();) {
    size_t end = csv->body.find("\r\n", at);
    ASSERT_NE(end, std::string::npos) << "every row ends with CRLF";
    lines.push_back(csv->body.substr(at, end - at));
    at = end + 2;
  }
  ASSERT_EQ(lines.size(), 5u) << csv->body;
  EXPECT_EQ(lines[0],
            "commit_time,changed_by,origin,table,operation,record,changes,lsn,position,xid");
  EXPECT_NE(lines[1].find(",registrar1,portal,students,insert,S1,"), std::string::npos) << lines[1];
  EXPECT_NE(lines[2].find(",gpa: 3.1 → 3.5,"), std::string::npos) << lines[2];
  EXPECT_NE(lines[1].find("address: (none) → ***"), std::string::npos) << lines[1];
  EXPECT_EQ(csv->body.find("12 Secret Lane"), std::string::npos);
}

}  // namespace
}  // namespace migsbyu
