// Bounds in manifests, end to end: values written to a Parquet file by DuckDB, described from
// its footer, must give the bytes worked out by hand in testdata/bounds.txt.
#include "lake/iceberg/bounds.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "lake/duck.h"
#include "lake/iceberg/files.h"
#include "lake/iceberg/parquet.h"
#include "lake/iceberg/testing.h"

namespace migsbyu::iceberg {
namespace {

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string part; std::getline(in, part, sep);) {
    size_t b = part.find_first_not_of(' '), e = part.find_last_not_of(' ');
    out.push_back(b == std::string::npos ? "" : part.substr(b, e - b + 1));
  }
  return out;
}

class BoundsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Statistics must not depend on the session's time zone.
    ASSERT_TRUE(duck_.conn.Execute("SET TimeZone = 'Asia/Kolkata'").ok());
  }

  testing::ScratchDirectory dir_{"iceberg_bounds"};
  testing::DuckSession duck_;
};

TEST_F(BoundsTest, FooterStatisticsGiveTheSpecsBytes) {
  std::ifstream in(MIGSBYU_ICEBERG_TESTDATA "/bounds.txt");
  ASSERT_TRUE(in) << "testdata missing";
  int cases = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    SCOPED_TRACE(line);
    std::vector<std::string> parts = Split(line, '|');
    ASSERT_EQ(parts.size(), 5u);
    auto type = ParseTypeName(parts[0]);
    ASSERT_TRUE(type.ok());
    Schema schema{0, {Field{1, "v", *type, false, ""}}, {}};
    std::vector<std::string> values = Split(parts[1], ';');
    std::string rows;
    for (const auto& v : values) {
      rows += (rows.empty() ? "" : ", ") + std::string("(CAST(") + v + " AS " + DuckTypeOf(*type) +
              "))";
    }
    std::string uri = FileUri(dir_.path() + "/case" + std::to_string(++cases) + ".parquet");
    auto file = WriteDataFile(duck_.conn, "(VALUES " + rows + ") AS t(v)", schema, uri);
    ASSERT_TRUE(file.ok()) << file.error().ToString();
    EXPECT_EQ(file->record_count, static_cast<int64_t>(values.size()));
    EXPECT_EQ(file->value_counts.at(1), static_cast<int64_t>(values.size()));
    EXPECT_EQ(file->null_value_counts.at(1), std::stoll(parts[4]));
    auto bound = [](const std::map<int32_t, std::string>& m) {
      return m.count(1) ? HexBytes(m.at(1)) : std::string("-");
    };
    EXPECT_EQ(bound(file->lower_bounds), parts[2]);
    EXPECT_EQ(bound(file->upper_bounds), parts[3]);
  }
  EXPECT_GE(cases, 30);
}

TEST(BoundsParseTest, DuckTextForms) {
  auto ts = [](const char* text) {
    auto v = ParseDuckText(Type::Of(TypeId::kTimestampTz), text);
    return v ? std::get<int64_t>(*v) : int64_t{-777};
  };
  EXPECT_EQ(ts("1970-01-01 05:30:00+05:30"), 0);
  EXPECT_EQ(ts("1969-12-31 19:00:00-05"), 0);
  EXPECT_EQ(ts("1970-01-01 00:00:00.25+00"), 250000);
  EXPECT_EQ(ts("infinity"), -777);
  EXPECT_EQ(ts("1970-01-01 00:00:00.1234567+00"), -777);  // finer than µs
  auto dec = [](const char* text, int scale) {
    auto v = ParseDuckText(Type::Decimal(38, scale), text);
    return v ? static_cast<int64_t>(std::get<__int128>(*v)) : int64_t{-777};
  };
  EXPECT_EQ(dec("3.75", 2), 375);
  EXPECT_EQ(dec("-0.5", 2), -50);
  EXPECT_EQ(dec("12", 2), 1200);
  EXPECT_EQ(dec("1.234", 2), -777);
  EXPECT_EQ(dec("1.", 2), -777);
  EXPECT_EQ(dec("abc", 0), -777);
  EXPECT_FALSE(ParseDuckText(Type::Of(TypeId::kInt), "2147483648"));
  EXPECT_FALSE(ParseDuckText(Type::Of(TypeId::kDouble), "nan"));
  EXPECT_TRUE(ParseDuckText(Type::Of(TypeId::kDouble), "-inf"));
  EXPECT_FALSE(ParseDuckText(Type::Of(TypeId::kString), "\xC3"));
  EXPECT_FALSE(ParseDuckText(Type::Of(TypeId::kDate), "2020-13-01"));
}

TEST(BoundsParseTest, BoundsReadBackAsText) {
  struct Case {
    Type type;
    std::string text;
  };
  std::vector<Case> cases = {
      {Type::Of(TypeId::kInt), "-5"},
      {Type::Of(TypeId::kLong), "4294967296"},
      {Type::Of(TypeId::kDouble), "-2.25"},
      {Type::Decimal(9, 2), "-0.50"},
      {Type::Decimal(20, 0), "18446744073709551616"},
      {Type::Of(TypeId::kDate), "2000-01-01"},
      {Type::Of(TypeId::kDate), "0001-12-31 (BC)"},
      {Type::Of(TypeId::kTimestamp), "1969-12-31 23:59:59.999999"},
      {Type::Of(TypeId::kTimestampTz), "2026-01-31 12:00:00.25+00"},
      {Type::Of(TypeId::kString), "été"},
      {Type::Of(TypeId::kBoolean), "true"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    auto v = ParseDuckText(c.type, c.text);
    ASSERT_TRUE(v);
    auto text = BoundToText(c.type, SerializeValue(c.type, *v));
    ASSERT_TRUE(text.ok());
    EXPECT_EQ(*text, c.text);
  }
  // A long column promoted from int keeps 4-byte bounds in older files.
  EXPECT_EQ(*BoundToText(Type::Of(TypeId::kLong), std::string("\xfb\xff\xff\xff", 4)), "-5");
  EXPECT_FALSE(BoundToText(Type::Of(TypeId::kInt), "abc").ok());
}

}  // namespace
}  // namespace migsbyu::iceberg
