#include "lake/iceberg/bounds.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "common/civil_date.h"

namespace migsbyu::iceberg {
namespace {

constexpr int64_t kMicrosPerDay = 86400LL * 1000000;

bool ParseInt64(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

// Reads exactly `n` digits from the front of `s` into *out.
bool TakeDigits(std::string_view& s, size_t n, int64_t* out) {
  if (s.size() < n) return false;
  int64_t v = 0;
  for (size_t i = 0; i < n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  s.remove_prefix(n);
  return true;
}

bool TakeChar(std::string_view& s, char c) {
  if (s.empty() || s.front() != c) return false;
  s.remove_prefix(1);
  return true;
}

// " (BC)" at the end: DuckDB's way of printing years before 1 AD.
bool StripBc(std::string_view& s) {
  constexpr std::string_view kBc = " (BC)";
  if (s.size() >= kBc.size() && s.substr(s.size() - kBc.size()) == kBc) {
    s.remove_suffix(kBc.size());
    return true;
  }
  return false;
}

// "YYYY-MM-DD" (four or more year digits) at the front of `s`; days since 1970-01-01.
bool TakeDate(std::string_view& s, bool bc, int64_t* days) {
  size_t dash = s.find('-');
  if (dash == std::string_view::npos || dash < 4) return false;
  int64_t year = 0, month = 0, day = 0;
  if (!TakeDigits(s, dash, &year) || !TakeChar(s, '-') || !TakeDigits(s, 2, &month) ||
      !TakeChar(s, '-') || !TakeDigits(s, 2, &day)) {
    return false;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31) return false;
  if (bc) year = 1 - year;  // 1 BC is year 0
  *days = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  return true;
}

// "HH:MM:SS[.f...]" at the front of `s`; µs since midnight.
bool TakeTime(std::string_view& s, int64_t* micros) {
  int64_t h = 0, m = 0, sec = 0;
  if (!TakeDigits(s, 2, &h) || !TakeChar(s, ':') || !TakeDigits(s, 2, &m) || !TakeChar(s, ':') ||
      !TakeDigits(s, 2, &sec)) {
    return false;
  }
  if (h > 23 || m > 59 || sec > 59) return false;
  int64_t fraction = 0;
  if (TakeChar(s, '.')) {
    size_t n = 0;
    while (n < s.size() && s[n] >= '0' && s[n] <= '9') ++n;
    if (n == 0 || n > 6) return false;  // finer than µs is not a timestamp value we hold
    if (!TakeDigits(s, n, &fraction)) return false;
    for (size_t k = n; k < 6; ++k) fraction *= 10;
  }
  *micros = ((h * 60 + m) * 60 + sec) * 1000000 + fraction;
  return true;
}

// "+HH", "+HH:MM", "+HH:MM:SS" (or '-'): the offset east of UTC in µs.
bool TakeOffset(std::string_view& s, int64_t* micros) {
  if (s.empty() || (s.front() != '+' && s.front() != '-')) return false;
  int sign = s.front() == '-' ? -1 : 1;
  s.remove_prefix(1);
  int64_t h = 0, m = 0, sec = 0;
  if (!TakeDigits(s, 2, &h)) return false;
  if (TakeChar(s, ':')) {
    if (!TakeDigits(s, 2, &m)) return false;
    if (TakeChar(s, ':') && !TakeDigits(s, 2, &sec)) return false;
  }
  *micros = sign * ((h * 60 + m) * 60 + sec) * 1000000;
  return true;
}

std::optional<Literal> ParseTimestamp(std::string_view s, bool with_zone) {
  bool bc = StripBc(s);
  int64_t days = 0, time = 0, offset = 0;
  if (!TakeDate(s, bc, &days) || !TakeChar(s, ' ') || !TakeTime(s, &time)) return std::nullopt;
  if (with_zone && !TakeOffset(s, &offset)) return std::nullopt;
  if (!s.empty()) return std::nullopt;
  return Literal(int64_t{days * kMicrosPerDay + time - offset});
}

std::optional<Literal> ParseDecimal(std::string_view s, int scale) {
  bool negative = TakeChar(s, '-');
  size_t dot = s.find('.');
  std::string_view whole = s.substr(0, dot);
  std::string_view fraction =
      dot == std::string_view::npos ? std::string_view() : s.substr(dot + 1);
  if (whole.empty() || fraction.size() > static_cast<size_t>(scale)) return std::nullopt;
  if (dot != std::string_view::npos && fraction.empty()) return std::nullopt;
  __int128 v = 0;
  for (std::string_view part : {whole, fraction}) {
    for (char c : part) {
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + (c - '0');
      if (v > (__int128{1} << 126)) return std::nullopt;  // beyond 38 digits
    }
  }
  for (size_t k = fraction.size(); k < static_cast<size_t>(scale); ++k) v *= 10;
  return Literal(negative ? -v : v);
}

bool ValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    uint32_t cp = n == 1 ? c : c & (0x7F >> n);
    for (size_t k = 1; k < n; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc >> 6) != 2) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n;
  }
  return true;
}

// Code points of valid UTF-8 text.
std::vector<uint32_t> CodePoints(std::string_view s) {
  std::vector<uint32_t> out;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : 4;
    uint32_t cp = n == 1 ? c : c & (0x7F >> n);
    for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    out.push_back(cp);
    i += n;
  }
  return out;
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string LittleEndian(uint64_t v, size_t bytes) {
  std::string out(bytes, '\0');
  for (size_t i = 0; i < bytes; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
  return out;
}

uint64_t FromLittleEndian(std::string_view b) {
  uint64_t v = 0;
  for (size_t i = b.size(); i-- > 0;) v = (v << 8) | static_cast<unsigned char>(b[i]);
  return v;
}

std::string BigEndianMinimal(__int128 v) {
  // Two's complement, most significant byte first, dropping leading bytes that only repeat the
  // sign (0x00 before a byte < 0x80, 0xFF before a byte >= 0x80).
  unsigned __int128 u = static_cast<unsigned __int128>(v);
  std::string bytes(16, '\0');
  for (int i = 15; i >= 0; --i) {
    bytes[static_cast<size_t>(i)] = static_cast<char>(u & 0xFF);
    u >>= 8;
  }
  size_t start = 0;
  while (start < 15) {
    unsigned char b = static_cast<unsigned char>(bytes[start]);
    unsigned char next = static_cast<unsigned char>(bytes[start + 1]);
    if ((b == 0x00 && next < 0x80) || (b == 0xFF && next >= 0x80)) {
      ++start;
    } else {
      break;
    }
  }
  return bytes.substr(start);
}

std::string DecimalText(__int128 v, int scale) {
  bool negative = v < 0;
  unsigned __int128 u = negative ? -static_cast<unsigned __int128>(v) : v;
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(u % 10)));
    u /= 10;
  } while (u);
  while (digits.size() <= static_cast<size_t>(scale)) digits.insert(digits.begin(), '0');
  if (scale > 0) digits.insert(digits.end() - scale, '.');
  return (negative ? "-" : "") + digits;
}

std::string Two(int64_t v) {
  std::string digits = std::to_string(v);
  if (v < 10) digits.insert(digits.begin(), '0');
  return digits;
}

std::string DateText(int64_t days) {
  int64_t y = 0;
  unsigned m = 0, d = 0;
  CivilFromDays(days, &y, &m, &d);
  bool bc = y <= 0;
  std::string year = std::to_string(bc ? 1 - y : y);
  while (year.size() < 4) year.insert(year.begin(), '0');
  return year + "-" + Two(m) + "-" + Two(d) + (bc ? " (BC)" : "");
}

std::string TimestampText(int64_t micros, bool with_zone) {
  int64_t days = micros / kMicrosPerDay, rest = micros % kMicrosPerDay;
  if (rest < 0) {
    rest += kMicrosPerDay;
    --days;
  }
  std::string date = DateText(days);
  std::string bc;
  if (date.size() > 5 && date.substr(date.size() - 5) == " (BC)") {
    bc = " (BC)";
    date.resize(date.size() - 5);
  }
  int64_t seconds = rest / 1000000, fraction = rest % 1000000;
  std::string text =
      date + " " + Two(seconds / 3600) + ":" + Two(seconds / 60 % 60) + ":" + Two(seconds % 60);
  if (fraction) {
    std::string f = std::to_string(fraction);
    while (f.size() < 6) f.insert(f.begin(), '0');
    while (f.back() == '0') f.pop_back();
    text += "." + f;
  }
  return text + (with_zone ? "+00" : "") + bc;
}

std::string ShortestDouble(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, end);
}

}  // namespace

std::optional<Literal> ParseDuckText(const Type& type, std::string_view text) {
  switch (type.id) {
    case TypeId::kBoolean:
      if (text == "true") return Literal(true);
      if (text == "false") return Literal(false);
      return std::nullopt;
    case TypeId::kInt:
    case TypeId::kLong: {
      int64_t v = 0;
      if (!ParseInt64(text, &v)) return std::nullopt;
      if (type.id == TypeId::kInt &&
          (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max())) {
        return std::nullopt;
      }
      return Literal(v);
    }
    case TypeId::kFloat:
    case TypeId::kDouble: {
      double v = 0;
      if (type.id == TypeId::kFloat) {
        float f = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), f);
        if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
        v = f;
      } else {
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
      }
      if (std::isnan(v)) return std::nullopt;
      return Literal(v);
    }
    case TypeId::kDecimal:
      return ParseDecimal(text, type.scale);
    case TypeId::kDate: {
      std::string_view s = text;
      bool bc = StripBc(s);
      int64_t days = 0;
      if (!TakeDate(s, bc, &days) || !s.empty()) return std::nullopt;
      return Literal(days);
    }
    case TypeId::kTimestamp:
      return ParseTimestamp(text, false);
    case TypeId::kTimestampTz:
      return ParseTimestamp(text, true);
    case TypeId::kString:
      if (!ValidUtf8(text)) return std::nullopt;
      return Literal(std::string(text));
    case TypeId::kBinary:
    case TypeId::kUuid:
      return std::nullopt;
  }
  return std::nullopt;
}

int CompareLiterals(const Literal& a, const Literal& b) {
  return std::visit(
      [&](const auto& x) -> int {
        using T = std::decay_t<decltype(x)>;
        const T& y = std::get<T>(b);
        if constexpr (std::is_same_v<T, std::string>) {
          int c = x.compare(y);
          return c < 0 ? -1 : c > 0 ? 1 : 0;
        } else {
          return x < y ? -1 : y < x ? 1 : 0;
        }
      },
      a);
}

std::string SerializeValue(const Type& type, const Literal& value) {
  switch (type.id) {
    case TypeId::kBoolean:
      return std::string(1, std::get<bool>(value) ? '\x01' : '\x00');
    case TypeId::kInt:
    case TypeId::kDate:
      return LittleEndian(static_cast<uint32_t>(static_cast<int32_t>(std::get<int64_t>(value))), 4);
    case TypeId::kLong:
    case TypeId::kTimestamp:
    case TypeId::kTimestampTz:
      return LittleEndian(static_cast<uint64_t>(std::get<int64_t>(value)), 8);
    case TypeId::kFloat: {
      float f = static_cast<float>(std::get<double>(value));
      uint32_t bits = 0;
      std::memcpy(&bits, &f, sizeof bits);
      return LittleEndian(bits, 4);
    }
    case TypeId::kDouble: {
      double d = std::get<double>(value);
      uint64_t bits = 0;
      std::memcpy(&bits, &d, sizeof bits);
      return LittleEndian(bits, 8);
    }
    case TypeId::kDecimal:
      return BigEndianMinimal(std::get<__int128>(value));
    case TypeId::kString:
    case TypeId::kBinary:
    case TypeId::kUuid:
      return std::get<std::string>(value);
  }
  return {};
}

std::string LowerBound(const Type& type, const Literal& min, size_t truncate) {
  if ((type.id == TypeId::kFloat || type.id == TypeId::kDouble) && std::get<double>(min) == 0) {
    return SerializeValue(type, Literal(-0.0));
  }
  if (type.id == TypeId::kString && truncate > 0) {
    std::vector<uint32_t> cps = CodePoints(std::get<std::string>(min));
    if (cps.size() > truncate) {
      std::string prefix;
      for (size_t i = 0; i < truncate; ++i) AppendUtf8(prefix, cps[i]);
      return prefix;
    }
  }
  return SerializeValue(type, min);
}

std::optional<std::string> UpperBound(const Type& type, const Literal& max, size_t truncate) {
  if ((type.id == TypeId::kFloat || type.id == TypeId::kDouble) && std::get<double>(max) == 0) {
    return SerializeValue(type, Literal(0.0));
  }
  if (type.id == TypeId::kString && truncate > 0) {
    std::vector<uint32_t> cps = CodePoints(std::get<std::string>(max));
    if (cps.size() > truncate) {
      cps.resize(truncate);
      // The shortest string above every value with this prefix: bump the last code point that
      // can be bumped (skipping the surrogate range) and drop what follows it.
      while (!cps.empty()) {
        uint32_t next = cps.back() + 1;
        if (next >= 0xD800 && next <= 0xDFFF) next = 0xE000;
        if (next <= 0x10FFFF) {
          cps.back() = next;
          break;
        }
        cps.pop_back();
      }
      if (cps.empty()) return std::nullopt;
      std::string out;
      for (uint32_t cp : cps) AppendUtf8(out, cp);
      return out;
    }
  }
  return SerializeValue(type, max);
}

Result<std::string> BoundToText(const Type& type, std::string_view bytes) {
  auto bad = [&] {
    return Error::Corruption("a bound of " + std::to_string(bytes.size()) +
                             " bytes is no value of type " + TypeName(type));
  };
  switch (type.id) {
    case TypeId::kBoolean:
      if (bytes.size() != 1) return bad();
      return std::string(bytes[0] ? "true" : "false");
    case TypeId::kInt:
    case TypeId::kDate:
    case TypeId::kLong:
    case TypeId::kTimestamp:
    case TypeId::kTimestampTz: {
      // A long promoted from int keeps 4-byte bounds in files written before (spec: "Schema
      // Evolution", inferred type at write time).
      bool narrow = type.id == TypeId::kInt || type.id == TypeId::kDate;
      if (bytes.size() != 4 && (narrow || bytes.size() != 8)) return bad();
      int64_t v = bytes.size() == 4 ? static_cast<int32_t>(FromLittleEndian(bytes))
                                    : static_cast<int64_t>(FromLittleEndian(bytes));
      if (type.id == TypeId::kDate) return DateText(v);
      if (type.id == TypeId::kTimestamp || type.id == TypeId::kTimestampTz) {
        if (bytes.size() == 4) return DateText(v);  // a date promoted to timestamp (v3)
        return TimestampText(v, type.id == TypeId::kTimestampTz);
      }
      return std::to_string(v);
    }
    case TypeId::kFloat:
    case TypeId::kDouble: {
      if (bytes.size() == 4) {
        uint32_t bits = static_cast<uint32_t>(FromLittleEndian(bytes));
        float f = 0;
        std::memcpy(&f, &bits, sizeof f);
        return ShortestDouble(f);
      }
      if (bytes.size() != 8 || type.id == TypeId::kFloat) return bad();
      uint64_t bits = FromLittleEndian(bytes);
      double d = 0;
      std::memcpy(&d, &bits, sizeof d);
      return ShortestDouble(d);
    }
    case TypeId::kDecimal: {
      if (bytes.empty() || bytes.size() > 16) return bad();
      __int128 v = static_cast<signed char>(bytes[0]);
      for (size_t i = 1; i < bytes.size(); ++i) v = v * 256 + static_cast<unsigned char>(bytes[i]);
      return DecimalText(v, type.scale);
    }
    case TypeId::kString:
      return std::string(bytes);
    case TypeId::kBinary:
    case TypeId::kUuid:
      return HexBytes(bytes);
  }
  return bad();
}

std::string HexBytes(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xF]);
  }
  return out;
}

}  // namespace migsbyu::iceberg
