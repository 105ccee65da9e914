// Plain identifiers: the names MigsbyU lets become file names, dataset names and unquoted SQL
// (a captured table's or column's name on its way into the lake, from WAL or from Kafka).
//
// Thread-safety: a pure function.
#pragma once

#include <string_view>

namespace migsbyu {

inline constexpr size_t kMaxIdentifierLength = 63;  // PostgreSQL's NAMEDATALEN − 1

// Whether `name` matches [A-Za-z_][A-Za-z0-9_]* and has at most kMaxIdentifierLength
// characters: never "..", "/", a NUL or anything a path or SQL would read otherwise.
inline bool IsPlainIdentifier(std::string_view name) {
  if (name.empty() || name.size() > kMaxIdentifierLength) return false;
  auto alpha = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
  if (!alpha(name[0])) return false;
  for (char c : name) {
    if (!alpha(c) && !(c >= '0' && c <= '9')) return false;
  }
  return true;
}

}  // namespace migsbyu
