#include "events/change_event.h"

#include <gtest/gtest.h>

namespace migsbyu::events {

TEST(ValueToTextTest, PrintsDatesAndTimestampsAsPostgresDoes) {
  EXPECT_EQ(ValueToText(ValueType::kDate, Value::Integer(0)), "1970-01-01");
  EXPECT_EQ(ValueToText(ValueType::kDate, Value::Integer(19753)), "2024-01-31");
  EXPECT_EQ(ValueToText(ValueType::kDate, Value::Integer(-1)), "1969-12-31");
  EXPECT_EQ(ValueToText(ValueType::kTimestamp, Value::Integer(1706659200123450)),
            "2024-01-31 00:00:00.12345");
  EXPECT_EQ(ValueToText(ValueType::kTimestampTz, Value::Integer(-1)),
            "1969-12-31 23:59:59.999999+00");
}

TEST(ValueToTextTest, KeepsNumericExactAndNullEmpty) {
  EXPECT_EQ(ValueToText(ValueType::kNumeric, Value::Text("3.70")), "3.70");
  EXPECT_EQ(ValueToText(ValueType::kBool, Value::Integer(1)), "t");
  EXPECT_EQ(ValueToText(ValueType::kInt32, Value::Null()), "");
}

TEST(TableSchemaTest, FindsColumnsByName) {
  TableSchema t{1, "public", "students", {{"id"}, {"gpa"}}};
  EXPECT_EQ(t.ColumnIndex("gpa"), 1);
  EXPECT_EQ(t.ColumnIndex("nope"), -1);
}

}  // namespace migsbyu::events
