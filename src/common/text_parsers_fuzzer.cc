// libFuzzer target for ParseIsoDateTime and ParseDecimal (the fuzz configuration: make fuzz).
//
// Input: any bytes, given to both parsers. Beyond not crashing (the sanitizers are on), each
// keeps its contract: a refusal is kInvalidArgument with a message; an accepted date-time has
// every field in range, its day exists, its days since the epoch give back its date, and its
// canonical text parses to the same value; an accepted decimal is within its bounds, its digits
// are canonical and its text parses to itself.
//
// Seeds (common/fuzzing.h; testdata: src/common/testdata): the TEXT of each case of iso8601.test
// and decimal.test, one seed each.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/civil_date.h"
#include "common/decimal.h"
#include "common/fuzzing.h"
#include "common/iso8601.h"

namespace {

using namespace migsbyu;

using fuzzing::Check;

void WriteSeeds(const std::filesystem::path& testdata, fuzzing::Seeds& seeds) {
  for (const char* name : {"iso8601.test", "decimal.test"}) {
    std::ifstream in(testdata / name);
    for (std::string line; std::getline(in, line);) {
      const size_t open = line.find('|'), close = line.rfind('|');
      if (line.empty() || line[0] == '#' || open == std::string::npos || close <= open) continue;
      seeds.Add(std::string_view(line).substr(open + 1, close - open - 1));
    }
  }
}

void CheckRefusal(const Error& e) {
  Check(e.code() == ErrorCode::kInvalidArgument);
  Check(!e.message().empty());
}

void CheckDateTime(std::string_view text) {
  auto parsed = ParseIsoDateTime(text);
  if (!parsed.ok()) return CheckRefusal(parsed.error());
  const IsoDateTime& t = *parsed;
  Check(t.year >= 0 && t.year <= 999999);
  Check(t.month >= 1 && t.month <= 12 && t.day >= 1 && t.day <= DaysInMonth(t.year, t.month));
  Check(t.hour <= 23 && t.minute <= 59 && t.second <= 59 && t.micros <= 999999);
  Check(t.offset_seconds > -86400 && t.offset_seconds < 86400);
  Check(t.has_time || (!t.has_offset && t.hour == 0 && t.micros == 0));
  int64_t year;
  unsigned month, day;
  CivilFromDays(DaysSinceEpoch(t), &year, &month, &day);
  Check(year == t.year && month == t.month && day == t.day);
  // The canonical text (every field written) reads back the same.
  const int32_t off = t.offset_seconds < 0 ? -t.offset_seconds : t.offset_seconds;
  char canonical[64];
  std::snprintf(canonical, sizeof canonical, "%04lld-%02u-%02uT%02u:%02u:%02u.%06u%c%02d:%02d:%02d",
                static_cast<long long>(t.year), t.month, t.day, t.hour, t.minute, t.second,
                t.micros, t.offset_seconds < 0 ? '-' : '+', off / 3600, off / 60 % 60, off % 60);
  auto again = ParseIsoDateTime(canonical);
  Check(again.ok());
  Check(MicrosSinceEpoch(*again) == MicrosSinceEpoch(t));
  Check(again->offset_seconds == t.offset_seconds);
}

void CheckDecimal(std::string_view text) {
  auto parsed = ParseDecimal(text);
  if (!parsed.ok()) return CheckRefusal(parsed.error());
  const Decimal& d = *parsed;
  Check(!d.digits.empty() && (d.digits == "0" || d.digits[0] != '0'));
  for (char c : d.digits) Check(c >= '0' && c <= '9');
  Check(d.scale >= 0 && d.scale <= kMaxDecimalDigits && d.Precision() <= kMaxDecimalDigits);
  Check(!(d.negative && d.digits == "0"));
  auto again = ParseDecimal(d.ToText());
  Check(again.ok() && again->digits == d.digits && again->scale == d.scale &&
        again->negative == d.negative);
  if (d.digits.size() <= 38) Check(ScaledInt128(d, d.scale).has_value());
}

}  // namespace

MIGSBYU_FUZZ_SEEDS(WriteSeeds)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  CheckDateTime(text);
  CheckDecimal(text);
  return 0;
}
