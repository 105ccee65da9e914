// CopySnapshot on the real server: rows through COPY, and the end of its transaction when the
// connection is lost at the worst moments (after the sink flushed, after a failure).
#include "cdc/snapshot.h"

#include <gtest/gtest.h>

#include <functional>
#include <vector>

#include "common/log_capture.h"
#include "pg/replication.h"
#include "support/test_database.h"

namespace migsbyu::cdc {
namespace {

// Records what it receives; `on_apply` and `on_flush` let a test act at those moments.
class HookSink : public transport::Sink {
 public:
  Status Begin(const events::TransactionInfo&) override { return OkStatus(); }
  Status Apply(const events::ChangeEvent& change) override {
    changes.push_back(change);
    return on_apply ? on_apply() : OkStatus();
  }
  Status Commit(const events::TransactionInfo& tx) override {
    committed = tx.end_lsn;
    return OkStatus();
  }
  Result<Lsn> Flush() override {
    if (on_flush) on_flush();
    return committed;
  }

  std::vector<events::ChangeEvent> changes;
  Lsn committed;
  std::function<Status()> on_apply;
  std::function<void()> on_flush;
};

class SnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto setup = pg::Connection::Open(db_.url());
    ASSERT_TRUE(setup.ok()) << setup.error().ToString();
    ASSERT_TRUE(setup
                    ->Exec("CREATE TABLE t (id int PRIMARY KEY, name text);"
                           "INSERT INTO t VALUES (1, 'tab\there'), (2, NULL), (3, 'three')")
                    .ok());
    auto repl = pg::ReplicationConnection::Open(db_.url());
    ASSERT_TRUE(repl.ok()) << repl.error().ToString();
    repl_.emplace(std::move(repl).value());
    auto slot = repl_->CreateLogicalSlot("snapshot_test", /*export_snapshot=*/true);
    ASSERT_TRUE(slot.ok()) << slot.error().ToString();
    slot_ = *slot;
    auto copier = pg::Connection::Open(db_.url());
    ASSERT_TRUE(copier.ok()) << copier.error().ToString();
    copier_.emplace(std::move(copier).value());
    auto pid = copier_->Exec("SELECT pg_backend_pid()");
    ASSERT_TRUE(pid.ok());
    copier_pid_ = std::string(pid->Get(0, 0));
  }

  Status Copy(HookSink& sink) {
    return CopySnapshot(
        *copier_, slot_.snapshot_name, {{"public", "t"}}, slot_.consistent_point,
        /*instant_us=*/1'700'000'000'000'000, sink, [](const SnapshotProgress&) {},
        std::stop_token());
  }

  // Ends the copier's session and waits until its backend is gone.
  void KillCopier() {
    auto killer = pg::Connection::Open(db_.url());
    ASSERT_TRUE(killer.ok());
    auto killed = killer->ExecParams("SELECT pg_terminate_backend($1::int, 10000)", {copier_pid_});
    ASSERT_TRUE(killed.ok()) << killed.error().ToString();
    ASSERT_EQ(killed->Get(0, 0), "t");
  }

  testing::TestDatabase db_;
  std::optional<pg::ReplicationConnection> repl_;
  pg::CreatedSlot slot_;
  std::optional<pg::Connection> copier_;
  std::string copier_pid_;
};

TEST_F(SnapshotTest, CopiesEveryRowAsOfTheSlotsSnapshot) {
  // After the slot: in its stream, not in the snapshot.
  auto writer = pg::Connection::Open(db_.url());
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE(writer->Exec("INSERT INTO t VALUES (4, 'later')").ok());
  HookSink sink;
  Status copied = Copy(sink);
  ASSERT_TRUE(copied.ok()) << copied.error().ToString();
  ASSERT_EQ(sink.changes.size(), 3u);
  EXPECT_EQ(sink.changes[0].op, events::Operation::kRead);
  EXPECT_EQ(sink.changes[0].commit_lsn, slot_.consistent_point);
  EXPECT_EQ(sink.changes[0].after->at(1).text, "tab\there");
  EXPECT_EQ(sink.changes[1].after->at(1).state, events::Value::State::kNull);
  EXPECT_EQ(sink.changes[2].position, 2u);
  EXPECT_FALSE(copier_->InTransaction());
}

TEST_F(SnapshotTest, CommitFailingAfterTheSinkFlushedIsLoggedAndTheSnapshotDone) {
  HookSink sink;
  sink.on_flush = [&] { KillCopier(); };
  LogCapture log;
  Status copied = Copy(sink);
  ASSERT_TRUE(copied.ok()) << copied.error().ToString();
  EXPECT_EQ(sink.changes.size(), 3u);
  EXPECT_NE(log.Text().find("is complete in the sink, but COMMIT of its read-only transaction "
                            "failed"),
            std::string::npos)
      << log.Text();
}

TEST_F(SnapshotTest, RollbackFailingAfterAFailureIsLoggedAndTheFirstFailureReturned) {
  HookSink sink;
  sink.on_apply = [&]() -> Status {
    KillCopier();
    return Error::Internal("sink refused the row");
  };
  LogCapture log;
  Status copied = Copy(sink);
  ASSERT_FALSE(copied.ok());
  EXPECT_EQ(copied.error().code(), ErrorCode::kInternal);
  EXPECT_EQ(copied.error().message(), "sink refused the row");
  EXPECT_EQ(sink.changes.size(), 1u);  // no row after the sink's refusal
  EXPECT_NE(log.Text().find("ROLLBACK of snapshot " + slot_.snapshot_name +
                            " after \"sink refused the row\" failed"),
            std::string::npos)
      << log.Text();
}

}  // namespace
}  // namespace migsbyu::cdc
