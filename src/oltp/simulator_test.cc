#include "oltp/simulator.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <numeric>
#include <thread>
#include <vector>

#include "oltp/generator_test_util.h"

namespace migsbyu::oltp {
namespace {

using std::chrono::seconds;

// Generous bounds for a run to end by itself: a safety net, not a measurement.
constexpr auto kRunBound = seconds(120);

const GenerateCounts kCampus{
    .students = 200, .professors = 30, .courses = 40, .enrollments = 500, .assignments = 60};

int64_t Kind(const SimulatorStatus& status, const std::string& kind) {
  auto it = status.by_kind.find(kind);
  return it == status.by_kind.end() ? 0 : it->second;
}

// Runs the simulator to its end and returns its final status.
SimulatorStatus RunToEnd(pg::Pool& pool, const SimulatorOptions& options) {
  Simulator simulator(pool);
  auto started = simulator.Start(options);
  EXPECT_TRUE(started.ok()) << started.error().ToString();
  EXPECT_TRUE(simulator.WaitUntilStopped(kRunBound));
  return simulator.GetStatus();
}

// Records, for every row change in the five tables, the transaction that made it.
void InstallChangeLog(SchemaDatabase& db) {
  auto installed = db.conn().Exec(R"sql(
    CREATE TABLE change_log (txid bigint NOT NULL, tbl text NOT NULL, op text NOT NULL);
    CREATE FUNCTION log_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO change_log VALUES (txid_current(), TG_TABLE_NAME, TG_OP);
      RETURN NULL;
    END $$;
    CREATE TRIGGER log_change AFTER INSERT OR UPDATE OR DELETE ON students
      FOR EACH ROW EXECUTE FUNCTION log_change();
    CREATE TRIGGER log_change AFTER INSERT OR UPDATE OR DELETE ON professors
      FOR EACH ROW EXECUTE FUNCTION log_change();
    CREATE TRIGGER log_change AFTER INSERT OR UPDATE OR DELETE ON courses
      FOR EACH ROW EXECUTE FUNCTION log_change();
    CREATE TRIGGER log_change AFTER INSERT OR UPDATE OR DELETE ON takes
      FOR EACH ROW EXECUTE FUNCTION log_change();
    CREATE TRIGGER log_change AFTER INSERT OR UPDATE OR DELETE ON teaches
      FOR EACH ROW EXECUTE FUNCTION log_change();
  )sql");
  ASSERT_TRUE(installed.ok()) << installed.error().ToString();
}

TEST(SimulatorTest, AppliesEachEventAsOneTransactionAndStopsAfterMaxEvents) {
  SchemaDatabase db;
  db.MustGenerate(kCampus, 1);
  InstallChangeLog(db);
  const int64_t students = db.Count("SELECT count(*) FROM students");
  const int64_t professors = db.Count("SELECT count(*) FROM professors");
  const int64_t courses = db.Count("SELECT count(*) FROM courses");

  pg::Pool pool(db.url(), 2);
  constexpr int64_t kEvents = 300;
  auto status = RunToEnd(
      pool, {.rate_per_second = 5000, .duration_seconds = 600, .seed = 3, .max_events = kEvents});
  EXPECT_FALSE(status.running);
  EXPECT_EQ(status.events, kEvents) << status.last_error;
  EXPECT_EQ(Kind(status, "failed"), 0);
  EXPECT_EQ(status.last_error, "");
  int64_t by_kind_total = 0;
  for (const auto& [kind, n] : status.by_kind) by_kind_total += n;
  EXPECT_EQ(by_kind_total, kEvents);
  for (const char* kind : {"gpa_change", "address_move", "year_advance", "salary_raise",
                           "course_drop", "new_enrollment", "registration", "new_student"}) {
    EXPECT_GT(Kind(status, kind), 0) << kind;
  }

  // Each event is one transaction: at most kEvents transactions wrote, and nearly every event
  // wrote something (a new enrollment that exists already is the rare one that does not).
  const int64_t transactions = db.Count("SELECT count(DISTINCT txid) FROM change_log");
  EXPECT_LE(transactions, kEvents);
  EXPECT_GE(transactions, kEvents * 9 / 10);
  // Registrations and new students change several rows in one transaction.
  EXPECT_GE(db.Count("SELECT max(n) FROM (SELECT count(*) AS n FROM change_log GROUP BY txid) c"),
            3);

  // Rows created and deleted match the events that create and delete them.
  EXPECT_EQ(db.Count("SELECT count(*) FROM students"),
            students + Kind(status, "new_student") - Kind(status, "student_departure"));
  EXPECT_EQ(db.Count("SELECT count(*) FROM professors"),
            professors + Kind(status, "new_professor"));
  EXPECT_EQ(db.Count("SELECT count(*) FROM courses"), courses + Kind(status, "new_course"));
  EXPECT_EQ(db.Count("SELECT count(*) FROM change_log WHERE tbl = 'students' AND op = 'DELETE'"),
            Kind(status, "student_departure"));
  // Professors are updated by salary raises and by some of the moves.
  const int64_t professor_updates =
      db.Count("SELECT count(*) FROM change_log WHERE tbl = 'professors' AND op = 'UPDATE'");
  EXPECT_GE(professor_updates, Kind(status, "salary_raise"));
  EXPECT_LE(professor_updates, Kind(status, "salary_raise") + Kind(status, "address_move"));
}

TEST(SimulatorTest, RunsRateTimesDurationEventsThenStopsByItself) {
  SchemaDatabase db;
  db.MustGenerate(kCampus, 2);
  pg::Pool pool(db.url(), 2);
  // Event k is due k / rate seconds after the start: 40/s for 0.5 s makes events 0..19.
  auto status = RunToEnd(pool, {.rate_per_second = 40, .duration_seconds = 0.5, .seed = 4});
  EXPECT_FALSE(status.running);
  EXPECT_EQ(status.events + Kind(status, "failed"), 20);
  EXPECT_EQ(status.events, 20) << status.last_error;
  EXPECT_EQ(status.options.rate_per_second, 40);
  EXPECT_EQ(status.options.seed, 4u);
  // Event 19 was due 0.475 s after the start, so the run lasted at least that long.
  EXPECT_GE(status.elapsed_seconds, 0.475);
}

TEST(SimulatorTest, SameSeedOnTheSameDataAppliesTheSameEvents) {
  SchemaDatabase first, second;
  first.MustGenerate(kCampus, 6);
  second.MustGenerate(kCampus, 6);
  pg::Pool first_pool(first.url(), 1), second_pool(second.url(), 1);
  const SimulatorOptions options{
      .rate_per_second = 5000, .duration_seconds = 600, .seed = 9, .max_events = 150};
  auto a = RunToEnd(first_pool, options);
  auto b = RunToEnd(second_pool, options);
  EXPECT_EQ(a.by_kind, b.by_kind);
  EXPECT_EQ(first.Dump(), second.Dump());
}

TEST(SimulatorTest, StartsFromAnEmptyDatabaseByCreatingRecords) {
  SchemaDatabase db;
  pg::Pool pool(db.url(), 2);
  auto status = RunToEnd(
      pool, {.rate_per_second = 5000, .duration_seconds = 600, .seed = 5, .max_events = 60});
  EXPECT_EQ(status.events, 60) << status.last_error;
  EXPECT_GT(db.Count("SELECT count(*) FROM students"), 0);
  EXPECT_GT(db.Count("SELECT count(*) FROM professors"), 0);
  EXPECT_GT(db.Count("SELECT count(*) FROM courses"), 0);
}

TEST(SimulatorTest, StartWhileRunningIsAConflictAndStopEndsTheRun) {
  SchemaDatabase db;
  db.MustGenerate(kCampus, 7);
  pg::Pool pool(db.url(), 2);
  Simulator simulator(pool);
  ASSERT_TRUE(simulator.Start({.rate_per_second = 1, .duration_seconds = 3600, .seed = 1}).ok());
  EXPECT_TRUE(simulator.GetStatus().running);
  auto again = simulator.Start({.rate_per_second = 2, .duration_seconds = 10});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), ErrorCode::kConflict);

  simulator.Stop();
  EXPECT_FALSE(simulator.GetStatus().running);
  EXPECT_TRUE(simulator.WaitUntilStopped(seconds(0)));
  const int64_t events = simulator.GetStatus().events;
  EXPECT_LE(events, 1);  // event 0 is due at once; event 1 a second later

  // A stopped simulator starts again, counting from zero.
  ASSERT_TRUE(
      simulator
          .Start({.rate_per_second = 5000, .duration_seconds = 600, .seed = 2, .max_events = 10})
          .ok());
  ASSERT_TRUE(simulator.WaitUntilStopped(kRunBound));
  EXPECT_EQ(simulator.GetStatus().events, 10);
}

TEST(SimulatorTest, ConcurrentStartsRunOnceAndTheOthersConflict) {
  SchemaDatabase db;
  db.MustGenerate(kCampus, 11);
  pg::Pool pool(db.url(), 4);
  Simulator simulator(pool);
  std::atomic<int> started{0}, conflicts{0};
  std::vector<std::thread> callers;
  for (int i = 0; i < 4; ++i) {
    callers.emplace_back([&, i] {
      auto status = simulator.Start(
          {.rate_per_second = 100, .duration_seconds = 3600, .seed = static_cast<uint64_t>(i)});
      if (status.ok()) ++started;
      if (!status.ok() && status.error().code() == ErrorCode::kConflict) ++conflicts;
      for (int j = 0; j < 20; ++j) (void)simulator.GetStatus();
    });
  }
  for (auto& caller : callers) caller.join();
  EXPECT_EQ(started.load(), 1);
  EXPECT_EQ(conflicts.load(), 3);
  std::thread stopper([&] { simulator.Stop(); });
  simulator.Stop();
  stopper.join();
  EXPECT_FALSE(simulator.GetStatus().running);
}

TEST(SimulatorTest, RejectsOptionsOutOfRange) {
  SchemaDatabase db;
  pg::Pool pool(db.url(), 1);
  Simulator simulator(pool);
  auto bad = simulator.Start({.rate_per_second = 0, .duration_seconds = -1, .max_events = -2});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), ErrorCode::kValidation);
  ASSERT_EQ(bad.error().fields().size(), 3u);
  EXPECT_EQ(bad.error().fields()[0].field, "rate_per_second");
  EXPECT_EQ(bad.error().fields()[1].field, "duration_seconds");
  EXPECT_EQ(bad.error().fields()[2].field, "max_events");
  EXPECT_FALSE(simulator.Start({.rate_per_second = kMaxSimulatorRate * 2}).ok());
  EXPECT_FALSE(simulator.Start({.rate_per_second = std::nan("")}).ok());
  EXPECT_FALSE(simulator.GetStatus().running);
}

TEST(SimulatorTest, RecordsAFailedEventAndKeepsGoing) {
  SchemaDatabase db;
  db.MustGenerate(kCampus, 8);
  // Every student update now fails: the simulator reports it and goes on with the others.
  ASSERT_TRUE(db.conn()
                  .Exec("CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                        "RAISE EXCEPTION 'students are read-only today'; END $$; "
                        "CREATE TRIGGER refuse BEFORE UPDATE ON students FOR EACH ROW "
                        "EXECUTE FUNCTION refuse()")
                  .ok());
  pg::Pool pool(db.url(), 2);
  auto status = RunToEnd(
      pool, {.rate_per_second = 5000, .duration_seconds = 600, .seed = 10, .max_events = 100});
  EXPECT_GT(Kind(status, "failed"), 0);
  EXPECT_GT(status.events, 0);
  EXPECT_EQ(status.events + Kind(status, "failed"), 100);
  EXPECT_NE(status.last_error.find("read-only"), std::string::npos) << status.last_error;
  EXPECT_EQ(Kind(status, "gpa_change"), 0);
}

}  // namespace
}  // namespace migsbyu::oltp
