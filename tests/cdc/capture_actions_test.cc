// The portal's incremental-snapshot action end to end (docs/CDC.md "Incremental snapshots"):
// `migsbyu serve` with capture into its own lake, called over loopback HTTP on its web address
// (/api/...). An admin's POST /api/analytics/capture/snapshot is 202 and logged with the admin's
// name, and the snapshot runs to its end (seen in /analytics/status); other callers are refused
// (401, 403) and bad table names are 422, changing nothing. A row deleted while the lake did not
// hear of it is closed by the pass, marked as the snapshot's, and no unchanged row gets a
// version; so is one past every key the chunks read (the last chunk empty), and a row changed
// unheard gets one 'snapshot' version. "Unheard": made while the publication left the table out,
// so the stream never carries it while capture goes on.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "auth/serve_process.h"
#include "lake/testing.h"
#include "support/test_database.h"

namespace migsbyu::auth::testing {
namespace {

using lake::testing::QueryLines;
using nlohmann::json;

constexpr int kStudents = 7;
constexpr int kChunkRows = 2;  // several chunks, the deleted key in the middle one
const char* const kGone = "S003";

std::string StudentId(int i) { return "S00" + std::to_string(i); }

class CaptureActionsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = new migsbyu::testing::TestDatabase("capact");
    {
      auto conn = pg::Connection::Open(db_->url());
      ASSERT_TRUE(conn.ok()) << conn.error().ToString();
      // A table with a key outside the capture set, and one without a key.
      ASSERT_TRUE(conn->Exec("CREATE TABLE uncaptured (id int PRIMARY KEY);"
                             "CREATE TABLE nokey (v int)")
                      .ok());
    }
    serve_ = new ServeProcess(db_->url(), db_->name(), /*pipeline=*/true,
                              {"--snapshot-chunk-rows", std::to_string(kChunkRows)});
    ASSERT_TRUE(serve_->running());
    const std::string password = serve_->FirstPassword();
    ASSERT_FALSE(password.empty()) << serve_->Output();
    Reply login = serve_->api().Login("admin", password);
    ASSERT_EQ(login.status, 200) << login.body;
    admin_ = new Credential(Cookie(CookieValue(login.Header("Set-Cookie"))));
    auto token = RunMigsbyu({"token", "create", "--role", "registrar", "--name", "capact",
                             "--database-url", db_->url()});
    ASSERT_EQ(token.exit_code, 0) << token.err;
    registrar_ = new Credential(Bearer(token.out.substr(0, token.out.find('\n'))));
    ASSERT_TRUE(Eventually(
        [&] { return serve_->api().Call("GET", "/auth/me", *registrar_).status == 200; }));
    ASSERT_TRUE(Eventually([&] {
      Reply s = serve_->api().Call("GET", "/analytics/status", *admin_);
      return s.status == 200 && s.Json().value("capture_running", false);
    })) << serve_->Output();
  }

  static void TearDownTestSuite() {
    delete serve_;
    delete db_;
    delete admin_;
    delete registrar_;
  }

  // The call on the web address, under /api, as the browser makes it.
  static Reply Web(const std::string& method, const std::string& path, const Credential& cred,
                   const std::string& body = "") {
    return HttpClient(serve_->web_port()).Call(method, "/api" + path, cred, body);
  }
  static Reply RequestSnapshot(const Credential& cred, const json& body) {
    return Web("POST", "/analytics/capture/snapshot", cred, body.dump());
  }
  static json Snapshot() {
    Reply s = Web("GET", "/analytics/status", *admin_);
    EXPECT_EQ(s.status, 200) << s.body;
    return s.status == 200 ? s.Json()["snapshot"] : json();
  }
  static void Sql(const std::string& sql) {
    auto conn = pg::Connection::Open(db_->url());
    ASSERT_TRUE(conn.ok()) << conn.error().ToString();
    auto r = conn->Exec(sql);
    ASSERT_TRUE(r.ok()) << sql << ": " << r.error().ToString();
  }
  static std::vector<std::string> Lake(const std::string& sql) {
    return QueryLines(serve_->lake_dir(), sql);
  }
  // Waits until the lake's current row of `id` is there (or, with `present` false, gone).
  static bool LakeHasCurrent(const std::string& id, bool present = true) {
    return Eventually(
        [&] {
          return Lake("SELECT 1 FROM students_dim WHERE current_row_indicator = 'yes' AND id = '" +
                      id + "'")
                     .empty() != present;
        },
        std::chrono::seconds(60));
  }
  // How many passes over `table` the server has logged as done.
  static size_t PassesDone(const std::string& table = "students") {
    const std::string text = serve_->Output();
    const std::string done = "incremental snapshot of public." + table + " done";
    size_t n = 0;
    for (size_t at = text.find(done); at != std::string::npos; at = text.find(done, at + 1)) ++n;
    return n;
  }
  // Waits until the pass over `table` after `passes` has been logged as done and the status
  // shows it ended with `chunks` chunks and `rows` rows (counted from the request, the progress
  // starting anew with each request made while none runs).
  static bool SnapshotDone(size_t passes, uint64_t chunks, uint64_t rows,
                           const std::string& table = "students") {
    return Eventually(
        [&] {
          if (PassesDone(table) <= passes) return false;
          json s = Snapshot();
          return s.is_object() && !s.value("running", true) && s.value("chunks", 0u) == chunks &&
                 s.value("rows", 0u) == rows;
        },
        std::chrono::seconds(60));
  }
  static migsbyu::testing::TestDatabase* db_;
  static ServeProcess* serve_;
  static Credential* admin_;
  static Credential* registrar_;
};

migsbyu::testing::TestDatabase* CaptureActionsTest::db_ = nullptr;
ServeProcess* CaptureActionsTest::serve_ = nullptr;
Credential* CaptureActionsTest::admin_ = nullptr;
Credential* CaptureActionsTest::registrar_ = nullptr;

TEST_F(CaptureActionsTest, OnlyAnAdminMayRequestASnapshotAndBadNamesChangeNothing) {
  ASSERT_NE(admin_, nullptr);
  const json students = {{"tables", {"students"}}};
  EXPECT_EQ(RequestSnapshot({}, students).status, 401);
  EXPECT_EQ(RequestSnapshot(*registrar_, students).status, 403);
  const json before = Snapshot();
  std::vector<json> bad = {{{"tables", {"../x"}}},
                           {{"tables", {"students; DROP"}}},
                           {{"tables", {"a.b.c"}}},
                           {{"tables", {"nosuch"}}},
                           {{"tables", {"nokey"}}},
                           {{"tables", {"uncaptured"}}},
                           {{"tables", {"migsbyu_auth.users"}}},  // keyed, but never captured
                           {{"tables", {"students", "nokey"}}},
                           {{"tables", json::array()}},
                           {{"tables", {1}}},
                           {{"table", {"students"}}}};
  json many = json::array();
  for (int i = 0; i < 65; ++i) many.push_back("students");
  bad.push_back({{"tables", many}});
  for (const json& body : bad) {
    ASSERT_TRUE(body.is_object()) << body.dump();
    Reply r = RequestSnapshot(*admin_, body);
    EXPECT_EQ(r.status, 422) << body.dump() << ": " << r.body;
    // The field it names: "tables" (or the unknown "table").
    EXPECT_NE(r.body.find(R"("loc":["body","table)"), std::string::npos)
        << body.dump() << ": " << r.body;
  }
  EXPECT_EQ(Web("POST", "/analytics/capture/snapshot", *admin_, "{not json").status, 400);
  // Nothing was queued: a valid request made after them is the only one logged and read.
  Sql("INSERT INTO students VALUES ('S900', 'First', 'Last', 'Female', 'Street 1', '2004-05-01', "
      "'Math', 2, 3.50, 'Full-time')");
  ASSERT_TRUE(LakeHasCurrent("S900"));
  EXPECT_EQ(Snapshot(), before);
  EXPECT_EQ(serve_->Output().find("requested an incremental snapshot"), std::string::npos)
      << serve_->Output();
  EXPECT_EQ(serve_->Output().find("snapshot of public.uncaptured"), std::string::npos);
  EXPECT_EQ(serve_->Output().find("snapshot of public.nokey"), std::string::npos);
  EXPECT_EQ(serve_->Output().find("snapshot of migsbyu_auth"), std::string::npos);
  Sql("DELETE FROM students WHERE id = 'S900'");
  ASSERT_TRUE(LakeHasCurrent("S900", false));

  const size_t passes = PassesDone();
  Reply r = RequestSnapshot(*admin_, students);
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(r.Json(), (json{{"requested", {"students"}}}));
  // An empty table: one chunk, which reads nothing.
  ASSERT_TRUE(SnapshotDone(passes, 1, 0)) << Snapshot().dump() << "\n" << serve_->Output();
  EXPECT_NE(serve_->Output().find("portal: admin requested an incremental snapshot of students"),
            std::string::npos)
      << serve_->Output();

  // While capture runs its slot is usable: the resnapshot action is refused, to admins only.
  EXPECT_EQ(Web("POST", "/analytics/capture/resnapshot", {}).status, 401);
  EXPECT_EQ(Web("POST", "/analytics/capture/resnapshot", *registrar_).status, 403);
  EXPECT_EQ(Web("POST", "/analytics/capture/resnapshot", *admin_).status, 409);
  EXPECT_EQ(serve_->Output().find("restarted capture with a resnapshot"), std::string::npos);
}

TEST_F(CaptureActionsTest, APassClosesAKeyDeletedWhileTheLakeWasNotListening) {
  ASSERT_NE(admin_, nullptr);
  for (int i = 0; i < kStudents; ++i) {
    Sql("INSERT INTO students VALUES ('" + StudentId(i) +
        "', 'First', 'Last', 'Female', 'Street 1', '2004-05-01', 'Math', 2, 3.50, 'Full-time')");
  }
  ASSERT_TRUE(LakeHasCurrent(StudentId(kStudents - 1)));
  // The delete is made while the publication leaves students out, so the stream never carries
  // it; the marker after it shows the lake has read past it and still holds the row.
  Sql("ALTER PUBLICATION " + db_->name() + " DROP TABLE students");
  Sql(std::string("DELETE FROM students WHERE id = '") + kGone + "'");
  Sql("ALTER PUBLICATION " + db_->name() + " ADD TABLE students");
  Sql("INSERT INTO students VALUES ('S100', 'First', 'Last', 'Female', 'Street 1', '2004-05-01', "
      "'Math', 2, 3.50, 'Full-time')");
  ASSERT_TRUE(LakeHasCurrent("S100"));
  ASSERT_TRUE(LakeHasCurrent(kGone)) << "the stream delivered the delete: the test proves nothing";
  const auto versions_before = Lake("SELECT count(*) FROM students_dim");

  const size_t passes = PassesDone();
  Reply r = RequestSnapshot(*admin_, {{"tables", {"students"}}});
  ASSERT_EQ(r.status, 202) << r.body;
  // 7 rows in chunks of 2: the fourth reads one row and ends the pass.
  ASSERT_TRUE(SnapshotDone(passes, 4, 7)) << Snapshot().dump() << "\n" << serve_->Output();
  ASSERT_TRUE(LakeHasCurrent(kGone, false)) << serve_->Output();
  // The same end in the Prometheus figures.
  Reply metrics = Web("GET", "/metrics", *registrar_);
  ASSERT_EQ(metrics.status, 200) << metrics.body;
  for (const char* line :
       {"\nmigsbyu_cdc_snapshot_running 0\n", "\nmigsbyu_cdc_snapshot_chunks 4\n",
        "\nmigsbyu_cdc_snapshot_rows 7\n", "\nmigsbyu_cdc_snapshot_tables_left 0\n"}) {
    EXPECT_NE(metrics.body.find(line), std::string::npos) << line << metrics.body;
  }

  // The deleted key: closed, no current row, the close marked as the snapshot's.
  EXPECT_EQ(Lake(std::string("SELECT count(*), bool_or(is_deleted), "
                             "count(*) FILTER (WHERE current_row_indicator = 'yes') "
                             "FROM students_dim WHERE id = '") +
                 kGone + "'"),
            std::vector<std::string>{"1|true|0"});
  EXPECT_EQ(Lake(std::string("SELECT op, origin FROM students_changes WHERE op = 'd' AND "
                             "before_id = '") +
                 kGone + "'"),
            std::vector<std::string>{"d|snapshot"});
  // Every other row: its one streamed version, current; the pass made no version.
  for (int i = 0; i < kStudents; ++i) {
    const std::string id = StudentId(i);
    if (id == kGone) continue;
    EXPECT_EQ(Lake("SELECT count(*), max(origin), max(current_row_indicator) FROM students_dim "
                   "WHERE id = '" +
                   id + "'"),
              std::vector<std::string>{"1|database|yes"})
        << id;
  }
  EXPECT_EQ(Lake("SELECT count(*) FROM students_dim"), versions_before);
  // Only the one key was closed by the pass, and the audit trail says so.
  EXPECT_EQ(Lake("SELECT count(*) FROM students_changes WHERE op = 'd' AND origin = 'snapshot'"),
            std::vector<std::string>{"1"});
  Reply audit = Web("GET", "/analytics/audit?table=students&op=d&origin=snapshot", *admin_);
  ASSERT_EQ(audit.status, 200) << audit.body;
  EXPECT_EQ(audit.Header("X-Total-Count"), "1") << audit.body;
  EXPECT_NE(audit.body.find(kGone), std::string::npos) << audit.body;
}

// The pass's last chunk reads nothing, and the key deleted unheard lies past every key a chunk
// read: it is closed all the same; a row changed unheard gets one 'snapshot' version.
TEST_F(CaptureActionsTest, AnEmptyLastChunkClosesTheKeysPastItAndAChangedRowGetsAVersion) {
  ASSERT_NE(admin_, nullptr);
  Sql("INSERT INTO courses SELECT 'C' || i, 'Course ' || i, 3, 'Mathematics' "
      "FROM generate_series(1, 5) i");
  auto current = [&](const std::string& id) {
    return Lake(
        "SELECT units, origin FROM courses_dim WHERE current_row_indicator = 'yes' AND "
        "id = '" +
        id + "'");
  };
  ASSERT_TRUE(Eventually([&] { return current("C5").size() == 1; }, std::chrono::seconds(60)));
  Sql("ALTER PUBLICATION " + db_->name() + " DROP TABLE courses");
  Sql("DELETE FROM courses WHERE id IN ('C2', 'C5')");
  Sql("UPDATE courses SET units = 4 WHERE id = 'C3'");
  Sql("ALTER PUBLICATION " + db_->name() + " ADD TABLE courses");
  Sql("INSERT INTO courses VALUES ('C0', 'Marker', 1, 'Mathematics')");
  ASSERT_TRUE(Eventually([&] { return current("C0").size() == 1; }, std::chrono::seconds(60)));
  ASSERT_EQ(current("C5"), std::vector<std::string>{"3|database"}) << "the stream carried it";
  ASSERT_EQ(current("C3"), std::vector<std::string>{"3|database"}) << "the stream carried it";

  const size_t passes = PassesDone("courses");
  Reply r = RequestSnapshot(*admin_, {{"tables", {"public.courses"}}});
  ASSERT_EQ(r.status, 202) << r.body;
  // C0 C1 | C3 C4 | (nothing): three chunks, four rows.
  ASSERT_TRUE(SnapshotDone(passes, 3, 4, "courses")) << Snapshot().dump() << serve_->Output();
  ASSERT_TRUE(Eventually([&] { return current("C5").empty(); }, std::chrono::seconds(60)))
      << serve_->Output();
  EXPECT_EQ(Lake("SELECT id, count(*), bool_or(is_deleted), "
                 "count(*) FILTER (WHERE current_row_indicator = 'yes') FROM courses_dim "
                 "GROUP BY id ORDER BY id"),
            (std::vector<std::string>{"C0|1|false|1", "C1|1|false|1", "C2|1|true|0", "C3|2|false|1",
                                      "C4|1|false|1", "C5|1|true|0"}));
  EXPECT_EQ(current("C3"), std::vector<std::string>{"4|snapshot"});
  EXPECT_EQ(Lake("SELECT before_id, origin FROM courses_changes WHERE op = 'd' ORDER BY 1"),
            (std::vector<std::string>{"C2|snapshot", "C5|snapshot"}));
}

}  // namespace
}  // namespace migsbyu::auth::testing
