#include "common/decimal.h"

#include <algorithm>

namespace migsbyu {
namespace {

Error Invalid(std::string_view text, const std::string& why) {
  std::string quoted(text.substr(0, 64));
  if (text.size() > 64) quoted += "...";
  return Error::InvalidArgument("'" + quoted + "' is not a decimal: " + why);
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

int Decimal::Precision() const {
  const int significant = digits == "0" ? 0 : static_cast<int>(digits.size());
  return std::max(significant, scale);
}

std::string Decimal::ToText() const {
  std::string padded = digits;
  if (padded.size() <= static_cast<size_t>(scale)) {
    padded.insert(0, static_cast<size_t>(scale) + 1 - padded.size(), '0');
  }
  std::string out = negative ? "-" : "";
  out += padded.substr(0, padded.size() - static_cast<size_t>(scale));
  if (scale > 0) out += "." + padded.substr(padded.size() - static_cast<size_t>(scale));
  return out;
}

Result<Decimal> ParseDecimal(std::string_view text, DecimalBounds bounds) {
  Decimal d;
  std::string_view s = text;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    d.negative = s[0] == '-';
    s.remove_prefix(1);
  }
  const size_t dot = s.find('.');
  const std::string_view whole = s.substr(0, dot);
  const std::string_view fraction = dot == std::string_view::npos ? "" : s.substr(dot + 1);
  if (!AllDigits(whole)) return Invalid(text, "expected digits before any point");
  if (dot != std::string_view::npos && !AllDigits(fraction)) {
    return Invalid(text, "expected digits after the point");
  }
  // Bounded before anything is copied: leading zeros count too, so a caller never handles more
  // than max_precision + max_scale characters' worth.
  if (fraction.size() > static_cast<size_t>(bounds.max_scale)) {
    return Invalid(text,
                   "more than " + std::to_string(bounds.max_scale) + " digits after the point");
  }
  if (whole.size() + fraction.size() >
      static_cast<size_t>(bounds.max_precision) + static_cast<size_t>(bounds.max_scale)) {
    return Invalid(text, "more than " + std::to_string(bounds.max_precision) + " digits");
  }
  d.scale = static_cast<int>(fraction.size());
  d.digits.assign(whole);
  d.digits.append(fraction);
  const size_t first = d.digits.find_first_not_of('0');
  d.digits.erase(0, first == std::string::npos ? d.digits.size() - 1 : first);
  if (d.digits == "0") d.negative = false;
  if (d.Precision() > bounds.max_precision) {
    return Invalid(text, "more than " + std::to_string(bounds.max_precision) + " digits");
  }
  return d;
}

std::optional<__int128> ScaledInt128(const Decimal& d, int scale) {
  std::string digits = d.digits;
  if (scale >= d.scale) {
    if (digits != "0") digits.append(static_cast<size_t>(scale - d.scale), '0');
  } else {
    const size_t cut = static_cast<size_t>(d.scale - scale);
    const size_t keep = digits.size() > cut ? digits.size() - cut : 0;
    if (digits.find_first_not_of('0', keep) != std::string::npos) return std::nullopt;
    digits.resize(std::max<size_t>(keep, 1), '0');
    if (keep == 0) digits = "0";
  }
  if (digits.size() > 38) return std::nullopt;
  __int128 value = 0;
  for (char c : digits) value = value * 10 + (c - '0');
  return d.negative ? -value : value;
}

}  // namespace migsbyu
