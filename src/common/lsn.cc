#include "common/lsn.h"

#include <charconv>
#include <cstdio>

namespace migsbyu {

std::optional<Lsn> Lsn::Parse(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 >= text.size())
    return std::nullopt;
  uint32_t hi = 0, lo = 0;
  auto h = std::from_chars(text.data(), text.data() + slash, hi, 16);
  if (h.ec != std::errc() || h.ptr != text.data() + slash) return std::nullopt;
  auto l = std::from_chars(text.data() + slash + 1, text.data() + text.size(), lo, 16);
  if (l.ec != std::errc() || l.ptr != text.data() + text.size()) return std::nullopt;
  return Lsn((uint64_t{hi} << 32) | lo);
}

std::string Lsn::ToString() const {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%X/%X", static_cast<uint32_t>(value_ >> 32),
                static_cast<uint32_t>(value_));
  return buf;
}

}  // namespace migsbyu
