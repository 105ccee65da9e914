#include "cdc/value_codec.h"

#include <gtest/gtest.h>

#include "common/civil_date.h"

namespace migsbyu::cdc {
namespace {

using events::Value;
using events::ValueType;

int64_t Parsed(ValueType type, std::string_view text) {
  auto v = ParseTextValue(type, text);
  EXPECT_TRUE(v.ok()) << text;
  return v.ok() ? v->integer : 0;
}

TEST(ValueCodecTest, DatesAreDaysSinceEpoch) {
  EXPECT_EQ(Parsed(ValueType::kDate, "1970-01-01"), 0);
  EXPECT_EQ(Parsed(ValueType::kDate, "2024-02-29"), 19782);
  EXPECT_EQ(Parsed(ValueType::kDate, "1969-12-31"), -1);
  EXPECT_EQ(Parsed(ValueType::kDate, "0001-01-01 BC"), DaysFromCivil(0, 1, 1));
  EXPECT_EQ(Parsed(ValueType::kDate, "0001-02-29 BC"), DaysFromCivil(0, 2, 29));  // a leap year
  EXPECT_EQ(Parsed(ValueType::kTimestampTz, "0044-03-15 12:00:00+00 BC"),
            (DaysFromCivil(-43, 3, 15) * 86400 + 12 * 3600) * 1000000);
}

TEST(ValueCodecTest, TimestampsAreMicrosecondsSinceEpoch) {
  EXPECT_EQ(Parsed(ValueType::kTimestamp, "1970-01-01 00:00:01.5"), 1500000);
  EXPECT_EQ(Parsed(ValueType::kTimestampTz, "1970-01-01 01:00:00+01"), 0);
  EXPECT_EQ(Parsed(ValueType::kTimestampTz, "2024-01-31 12:34:56.123456+00"), 1706704496123456);
  EXPECT_EQ(Parsed(ValueType::kTimestampTz, "1970-01-01 00:00:00-05:30"), 19800000000);
}

TEST(ValueCodecTest, TextFormRoundTripsThroughValueToText) {
  for (auto [type, text] : std::vector<std::pair<ValueType, std::string>>{
           {ValueType::kDate, "2024-01-31"},
           {ValueType::kTimestamp, "1999-12-31 23:59:59.000001"},
           {ValueType::kTimestampTz, "2024-01-31 12:00:00+00"},
           {ValueType::kNumeric, "3.75"},
           {ValueType::kInt64, "-9223372036854775808"},
           {ValueType::kBool, "t"}}) {
    auto v = ParseTextValue(type, text);
    ASSERT_TRUE(v.ok()) << text;
    EXPECT_EQ(events::ValueToText(type, *v), text);
  }
}

TEST(ValueCodecTest, MalformedTextIsAnErrorNamingIt) {
  for (auto [type, text] : std::vector<std::pair<ValueType, std::string>>{
           {ValueType::kDate, "2024-13-01"},
           {ValueType::kDate, "2024-02-31"},
           {ValueType::kDate, "0002-02-29 BC"},
           {ValueType::kDate, "2024-01-31 00:00:00"},
           {ValueType::kTimestamp, "2023-02-29 00:00:00"},
           {ValueType::kTimestamp, "2024-01-31 12:00:00+00"},
           {ValueType::kTimestamp, "2024-01-31"},
           {ValueType::kInt16, "40000"},
           {ValueType::kInt32, "12x"},
           {ValueType::kBool, "yes"},
           {ValueType::kTimestampTz, "2024-01-31 12:00:00"},
           {ValueType::kFloat64, ""}}) {
    auto v = ParseTextValue(type, text);
    ASSERT_FALSE(v.ok()) << text;
    EXPECT_NE(v.error().message().find(text), std::string::npos);
  }
}

}  // namespace
}  // namespace migsbyu::cdc
