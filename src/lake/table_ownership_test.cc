// TableOwnership over a real table-owner LakeSink: a partition's assignment takes its table's
// lock, a revocation lets it go, and a wait for a table another member holds ends on stop.
#include "lake/table_ownership.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "lake/lock.h"
#include "lake/manifest.h"
#include "lake/testing.h"

namespace migsbyu::lake {
namespace {
namespace fs = std::filesystem;

class TableOwnershipTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() /
            (std::string("lake_table_ownership_") +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + "_" +
             std::to_string(getpid())))
               .string();
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<LakeSink> OpenOwner() {
    LakeSinkOptions options;
    options.writer.dir = dir_;
    options.writer.role = WriterRole::kTableOwner;
    auto sink = LakeSink::Open(options, nullptr);
    EXPECT_TRUE(sink.ok()) << sink.error().ToString();
    return sink.ok() ? std::move(*sink) : nullptr;
  }

  // Whether some writer holds `table`'s lock (taking it for a moment when nobody does).
  bool Held(const std::string& table) {
    auto lock =
        FileLock::TryAcquire(LakeLockPath(dir_, "table-" + table), FileLock::Mode::kExclusive);
    EXPECT_TRUE(lock.ok()) << lock.error().ToString();
    return lock.ok() && !lock->has_value();
  }

  std::string dir_;
};

TEST_F(TableOwnershipTest, AssignedPartitionsHoldTheirTablesUntilRevoked) {
  auto sink = OpenOwner();
  ASSERT_TRUE(sink);
  TableOwnership ownership(*sink, dir_, {});
  EXPECT_EQ(ownership.CatchUpToken(), 0u);  // an empty lake has no manifest yet

  ASSERT_TRUE(ownership.OnAssigned({"migsbyu.public.students", "migsbyu.public.courses"}).ok());
  EXPECT_TRUE(Held("students"));
  EXPECT_TRUE(Held("courses"));

  ASSERT_TRUE(ownership.OnRevoked({"migsbyu.public.students"}).ok());
  EXPECT_FALSE(Held("students"));
  EXPECT_TRUE(Held("courses"));

  // The catch-up token is where the lake's latest manifest stands.
  const events::TransactionInfo tx{7, Lsn(700), Lsn(708), 1700000000000000, false};
  const events::Row course = {events::Value::Text("C1"), events::Value::Text("Intro"),
                              events::Value::Integer(3), events::Value::Text("Physics")};
  ASSERT_TRUE(sink->Begin(tx).ok());
  ASSERT_TRUE(sink->Apply(testing::ChangeIn(tx, 0, testing::ContractSchema("courses"),
                                            events::Operation::kInsert, std::nullopt, course))
                  .ok());
  ASSERT_TRUE(sink->Commit(tx).ok());
  ASSERT_TRUE(sink->Flush().ok());
  EXPECT_EQ(ownership.CatchUpToken(), 700u);
  EXPECT_TRUE(ownership.OnCaughtUp({"migsbyu.public.courses"}, 700).ok());
}

TEST_F(TableOwnershipTest, AWaitForATableAnotherMemberHoldsEndsOnStop) {
  auto first = OpenOwner();
  auto second = OpenOwner();
  ASSERT_TRUE(first && second);
  TableOwnership holder(*first, dir_, {});
  ASSERT_TRUE(holder.OnAssigned({"migsbyu.public.students"}).ok());

  std::stop_source stop;
  stop.request_stop();
  TableOwnership waiter(*second, dir_, stop.get_token());
  Status waited = waiter.OnAssigned({"migsbyu.public.students"});
  ASSERT_FALSE(waited.ok());
  EXPECT_EQ(waited.error().code(), ErrorCode::kCancelled);

  // Once the holder lets go, the table is the other member's.
  ASSERT_TRUE(holder.OnRevoked({"migsbyu.public.students"}).ok());
  TableOwnership taker(*second, dir_, {});
  ASSERT_TRUE(taker.OnAssigned({"migsbyu.public.students"}).ok());
  EXPECT_TRUE(Held("students"));
}

}  // namespace
}  // namespace migsbyu::lake
