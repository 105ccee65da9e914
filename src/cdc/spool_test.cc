#include "cdc/spool.h"

#include <gtest/gtest.h>

#include <vector>

namespace migsbyu::cdc {
namespace {

TEST(SpoolTest, ReplaysInOrderSkippingRowsOfAbortedSubtransactionsButNotTheirSchemas) {
  auto spool = TransactionSpool::Create("", 7);
  ASSERT_TRUE(spool.ok()) << spool.error().ToString();
  auto& s = **spool;
  ASSERT_TRUE(s.Append(7, Lsn(1), "I-top-1").ok());
  ASSERT_TRUE(s.Append(8, Lsn(2), "R-sub-schema").ok());
  ASSERT_TRUE(s.Append(8, Lsn(3), "I-sub-row").ok());
  ASSERT_TRUE(s.Append(9, Lsn(4), std::string(100000, 'I')).ok());  // larger than any buffer
  ASSERT_TRUE(s.Append(7, Lsn(5), "I-top-2").ok());
  s.AbortSubtransaction(8);
  std::vector<std::pair<uint64_t, std::string>> seen;
  ASSERT_TRUE(s.Replay([&](Lsn lsn, std::string_view m) {
                 seen.emplace_back(lsn.value(), std::string(m));
                 return OkStatus();
               }).ok());
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0].second, "I-top-1");
  EXPECT_EQ(seen[1].second, "R-sub-schema");
  EXPECT_EQ(seen[2].second.size(), 100000u);
  EXPECT_EQ(seen[3], (std::pair<uint64_t, std::string>{5, "I-top-2"}));
}

TEST(SpoolTest, ReplayStopsAtTheFirstError) {
  auto spool = TransactionSpool::Create("", 1);
  ASSERT_TRUE(spool.ok());
  ASSERT_TRUE((*spool)->Append(1, Lsn(1), "a").ok());
  ASSERT_TRUE((*spool)->Append(1, Lsn(2), "b").ok());
  int calls = 0;
  auto st = (*spool)->Replay([&](Lsn, std::string_view) -> Status {
    ++calls;
    return Error::Internal("sink failed");
  });
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(calls, 1);
}

TEST(SpoolTest, UnwritableFolderIsAnErrorNamingIt) {
  auto spool = TransactionSpool::Create("/nonexistent/folder", 1);
  ASSERT_FALSE(spool.ok());
  EXPECT_NE(spool.error().message().find("/nonexistent/folder"), std::string::npos);
}

}  // namespace
}  // namespace migsbyu::cdc
