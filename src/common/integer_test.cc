#include "common/integer.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace migsbyu {
namespace {

TEST(ParseIntegerTest, TakesDigitsWithinTheTypesRange) {
  EXPECT_EQ(ParseInteger<uint32_t>("0"), 0u);
  EXPECT_EQ(ParseInteger<uint32_t>("4294967295"), 4294967295u);
  EXPECT_EQ(ParseInteger<int32_t>("-1"), -1);
  EXPECT_EQ(ParseInteger<int64_t>("-9223372036854775808"), INT64_MIN);
}

TEST(ParseIntegerTest, RefusesAnythingElseWithoutThrowing) {
  // What std::stoul would throw on, or accept in part.
  for (const char* text : {"", "-", "abc", "12abc", " 12", "12 ", "+12", "0x1f", "1.5"}) {
    EXPECT_EQ(ParseInteger<int32_t>(text), std::nullopt) << "'" << text << "'";
  }
  EXPECT_EQ(ParseInteger<uint32_t>("4294967296"), std::nullopt);
  EXPECT_EQ(ParseInteger<uint32_t>("-1"), std::nullopt);
  EXPECT_EQ(ParseInteger<int32_t>("2147483648"), std::nullopt);
}

}  // namespace
}  // namespace migsbyu
