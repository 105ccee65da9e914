#include "common/lsn.h"

#include <gtest/gtest.h>

namespace migsbyu {

TEST(LsnTest, ParsesAndPrintsPostgresForm) {
  auto lsn = Lsn::Parse("16/B374D848");
  ASSERT_TRUE(lsn.has_value());
  EXPECT_EQ(lsn->value(), 0x16B374D848ull);
  EXPECT_EQ(lsn->ToString(), "16/B374D848");
  EXPECT_EQ(Lsn(0).ToString(), "0/0");
}

TEST(LsnTest, RejectsMalformedText) {
  for (const char* bad : {"", "/", "1/", "/1", "G/1", "1/1x", "1-1", "123456789/0"}) {
    EXPECT_FALSE(Lsn::Parse(bad).has_value()) << bad;
  }
}

TEST(LsnTest, OrdersByPosition) { EXPECT_LT(*Lsn::Parse("0/FFFFFFFF"), *Lsn::Parse("1/0")); }

}  // namespace migsbyu
