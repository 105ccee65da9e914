// ParseIsoDateTime and ParseDecimal over their corpora (testdata/iso8601.test and
// testdata/decimal.test, formats in their headers), and the properties the callers rely on.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "common/civil_date.h"
#include "common/decimal.h"
#include "common/iso8601.h"

namespace migsbyu {
namespace {

struct Case {
  std::string line;  // for failure messages
  bool ok = false;
  std::string text;
  std::string rest;  // after the closing bar and one space
};

// `s` with \x00 as the NUL byte and {NxD} as N times the character D.
std::string Expand(const std::string& s) {
  std::string out;
  static const std::regex kRun(R"(^\{(\d+)x(.)\})");
  for (size_t i = 0; i < s.size();) {
    std::smatch m;
    const std::string tail = s.substr(i);
    if (tail.starts_with("\\x00")) {
      out.push_back('\0');
      i += 4;
    } else if (std::regex_search(tail, m, kRun)) {
      out.append(std::stoul(m[1].str()), m[2].str()[0]);
      i += m[0].length();
    } else {
      out.push_back(s[i++]);
    }
  }
  return out;
}

std::vector<Case> ReadCorpus(const std::string& name) {
  std::ifstream in(std::string(MIGSBYU_COMMON_TESTDATA) + "/" + name);
  EXPECT_TRUE(in) << MIGSBYU_COMMON_TESTDATA << "/" << name;
  std::vector<Case> cases;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    Case c{line};
    const size_t open = line.find('|'), close = line.rfind('|');
    EXPECT_TRUE(open != std::string::npos && close > open) << "no |TEXT| in: " << line;
    if (open == std::string::npos || close <= open) continue;
    const std::string kind = line.substr(0, line.find(' '));
    EXPECT_TRUE(kind == "ok" || kind == "bad") << line;
    c.ok = kind == "ok";
    c.text = Expand(line.substr(open + 1, close - open - 1));
    c.rest = close + 2 <= line.size() ? Expand(line.substr(close + 2)) : "";
    cases.push_back(std::move(c));
  }
  return cases;
}

std::vector<std::string> Words(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// Runs `parse` over the corpus `name`: each bad line must be refused with kInvalidArgument naming
// its WHY, each ok line accepted and then checked by `check_accepted(case, value)`.
template <typename Parse, typename CheckAccepted>
void RunCorpus(const std::string& name, Parse parse, CheckAccepted check_accepted,
               size_t min_accepted, size_t min_refused) {
  size_t accepted = 0, refused = 0;
  for (const Case& c : ReadCorpus(name)) {
    auto parsed = parse(c.text);
    if (!c.ok) {
      ASSERT_FALSE(parsed.ok()) << c.line << " was accepted";
      EXPECT_EQ(parsed.error().code(), ErrorCode::kInvalidArgument) << c.line;
      EXPECT_NE(parsed.error().message().find(c.rest), std::string::npos)
          << c.line << ": " << parsed.error().message();
      ++refused;
      continue;
    }
    ASSERT_TRUE(parsed.ok()) << c.line << ": " << parsed.error().ToString();
    check_accepted(c, *parsed);
    ++accepted;
  }
  EXPECT_GE(accepted, min_accepted);
  EXPECT_GE(refused, min_refused);
}

TEST(Iso8601Test, CorpusParsesAsItsLinesSay) {
  auto check = [](const Case& c, const IsoDateTime& t) {
    const auto want = Words(c.rest);
    ASSERT_GE(want.size(), 2u) << c.line;
    if (want[0] == "date") {
      EXPECT_FALSE(t.has_time) << c.line;
      EXPECT_EQ(DaysSinceEpoch(t), std::stoll(want[1])) << c.line;
      return;
    }
    EXPECT_TRUE(t.has_time) << c.line;
    EXPECT_EQ(MicrosSinceEpoch(t), std::optional<int64_t>(std::stoll(want[1]))) << c.line;
    EXPECT_EQ(t.has_offset, want[0] == "zoned") << c.line;
    if (want[0] == "zoned") {
      ASSERT_EQ(want.size(), 3u) << c.line;
      EXPECT_EQ(t.offset_seconds, std::stoi(want[2])) << c.line;
    }
  };
  RunCorpus(
      "iso8601.test", [](std::string_view text) { return ParseIsoDateTime(text); }, check, 25, 50);
}

TEST(Iso8601Test, EveryDayOfFourHundredYearsAndNoOtherIsADate) {
  // The Gregorian cycle: each valid date parses to the day after the one before it, and day 0 or
  // the day after the month's last is refused.
  int64_t expected = DaysFromCivil(1999, 1, 1);
  for (int64_t y = 1999; y < 2399; ++y) {
    for (unsigned m = 1; m <= 12; ++m) {
      char text[16];
      for (unsigned d = 1; d <= DaysInMonth(y, m); ++d) {
        std::snprintf(text, sizeof text, "%04lld-%02u-%02u", static_cast<long long>(y), m, d);
        auto parsed = ParseIsoDateTime(text);
        ASSERT_TRUE(parsed.ok()) << text;
        ASSERT_EQ(DaysSinceEpoch(*parsed), expected++) << text;
      }
      std::snprintf(text, sizeof text, "%04lld-%02u-%02u", static_cast<long long>(y), m,
                    DaysInMonth(y, m) + 1);
      ASSERT_FALSE(ParseIsoDateTime(text).ok()) << text;
    }
  }
  EXPECT_EQ(expected - DaysFromCivil(1999, 1, 1), 146097);  // days in 400 years
}

TEST(Iso8601Test, BeforeChristCountsYearsBackFromOneBc) {
  // PostgreSQL's "0001-02-29 BC": 1 BC is the proleptic year 0, a leap year.
  auto leap = ParseIsoDateTime("0001-02-29", /*before_christ=*/true);
  ASSERT_TRUE(leap.ok()) << leap.error().ToString();
  EXPECT_EQ(leap->year, 0);
  EXPECT_EQ(DaysSinceEpoch(*leap), DaysFromCivil(0, 2, 29));
  auto ides = ParseIsoDateTime("0044-03-15 12:00:00+00", true);
  ASSERT_TRUE(ides.ok());
  EXPECT_EQ(ides->year, -43);
  EXPECT_FALSE(ParseIsoDateTime("0002-02-29", true).ok());  // 2 BC is the year -1
  auto zero = ParseIsoDateTime("0000-01-01", true);
  ASSERT_FALSE(zero.ok());
  EXPECT_NE(zero.error().message().find("no year 0 BC"), std::string::npos);
}

TEST(Iso8601Test, MicrosOverflowIsNotAValue) {
  auto far = ParseIsoDateTime("999999-12-31T23:59:59Z");
  ASSERT_TRUE(far.ok());
  EXPECT_EQ(MicrosSinceEpoch(*far), std::nullopt);
}

TEST(DecimalTest, CorpusParsesAsItsLinesSay) {
  auto check = [](const Case& c, const Decimal& d) {
    const auto want = Words(c.rest);
    ASSERT_EQ(want.size(), 3u) << c.line;
    EXPECT_EQ(d.ToText(), want[0]) << c.line;
    EXPECT_EQ(d.Precision(), std::stoi(want[1])) << c.line;
    EXPECT_EQ(d.scale, std::stoi(want[2])) << c.line;
    // The canonical text is a fixed point.
    auto again = ParseDecimal(d.ToText());
    ASSERT_TRUE(again.ok()) << c.line;
    EXPECT_EQ(again->ToText(), d.ToText()) << c.line;
  };
  RunCorpus(
      "decimal.test", [](std::string_view text) { return ParseDecimal(text); }, check, 15, 25);
}

TEST(DecimalTest, TighterBoundsRefuseWhatTheDefaultsAccept) {
  const DecimalBounds numeric_10_2{10, 2};
  EXPECT_TRUE(ParseDecimal("12345678.90", numeric_10_2).ok());
  EXPECT_TRUE(ParseDecimal("-0.5", numeric_10_2).ok());
  auto scale = ParseDecimal("1.234", numeric_10_2);
  ASSERT_FALSE(scale.ok());
  EXPECT_NE(scale.error().message().find("more than 2 digits after the point"), std::string::npos);
  auto precision = ParseDecimal("123456789.01", numeric_10_2);
  ASSERT_FALSE(precision.ok());
  EXPECT_NE(precision.error().message().find("more than 10 digits"), std::string::npos);
}

TEST(DecimalTest, ScaledInt128RescalesWithoutLosingDigits) {
  auto at = [](std::string_view text, int scale) {
    auto d = ParseDecimal(text);
    EXPECT_TRUE(d.ok()) << text;
    return ScaledInt128(*d, scale);
  };
  EXPECT_EQ(at("12.5", 2), __int128{1250});
  EXPECT_EQ(at("-12.5", 1), __int128{-125});
  EXPECT_EQ(at("3.70", 1), __int128{37});
  EXPECT_EQ(at("0.000", 0), __int128{0});
  EXPECT_EQ(at("3.75", 1), std::nullopt);  // a digit would be lost
  EXPECT_EQ(at("0.05", 0), std::nullopt);
  const std::string nines(38, '9');
  __int128 max = 0;
  for (int i = 0; i < 38; ++i) max = max * 10 + 9;
  EXPECT_EQ(at(nines, 0), max);
  EXPECT_EQ(at("-" + nines, 0), -max);
  EXPECT_EQ(at(nines, 1), std::nullopt);  // 39 digits
  EXPECT_EQ(at("1" + std::string(38, '0'), 0), std::nullopt);
}

}  // namespace
}  // namespace migsbyu
