// The analytics API through real loopback HTTP: the portal's server serving the routes over the
// hand-written fixture lake.
#include "portal/analytics_api/analytics_routes.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <future>
#include <thread>

#include "analytics/console_testing.h"
#include "analytics/fixture_lake.h"
#include "portal/server.h"

namespace migsbyu::portal {
namespace {

class AnalyticsRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(
        lake_.Execute(analytics::testing::ReadFileOrDie(analytics::testing::StandardFixtureSql()))
            .ok());
    ASSERT_TRUE(lake_.Publish(Lsn(500)).ok());
    auto console = analytics::SqlConsole::Open(lake_, analytics::testing::TestConsoleOptions());
    ASSERT_TRUE(console.ok()) << console.error().ToString();
    console_ = std::move(console).value();
    AnalyticsRoutesOptions options;
    options.status_interval = std::chrono::milliseconds(200);
    options.stopping = [this] { return stopping_.load(); };
    RegisterAnalyticsRoutes(router_, service_, console_.get(), options);
    server_ = std::make_unique<Server>(router_, ServerOptions{.api_address = "127.0.0.1:0",
                                                              .web_address = "127.0.0.1:0",
                                                              .web_dir = "/nonexistent",
                                                              .threads = 4});
    auto started = server_->Start();
    ASSERT_TRUE(started.ok()) << started.error().ToString();
  }

  void TearDown() override {
    stopping_ = true;
    if (server_) server_->Stop();
  }

  httplib::Result Get(const std::string& path) {
    httplib::Client client("127.0.0.1", server_->api_port());
    return client.Get(path);
  }

  httplib::Result PostSql(const std::string& body) {
    httplib::Client client("127.0.0.1", server_->api_port());
    return client.Post("/analytics/sql", body, "application/json");
  }

  static nlohmann::json Body(const httplib::Result& result) {
    return nlohmann::json::parse(result->body);
  }

  // The 400's detail, which must name `what`.
  void ExpectBadRequest(const httplib::Result& result, const std::string& what) {
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 400) << result->body;
    auto detail = Body(result)["detail"];
    ASSERT_TRUE(detail.is_string()) << result->body;
    EXPECT_NE(detail.get<std::string>().find(what), std::string::npos) << detail;
  }

  analytics::testing::FixtureLake lake_;
  analytics::Service service_{lake_, [] {
                                analytics::PipelineStatus s;
                                s.capture_running = true;
                                s.slot_lag_bytes = 2048;
                                return s;
                              }};
  std::unique_ptr<analytics::SqlConsole> console_;
  Router router_;
  std::unique_ptr<Server> server_;
  std::atomic<bool> stopping_{false};
};

TEST_F(AnalyticsRoutesTest, DimensionListingIsPaginatedWithTotalHeader) {
  auto r = Get("/analytics/dimensions/students?current=true&sort=gpa&order=desc&limit=2");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("X-Total-Count"), "3");
  auto rows = Body(r);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["id"], "S2");
  EXPECT_EQ(rows[1]["id"], "S1");

  auto as_of = Get("/analytics/dimensions/students?as_of=2026-02-10T10:00:00Z&q=ada");
  ASSERT_TRUE(as_of);
  EXPECT_EQ(Body(as_of).size(), 1u);
  EXPECT_EQ(Body(as_of)[0]["student_key"], 3);
}

TEST_F(AnalyticsRoutesTest, BadParametersAre400NamingTheParameter) {
  ExpectBadRequest(Get("/analytics/dimensions/students?limit=many"), "limit");
  ExpectBadRequest(Get("/analytics/dimensions/students?limit=100000"), "limit");
  ExpectBadRequest(Get("/analytics/dimensions/students?current=maybe"), "current");
  ExpectBadRequest(Get("/analytics/dimensions/students?as_of=last%20week"), "as_of");
  ExpectBadRequest(Get("/analytics/dimensions/students?sort=nope"), "sort");
  ExpectBadRequest(Get("/analytics/dimensions/students?order=up"), "order");
  ExpectBadRequest(Get("/analytics/as-of/takes"), "at");
  ExpectBadRequest(Get("/analytics/as-of/takes?as_of_snapshot=x"), "as_of_snapshot");
  ExpectBadRequest(Get("/analytics/dimensions/students?as_of=2026-04-10&as_of_snapshot=1"),
                   "as_of_snapshot");
  ExpectBadRequest(Get("/analytics/aggregates/headcount?interval=year"), "interval");
  auto unknown = Get("/analytics/dimensions/teachers");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  // A lake without Iceberg tables names no snapshot.
  auto no_snapshot = Get("/analytics/as-of/takes?as_of_snapshot=42");
  ASSERT_TRUE(no_snapshot);
  EXPECT_EQ(no_snapshot->status, 404);
  auto snapshots = Get("/analytics/snapshots");
  ASSERT_TRUE(snapshots);
  EXPECT_EQ(snapshots->status, 200);
  EXPECT_EQ(Body(snapshots), nlohmann::json::array());
}

TEST_F(AnalyticsRoutesTest, HistoryAndAsOf) {
  auto history = Get("/analytics/history/students/S1");
  ASSERT_TRUE(history);
  EXPECT_EQ(history->status, 200);
  EXPECT_EQ(Body(history)["versions"].size(), 4u);
  EXPECT_EQ(Body(history)["versions"][1]["changes"][0]["field"], "gpa");
  auto missing = Get("/analytics/history/students/NOPE");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);

  auto takes = Get("/analytics/as-of/takes?at=2026-04-10T10:00:00Z");
  ASSERT_TRUE(takes);
  EXPECT_EQ(takes->status, 200);
  EXPECT_EQ(takes->get_header_value("X-Total-Count"), "2");
  auto dim = Get("/analytics/as-of/students_dim?at=2026-04-10T10:00:00Z&limit=1&skip=1");
  ASSERT_TRUE(dim);
  EXPECT_EQ(dim->get_header_value("X-Total-Count"), "2");
  EXPECT_EQ(Body(dim)[0]["student_key"], 6);
}

TEST_F(AnalyticsRoutesTest, FactAndAggregates) {
  auto fact = Get("/analytics/fact?semester=Fall%202026");
  ASSERT_TRUE(fact);
  EXPECT_EQ(fact->get_header_value("X-Total-Count"), "4");
  auto semester = Get("/analytics/aggregates/enrollments-per-semester");
  ASSERT_TRUE(semester);
  EXPECT_EQ(Body(semester)[0]["label"], "Spring 2026");
  auto department = Get("/analytics/aggregates/enrollments-per-department");
  ASSERT_TRUE(department);
  EXPECT_EQ(Body(department)[0]["label"], "Mathematics");
  auto gpa = Get("/analytics/aggregates/gpa-distribution?at=2026-02-10T10:00:00Z");
  ASSERT_TRUE(gpa);
  EXPECT_EQ(Body(gpa).size(), 16u);
  EXPECT_EQ(Body(gpa)[14]["value"], 1);
  auto headcount = Get("/analytics/aggregates/headcount?interval=month");
  ASSERT_TRUE(headcount);
  EXPECT_EQ(headcount->status, 200);
  EXPECT_EQ(Body(headcount)[0]["label"], "2026-01");
}

TEST_F(AnalyticsRoutesTest, StatusAndPrometheusMetrics) {
  auto status = Get("/analytics/status");
  ASSERT_TRUE(status);
  auto json = Body(status);
  EXPECT_EQ(json["slot_lag_bytes"], 2048);
  EXPECT_EQ(json["lake_version"], 1);
  EXPECT_EQ(json["last_committed_lsn"], "0/1F4");
  EXPECT_EQ(json["tables"]["students_dim"], 7);

  auto metrics = Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_EQ(metrics->get_header_value("Content-Type").rfind("text/plain", 0), 0u);
  EXPECT_NE(metrics->body.find("# TYPE migsbyu_replication_slot_lag_bytes gauge\n"
                               "migsbyu_replication_slot_lag_bytes 2048\n"),
            std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find("migsbyu_lake_table_rows{table=\"students_dim\"} 7\n"),
            std::string::npos);
}

TEST_F(AnalyticsRoutesTest, SqlConsoleAnswersAndRefuses) {
  auto ok = PostSql(R"({"sql": "SELECT id FROM courses_dim ORDER BY id", "limit": 1})");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
  auto body = Body(ok);
  EXPECT_EQ(body["columns"], nlohmann::json::parse(R"([{"name":"id","type":"VARCHAR"}])"));
  EXPECT_EQ(body["rows"], nlohmann::json::parse(R"([["MAT101"]])"));
  EXPECT_EQ(body["truncated"], true);
  EXPECT_TRUE(body["elapsed_ms"].is_number());

  ExpectBadRequest(PostSql(R"j({"sql": "SELECT * FROM read_csv('/etc/passwd')"})j"), "refused");
  ExpectBadRequest(PostSql(R"({"sql": "COPY students_dim TO '/tmp/x.csv'"})"), "COPY");
  ExpectBadRequest(PostSql(R"({"sql": "ATTACH '/tmp/x.db'"})"), "ATTACH");
  ExpectBadRequest(PostSql(R"({"sql": "INSTALL httpfs"})"), "INSTALL");
  ExpectBadRequest(PostSql(R"({"sql": "LOAD httpfs"})"), "LOAD");
  ExpectBadRequest(PostSql(R"({"sql": "SET threads = 1"})"), "SET");
  ExpectBadRequest(PostSql(R"({"sql": "SELECT 1", "limit": 0})"), "limit");
  ExpectBadRequest(PostSql(R"({"sql": "SELECT 1", "limit": "ten"})"), "limit");
  ExpectBadRequest(PostSql(R"({"query": "SELECT 1"})"), "sql");
  ExpectBadRequest(PostSql("not json"), "body");
}

TEST_F(AnalyticsRoutesTest, EventStreamSendsStatusThenCommit) {
  httplib::Client client("127.0.0.1", server_->api_port());
  client.set_read_timeout(10, 0);
  std::string received;
  bool published = false;
  int chunks = 0;
  std::string error;
  auto result = client.Get("/analytics/events", [&](const char* data, size_t length) {
    received.append(data, length);
    ++chunks;
    if (!published && received.find("event: status\n") != std::string::npos) {
      published = true;
      auto p = lake_.Publish(Lsn(0x600), 1'800'000'000'000'000);
      if (!p.ok()) error = p.error().ToString();
    }
    // Ends the stream once the commit arrived, or gives up after many status ticks.
    return received.find("event: commit\n") == std::string::npos && chunks < 50;
  });
  EXPECT_TRUE(error.empty()) << error;
  auto at = received.find("event: commit\ndata: ");
  ASSERT_NE(at, std::string::npos) << received;
  auto line_end = received.find('\n', at + 20);
  std::string data = received.substr(
      at + 20, line_end == std::string::npos ? std::string::npos : line_end - (at + 20));
  auto commit = nlohmann::json::parse(data);
  EXPECT_EQ(commit["version"], 2);
  EXPECT_EQ(commit["end_lsn"], "0/600");
  EXPECT_EQ(commit["commit_time"], "2027-01-15T08:00:00.000000Z");
  auto status_at = received.find("event: status\ndata: ");
  ASSERT_NE(status_at, std::string::npos);
  auto status_end = received.find('\n', status_at + 20);
  auto status = nlohmann::json::parse(received.substr(status_at + 20, status_end - status_at - 20));
  EXPECT_EQ(status["slot_lag_bytes"], 2048);
}

TEST_F(AnalyticsRoutesTest, EventStreamCommitNamesTheViewsItChanged) {
  httplib::Client client("127.0.0.1", server_->api_port());
  client.set_read_timeout(10, 0);
  std::string received;
  std::vector<nlohmann::json> commits;
  std::string error;
  auto publish = [&](const char* sql, Lsn lsn) {
    Status done = sql ? lake_.Execute(sql) : OkStatus();
    if (done.ok()) done = lake_.Publish(lsn);
    if (!done.ok()) error = done.error().ToString();
  };
  int chunks = 0;
  bool changed = false;
  client.Get("/analytics/events", [&](const char* data, size_t length) {
    received.append(data, length);
    ++chunks;
    for (size_t at; (at = received.find("event: commit\ndata: ")) != std::string::npos;) {
      size_t end = received.find('\n', at + 20);
      if (end == std::string::npos) break;
      commits.push_back(nlohmann::json::parse(received.substr(at + 20, end - at - 20)));
      received.erase(0, end);
      // The second commit changes nothing.
      if (commits.size() == 1) publish(nullptr, Lsn(0x800));
    }
    if (!changed && received.find("event: status\n") != std::string::npos) {
      changed = true;
      publish(
          "UPDATE students_dim SET gpa = 3.99 WHERE id = 'S1'; "
          "INSERT INTO takes_changes SELECT * FROM takes_changes LIMIT 1",
          Lsn(0x700));
    }
    return commits.size() < 2 && chunks < 100 && error.empty();
  });
  ASSERT_TRUE(error.empty()) << error;
  ASSERT_EQ(commits.size(), 2u) << received;
  EXPECT_EQ(commits[0]["tables"], nlohmann::json({"students_dim", "takes_changes"})) << commits[0];
  EXPECT_EQ(commits[1]["tables"], nlohmann::json::array()) << commits[1];
}

TEST_F(AnalyticsRoutesTest, EventStreamEndsWhenTheServerStops) {
  std::promise<void> first_status;
  std::thread listener([&] {
    httplib::Client client("127.0.0.1", server_->api_port());
    client.set_read_timeout(30, 0);
    bool seen = false;
    client.Get("/analytics/events", [&](const char* data, size_t length) {
      if (!seen && std::string(data, length).find("event: status") != std::string::npos) {
        seen = true;
        first_status.set_value();
      }
      return true;  // listens until the server ends the stream
    });
    if (!seen) first_status.set_value();
  });
  EXPECT_EQ(first_status.get_future().wait_for(std::chrono::seconds(10)),
            std::future_status::ready);
  stopping_ = true;
  server_->Stop();  // returns only once the stream's handler has returned
  listener.join();
}

TEST_F(AnalyticsRoutesTest, RoutesAreServedUnderApiOnTheWebAddressAndDocumented) {
  httplib::Client web("127.0.0.1", server_->web_port());
  auto status = web.Get("/api/analytics/status");
  ASSERT_TRUE(status);
  EXPECT_EQ(status->status, 200);

  auto doc = router_.OpenApi("MigsbyU", "test");
  for (const char* path :
       {"/analytics/dimensions/{entity}", "/analytics/lake-dimensions",
        "/analytics/history/{entity}/{id}", "/analytics/as-of/{table}", "/analytics/fact",
        "/analytics/aggregates/enrollments-per-semester",
        "/analytics/aggregates/enrollments-per-department",
        "/analytics/aggregates/gpa-distribution", "/analytics/aggregates/headcount",
        "/analytics/status", "/metrics", "/analytics/events", "/analytics/snapshots"}) {
    EXPECT_TRUE(doc["paths"].contains(path)) << path;
    EXPECT_TRUE(doc["paths"][path]["get"].contains("summary")) << path;
  }
  EXPECT_TRUE(doc["paths"]["/analytics/sql"]["post"].contains("requestBody"));
  EXPECT_EQ(
      doc["paths"]["/analytics/history/{entity}/{id}"]["get"]["parameters"][0]["schema"]["enum"],
      nlohmann::json::parse(R"(["students","professors","courses"])"));
}

TEST_F(AnalyticsRoutesTest, TheAuditTrailIsFilteredPagedAndAdminsOnly) {
  auto page = Get("/analytics/audit?table=takes&limit=2");
  ASSERT_TRUE(page);
  ASSERT_EQ(page->status, 200) << page->body;
  EXPECT_EQ(page->get_header_value("X-Total-Count"), "7");
  EXPECT_EQ(page->get_header_value("Cache-Control"), "no-store");
  ASSERT_EQ(Body(page).size(), 2u);
  EXPECT_EQ(Body(page)[0]["operation"], "insert");
  EXPECT_TRUE(Body(page)[0]["changed_by"].is_null());
  EXPECT_EQ(Body(page)[0]["origin"], "database");
  auto mine =
      Get("/analytics/audit?user=registrar2&from=2026-02-01T00:00:00Z&to=2026-03-01T00:00:00Z");
  ASSERT_TRUE(mine);
  EXPECT_EQ(mine->get_header_value("X-Total-Count"), "3");
  ExpectBadRequest(Get("/analytics/audit?table=pg_authid"), "table");
  ExpectBadRequest(Get("/analytics/audit?from=yesterday"), "from");
  ExpectBadRequest(Get("/analytics/audit?order=sideways"), "order");
  ExpectBadRequest(Get("/analytics/audit?limit=10001"), "limit");
  ExpectBadRequest(Get("/analytics/audit.csv?limit=100001"), "limit");
  auto actors = Get("/analytics/audit/actors");
  ASSERT_TRUE(actors);
  EXPECT_EQ(actors->status, 200);
  EXPECT_EQ(Body(actors).size(), 6u);
  for (const auto& route : router_.routes()) {
    if (route.pattern.starts_with("/analytics/audit")) {
      EXPECT_EQ(route.doc.permission, Permission::kAdmin) << route.pattern;
    }
  }
}

TEST_F(AnalyticsRoutesTest, TheAuditCsvIsADownloadOfTheSameRows) {
  auto csv = Get("/analytics/audit.csv?record=S2&order=asc");
  ASSERT_TRUE(csv);
  ASSERT_EQ(csv->status, 200) << csv->body;
  EXPECT_EQ(csv->get_header_value("Content-Type"), "text/csv; charset=utf-8");
  EXPECT_EQ(csv->get_header_value("Content-Disposition"),
            "attachment; filename=\"migsbyu-audit.csv\"");
  EXPECT_EQ(csv->get_header_value("X-Total-Count"), "4");
  EXPECT_EQ(csv->body,
            "commit_time,changed_by,origin,table,operation,record,changes,lsn,position,xid\r\n"
            "2026-01-10T10:00:00.000000Z,,snapshot,students,snapshot,S2,"
            "first_name: (none) → Alan; gpa: (none) → 4.0; id: (none) → S2,0/64,1,7001\r\n"
            "2026-02-10T10:00:00.000000Z,registrar2,portal,takes,insert,S2 / PHY101 / Fall 2026,"
            "course_id: (none) → PHY101; semester: (none) → Fall 2026; student_id: (none) → S2,"
            "0/C8,1,7002\r\n"
            "2026-02-10T10:00:00.000000Z,registrar2,portal,takes,insert,S2 / MAT101 / Spring 2026,"
            "course_id: (none) → MAT101; semester: (none) → Spring 2026; student_id: (none) → S2,"
            "0/C8,2,7002\r\n"
            "2026-04-10T10:00:00.000000Z,admin,portal,takes,update,S2 / MAT101 / Fall 2026,"
            "semester: Spring 2026 → Fall 2026,0/190,1,7004\r\n");
}

}  // namespace
}  // namespace migsbyu::portal
