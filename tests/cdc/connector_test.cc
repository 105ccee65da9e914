// The connector end to end through the file sink, on the real server: every operation and
// column type, the snapshot against concurrent writers, schema changes and streamed
// transactions with aborted subtransactions.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "cdc_test_support.h"
#include "oltp/migrations.h"
#include "support/test_database.h"

namespace migsbyu::cdc {
namespace {

using namespace std::chrono_literals;
using testing::Connect;
using testing::CreateCapturedTable;
using testing::Exec;
using testing::InProcessConnector;
using testing::PollUntil;
using testing::ReadCommitted;
using testing::SetDecodingWorkMem;
using testing::WaitUntilStreaming;

class ConnectorTest : public ::testing::Test {
 protected:
  ConnectorOptions Options(std::vector<std::string> tables) {
    ConnectorOptions o;
    o.database_url = db_.url();
    o.slot_name = db_.name();  // slots are per cluster
    o.tables = std::move(tables);
    o.status_interval = 50ms;
    o.spool_dir = dir_.path();
    return o;
  }
  std::string File() { return dir_.path() + "/changes.jsonl"; }

  // Waits until the file holds `n` committed changes; returns them.
  std::vector<nlohmann::json> WaitForChanges(size_t n) {
    std::vector<nlohmann::json> changes;
    bool ok = PollUntil(
        [&] {
          changes = ReadCommitted(File()).changes;
          return changes.size() >= n;
        },
        120s);
    EXPECT_TRUE(ok) << "only " << changes.size() << " of " << n << " changes arrived";
    return changes;
  }

  ::migsbyu::testing::TestDatabase db_{"cdc"};
  testing::TempDir dir_;
};

TEST_F(ConnectorTest, EveryOperationAndColumnTypeReachesTheFileSinkTyped) {
  auto conn = Connect(db_.url());
  CreateCapturedTable(conn, "every_type",
                      "id int PRIMARY KEY, t text, v varchar(20), c char(3), i2 int2, i8 int8, "
                      "n numeric(7,3), d date, ts timestamp, tz timestamptz, b bool, f float8, "
                      "big text");
  Exec(conn, "INSERT INTO every_type (id, t) VALUES (0, 'from the snapshot')");
  InProcessConnector connector(Options({"every_type"}), File());
  WaitForChanges(1);
  Exec(conn,
       "INSERT INTO every_type VALUES (1, 'tab\there \"q\" é', 'vc', 'ab', -32768, "
       "9223372036854775807, -1234.567, '2024-02-29', '2024-01-31 12:34:56.789', "
       "'2024-01-31 12:34:56.5+02', true, 0.1, "
       "(SELECT string_agg(md5(i::text), '') FROM generate_series(1, 500) i))");
  Exec(conn, "INSERT INTO every_type (id) VALUES (2)");
  Exec(conn, "UPDATE every_type SET t = 'changed' WHERE id = 1");  // big stays in TOAST
  Exec(conn, "DELETE FROM every_type WHERE id = 2");
  Exec(conn, "TRUNCATE every_type");
  auto changes = WaitForChanges(6);
  ASSERT_EQ(changes.size(), 6u);

  EXPECT_EQ(changes[0]["op"], "r");
  EXPECT_EQ(changes[0]["after"]["t"], "from the snapshot");

  const auto& ins = changes[1];
  EXPECT_EQ(ins["op"], "c");
  EXPECT_EQ(ins["table"], "every_type");
  EXPECT_TRUE(ins["before"].is_null());
  const auto& a = ins["after"];
  EXPECT_EQ(a["id"], 1);
  EXPECT_EQ(a["t"], "tab\there \"q\" é");
  EXPECT_EQ(a["v"], "vc");
  EXPECT_EQ(a["c"], "ab ");
  EXPECT_EQ(a["i2"], -32768);
  EXPECT_EQ(a["i8"], 9223372036854775807LL);
  EXPECT_EQ(a["n"], "-1234.567");
  EXPECT_EQ(a["d"], "2024-02-29");
  EXPECT_EQ(a["ts"], "2024-01-31 12:34:56.789");
  EXPECT_EQ(a["tz"], "2024-01-31 10:34:56.5+00");
  EXPECT_EQ(a["b"], true);
  EXPECT_DOUBLE_EQ(a["f"].get<double>(), 0.1);
  ASSERT_TRUE(a["big"].is_string());
  EXPECT_EQ(a["big"].get<std::string>().size(), 16000u);

  EXPECT_TRUE(changes[2]["after"]["t"].is_null());
  EXPECT_TRUE(changes[2]["after"]["d"].is_null());

  const auto& upd = changes[3];
  EXPECT_EQ(upd["op"], "u");
  EXPECT_EQ(upd["before"]["t"], "tab\there \"q\" é");
  EXPECT_EQ(upd["after"]["t"], "changed");
  EXPECT_EQ(upd["after"]["big"], a["big"]) << "unchanged TOAST value filled from the old row";

  EXPECT_EQ(changes[4]["op"], "d");
  EXPECT_EQ(changes[4]["before"]["id"], 2);
  EXPECT_TRUE(changes[4]["after"].is_null());
  EXPECT_EQ(changes[5]["op"], "t");

  // Positions, LSNs and commit order.
  auto commits = ReadCommitted(File()).commits;
  ASSERT_EQ(commits.size(), 6u);
  EXPECT_EQ(commits[0]["snapshot"], true);
  for (size_t i = 1; i < commits.size(); ++i) {
    EXPECT_LT(*Lsn::Parse(commits[i - 1]["end_lsn"].get<std::string>()),
              *Lsn::Parse(commits[i]["end_lsn"].get<std::string>()));
  }
  for (size_t i = 1; i < changes.size(); ++i) {
    EXPECT_EQ(changes[i]["position"], 0);
    EXPECT_GT(changes[i]["commit_time_us"].get<int64_t>(), 1700000000000000);
  }
  auto m = connector.GetMetrics();
  EXPECT_EQ(m.events_total, 6u);
  EXPECT_EQ(m.state, ConnectorState::kStreaming);
  EXPECT_TRUE(connector.Stop().ok());
}

TEST_F(ConnectorTest, SnapshotWithConcurrentWritesHoldsEveryRowExactlyOnce) {
  auto conn = Connect(db_.url());
  CreateCapturedTable(conn, "rows", "id int PRIMARY KEY, v text");
  Exec(conn, "INSERT INTO rows SELECT i, md5(i::text) FROM generate_series(1, 50000) i");
  std::atomic<bool> stop_writer{false};
  std::atomic<int> last_written{50000};
  std::jthread writer([&] {
    auto w = Connect(db_.url());
    for (int id = 50001; !stop_writer || id <= 52000; ++id) {
      auto r = w.ExecParams("INSERT INTO rows VALUES ($1, 'live')", {std::to_string(id)});
      ASSERT_TRUE(r.ok()) << r.error().ToString();
      // And touch an old row, which the snapshot may or may not have seen.
      auto u =
          w.ExecParams("UPDATE rows SET v = 'updated' WHERE id = $1", {std::to_string(id - 50000)});
      ASSERT_TRUE(u.ok());
      last_written = id;
    }
  });
  InProcessConnector connector(Options({"rows"}), File());
  ASSERT_TRUE(WaitUntilStreaming(connector, 120s));
  stop_writer = true;
  writer.join();
  int n = last_written;
  // Writes before the slot existed show only in the snapshot, so wait for a final marker row.
  Exec(conn, "INSERT INTO rows VALUES (0, 'end')");
  std::vector<nlohmann::json> changes;
  ASSERT_TRUE(PollUntil(
      [&] {
        changes = ReadCommitted(File()).changes;
        return !changes.empty() && changes.back()["after"]["id"] == 0;
      },
      120s));
  ++n;
  std::map<int, int> seen;           // id → times it appeared as a row (read or insert)
  std::map<int, std::string> value;  // id → last value, applying the changes in order
  for (const auto& c : changes) {
    int id = c["after"]["id"];
    if (c["op"] == "r" || c["op"] == "c") ++seen[id];
    value[id] = c["after"]["v"];
  }
  ASSERT_EQ(seen.size(), static_cast<size_t>(n));
  for (auto [id, times] : seen) ASSERT_EQ(times, 1) << "row " << id;
  auto table = conn.Exec("SELECT id, v FROM rows");
  ASSERT_TRUE(table.ok());
  for (int i = 0; i < table->rows(); ++i) {
    int id = std::stoi(std::string(table->Get(i, 0)));
    ASSERT_EQ(value[id], table->Get(i, 1)) << "row " << id;
  }
  auto m = connector.GetMetrics();
  EXPECT_EQ(m.snapshot_tables_done, 1u);
  EXPECT_GE(m.snapshot_rows, 50000u);
}

TEST_F(ConnectorTest, SchemaChangeMidStreamShowsInLaterEvents) {
  auto conn = Connect(db_.url());
  CreateCapturedTable(conn, "evolving", "id int PRIMARY KEY, a int, b text");
  InProcessConnector connector(Options({"evolving"}), File());
  WaitForChanges(0);
  ASSERT_TRUE(PollUntil([&] { return ReadCommitted(File()).commits.size() == 1; }, 60s));
  Exec(conn, "INSERT INTO evolving VALUES (1, 10, 'x')");
  Exec(conn, "ALTER TABLE evolving ADD COLUMN c date");
  Exec(conn, "INSERT INTO evolving VALUES (2, 20, 'y', '2024-05-01')");
  Exec(conn, "ALTER TABLE evolving DROP COLUMN b");
  Exec(conn, "INSERT INTO evolving VALUES (3, 30, '2024-05-02')");
  Exec(conn, "ALTER TABLE evolving ALTER COLUMN a TYPE text USING a::text");
  Exec(conn, "UPDATE evolving SET a = 'thirty' WHERE id = 3");
  auto changes = WaitForChanges(4);
  ASSERT_EQ(changes.size(), 4u);
  EXPECT_EQ(changes[0]["after"], (nlohmann::json{{"id", 1}, {"a", 10}, {"b", "x"}}));
  EXPECT_EQ(changes[1]["after"],
            (nlohmann::json{{"id", 2}, {"a", 20}, {"b", "y"}, {"c", "2024-05-01"}}));
  EXPECT_EQ(changes[2]["after"], (nlohmann::json{{"id", 3}, {"a", 30}, {"c", "2024-05-02"}}));
  EXPECT_EQ(changes[3]["before"]["a"], "30");
  EXPECT_EQ(changes[3]["after"]["a"], "thirty");
}

TEST_F(ConnectorTest, StreamedTransactionsReplayOnCommitAndVanishOnAbort) {
  auto conn = Connect(db_.url());
  // A tiny decoding budget makes the server stream every sizeable transaction (protocol 2).
  SetDecodingWorkMem(conn, db_.name(), "64kB");
  CreateCapturedTable(conn, "big", "id int PRIMARY KEY, tag text");
  InProcessConnector connector(Options({"big"}), File());
  ASSERT_TRUE(WaitUntilStreaming(connector));
  Exec(conn,
       "BEGIN;"
       "INSERT INTO big SELECT i, 'kept' FROM generate_series(1, 20000) i;"
       "SAVEPOINT s;"
       "INSERT INTO big SELECT i, 'rolled back' FROM generate_series(20001, 40000) i;"
       "ROLLBACK TO SAVEPOINT s;"
       "INSERT INTO big SELECT i, 'kept' FROM generate_series(40001, 60000) i;"
       "COMMIT");
  Exec(conn,
       "BEGIN; INSERT INTO big SELECT i, 'aborted' FROM generate_series(60001, 90000) i;"
       "ROLLBACK");
  Exec(conn, "INSERT INTO big VALUES (0, 'after')");
  auto changes = WaitForChanges(40001);
  ASSERT_EQ(changes.size(), 40001u);
  std::set<int> ids;
  for (size_t i = 0; i < 40000; ++i) {
    ASSERT_EQ(changes[i]["after"]["tag"], "kept");
    ASSERT_EQ(changes[i]["position"], i);
    ids.insert(changes[i]["after"]["id"].get<int>());
  }
  EXPECT_EQ(ids.size(), 40000u);
  EXPECT_EQ(*ids.begin(), 1);
  EXPECT_EQ(*ids.rbegin(), 60000);
  EXPECT_EQ(changes[40000]["after"]["tag"], "after");
}

TEST_F(ConnectorTest, ProtocolOneDeliversLargeTransactionsWholeAndSkipsAbortedOnes) {
  auto conn = Connect(db_.url());
  SetDecodingWorkMem(conn, db_.name(), "64kB");  // the server spills to its disk
  CreateCapturedTable(conn, "v1", "id int PRIMARY KEY, tag text");
  ConnectorOptions o = Options({"v1"});
  o.protocol_version = 1;
  InProcessConnector connector(o, File());
  ASSERT_TRUE(WaitUntilStreaming(connector));
  Exec(conn,
       "BEGIN; INSERT INTO v1 SELECT i, 'kept' FROM generate_series(1, 10000) i;"
       "SAVEPOINT s; INSERT INTO v1 SELECT i, 'gone' FROM generate_series(10001, 20000) i;"
       "ROLLBACK TO SAVEPOINT s; COMMIT");
  Exec(conn,
       "BEGIN; INSERT INTO v1 SELECT i, 'gone' FROM generate_series(20001, 30000) i;"
       "ROLLBACK");
  Exec(conn, "DELETE FROM v1 WHERE id <= 10");
  auto changes = WaitForChanges(10010);
  ASSERT_EQ(changes.size(), 10010u);
  for (size_t i = 0; i < 10000; ++i) ASSERT_EQ(changes[i]["after"]["tag"], "kept");
  for (size_t i = 10000; i < 10010; ++i) ASSERT_EQ(changes[i]["op"], "d");
  EXPECT_EQ(ReadCommitted(File()).commits.size(), 3u);  // snapshot, insert, delete
}

TEST_F(ConnectorTest, SlotAdvancesWhileTheCapturedTablesAreIdle) {
  auto conn = Connect(db_.url());
  CreateCapturedTable(conn, "captured", "id int PRIMARY KEY");
  Exec(conn, "CREATE TABLE elsewhere (id int)");
  InProcessConnector connector(Options({"captured"}), File());
  ASSERT_TRUE(WaitUntilStreaming(connector));
  // WAL that no captured table is in.
  Exec(conn, "INSERT INTO elsewhere SELECT generate_series(1, 50000)");
  auto end = conn.Exec("SELECT pg_current_wal_lsn()");
  ASSERT_TRUE(end.ok());
  Lsn target = *Lsn::Parse(end->Get(0, 0));
  Lsn confirmed;
  EXPECT_TRUE(PollUntil(
      [&] {
        auto r = conn.ExecParams(
            "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = $1",
            {db_.name()});
        if (!r.ok() || r->rows() != 1 || r->IsNull(0, 0)) return false;
        confirmed = *Lsn::Parse(r->Get(0, 0));
        return confirmed >= target;
      },
      60s))
      << "confirmed " << confirmed.ToString() << ", WAL at " << target.ToString();
  EXPECT_EQ(ReadCommitted(File()).changes.size(), 0u);
  EXPECT_GE(connector.GetMetrics().last_flushed_lsn, target);
}

// The SQL of a transaction stamped the way MigsbyU's writers stamp it (oltp/actor_stamp.h).
std::string Stamp(const std::string& payload) {
  return "SELECT pg_logical_emit_message(true, 'migsbyu.actor', '" + payload + "');";
}

// Who made each change, as the file sink wrote it: "user/origin", user "-" when null.
std::vector<std::string> Actors(const std::vector<nlohmann::json>& changes) {
  std::vector<std::string> out;
  for (const auto& c : changes) {
    out.push_back(
        (c["changed_by"].is_null() ? std::string("-") : c["changed_by"].get<std::string>()) + "/" +
        c["origin"].get<std::string>());
  }
  return out;
}

class ActorTest : public ConnectorTest, public ::testing::WithParamInterface<int> {};

TEST_P(ActorTest, EachChangeCarriesTheActorBeforeItInItsTransactionAndNoOther) {
  auto conn = Connect(db_.url());
  CreateCapturedTable(conn, "t", "id int PRIMARY KEY, tag text");
  Exec(conn, "INSERT INTO t VALUES (0, 'from the snapshot')");
  ConnectorOptions o = Options({"t"});
  o.protocol_version = GetParam();
  InProcessConnector connector(o, File());
  WaitForChanges(1);
  // The portal's create: the message in a WITH clause of the one statement.
  Exec(conn,
       "WITH migsbyu_actor AS MATERIALIZED (SELECT pg_logical_emit_message(true, "
       "'migsbyu.actor', '{\"user\":\"registrar1\",\"origin\":\"portal\"}'::text)) "
       "INSERT INTO t (id, tag) SELECT 1, 'portal' FROM migsbyu_actor");
  // psql: no message.
  Exec(conn, "INSERT INTO t VALUES (2, 'psql')");
  // Each message names who made the changes after it; the first change precedes any message.
  Exec(conn, "BEGIN; UPDATE t SET tag = 'before any message' WHERE id = 2;" +
                 Stamp(R"({"user":"simulator","origin":"simulator"})") +
                 "UPDATE t SET tag = 'simulated' WHERE id = 1;" +
                 Stamp(R"({"user":null,"origin":"cli"})") + "DELETE FROM t WHERE id = 2; COMMIT");
  // A rolled-back write takes its actor with it: the next transaction is psql's.
  Exec(conn, "BEGIN;" + Stamp(R"({"user":"mallory","origin":"portal"})") +
                 "INSERT INTO t VALUES (3, 'rolled back'); ROLLBACK");
  Exec(conn, "INSERT INTO t VALUES (4, 'psql again')");
  // Not an actor: a non-transactional message, another prefix, a payload that does not parse.
  Exec(conn,
       "SELECT pg_logical_emit_message(false, 'migsbyu.actor', "
       "'{\"user\":\"mallory\",\"origin\":\"portal\"}')");
  Exec(conn,
       "BEGIN; SELECT pg_logical_emit_message(true, 'other.app', "
       "'{\"user\":\"mallory\",\"origin\":\"portal\"}'); INSERT INTO t VALUES (5, 'x');"
       "COMMIT");
  Exec(conn, "BEGIN;" + Stamp(R"({"user":"mallory"})") + "INSERT INTO t VALUES (6, 'x'); COMMIT");
  // A stamped write that changed nothing: a transaction of one message, which the sink never
  // sees.
  Exec(conn, "BEGIN;" + Stamp(R"({"user":"registrar1","origin":"portal"})") +
                 "DELETE FROM t WHERE id = 99; COMMIT");
  Exec(conn, "INSERT INTO t VALUES (7, 'last')");
  auto changes = WaitForChanges(10);
  ASSERT_EQ(changes.size(), 10u);
  EXPECT_EQ(Actors(changes),
            (std::vector<std::string>{"-/snapshot", "registrar1/portal", "-/database", "-/database",
                                      "simulator/simulator", "-/cli", "-/database", "-/database",
                                      "-/database", "-/database"}));
  EXPECT_EQ(changes[9]["after"]["tag"], "last");
  // The snapshot and the 7 transactions that changed t: the message-only one is not among them.
  EXPECT_EQ(ReadCommitted(File()).commits.size(), 8u);
}

INSTANTIATE_TEST_SUITE_P(Protocols, ActorTest, ::testing::Values(1, 2),
                         [](const auto& info) { return "Protocol" + std::to_string(info.param); });

TEST_F(ConnectorTest, AStreamedTransactionCarriesItsActorToEveryChange) {
  auto conn = Connect(db_.url());
  SetDecodingWorkMem(conn, db_.name(), "64kB");
  CreateCapturedTable(conn, "big", "id int PRIMARY KEY, tag text");
  InProcessConnector connector(Options({"big"}), File());
  ASSERT_TRUE(WaitUntilStreaming(connector));
  Exec(conn, "BEGIN;" + Stamp(R"({"user":"registrar1","origin":"portal"})") +
                 "INSERT INTO big SELECT i, 'kept' FROM generate_series(1, 20000) i; COMMIT");
  Exec(conn, "BEGIN;" + Stamp(R"({"user":"mallory","origin":"portal"})") +
                 "INSERT INTO big SELECT i, 'aborted' FROM generate_series(20001, 40000) i;"
                 "ROLLBACK");
  Exec(conn, "INSERT INTO big VALUES (0, 'after')");
  auto changes = WaitForChanges(20001);
  ASSERT_EQ(changes.size(), 20001u);
  for (size_t i = 0; i < 20000; ++i) {
    ASSERT_EQ(changes[i]["changed_by"], "registrar1") << i;
    ASSERT_EQ(changes[i]["origin"], "portal") << i;
  }
  EXPECT_TRUE(changes[20000]["changed_by"].is_null());
  EXPECT_EQ(changes[20000]["origin"], "database");
}

TEST_F(ConnectorTest, CapturesThePortalTablesOfTheMigratedSchema) {
  auto conn = Connect(db_.url());
  ASSERT_TRUE(oltp::ApplyMigrations(conn).ok());
  ConnectorOptions o = Options({});
  o.tables = ConnectorOptions{}.tables;  // the default: the five portal tables
  InProcessConnector connector(o, File());
  ASSERT_TRUE(PollUntil([&] { return ReadCommitted(File()).commits.size() == 1; }, 60s));
  Exec(conn,
       "INSERT INTO students VALUES ('S1', 'Ada', 'Lovelace', 'F', 'London', '1815-12-10', "
       "'Mathematics', 2, 3.95, 'Full-time');"
       "INSERT INTO courses VALUES ('C1', 'Analysis', 4, 'Mathematics');"
       "INSERT INTO professors VALUES ('P1', 'Dr', 'Charles', 'Babbage', 'M', 'London', "
       "'Mathematics', '1791-12-26', 100000);"
       "INSERT INTO takes VALUES ('S1', 'C1', 'Fall 2024');"
       "INSERT INTO teaches VALUES ('P1', 'C1', 'Fall 2024');"
       "UPDATE students SET gpa = 4.00 WHERE id = 'S1'");
  auto changes = WaitForChanges(6);
  ASSERT_EQ(changes.size(), 6u);
  EXPECT_EQ(changes[0]["table"], "students");
  EXPECT_EQ(changes[0]["after"]["gpa"], "3.95");
  EXPECT_EQ(changes[0]["after"]["date_of_birth"], "1815-12-10");
  EXPECT_EQ(changes[0]["after"]["year_of_study"], 2);
  EXPECT_EQ(changes[3]["table"], "takes");
  EXPECT_EQ(changes[4]["table"], "teaches");
  EXPECT_EQ(changes[5]["after"]["gpa"], "4.00");
}

}  // namespace
}  // namespace migsbyu::cdc
