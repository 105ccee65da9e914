#include "events/change_event.h"

#include <cstdio>
#include <ctime>

#include "common/civil_date.h"

namespace migsbyu::events {

int TableSchema::ColumnIndex(const std::string& column) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].name == column) return static_cast<int>(i);
  }
  return -1;
}

namespace {

std::string FormatTimestamp(int64_t us, bool zone) {
  int64_t days = us >= 0 ? us / 86400000000LL : -((-us + 86400000000LL - 1) / 86400000000LL);
  int64_t rem = us - days * 86400000000LL;
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u %02lld:%02lld:%02lld",
                        static_cast<long long>(y), m, d, static_cast<long long>(rem / 3600000000LL),
                        static_cast<long long>(rem / 60000000LL % 60),
                        static_cast<long long>(rem / 1000000LL % 60));
  std::string s(buf, n);
  if (int64_t frac = rem % 1000000LL; frac != 0) {
    std::snprintf(buf, sizeof buf, ".%06lld", static_cast<long long>(frac));
    std::string f = buf;
    while (f.back() == '0') f.pop_back();
    s += f;
  }
  if (zone) s += "+00";
  return s;
}

}  // namespace

std::string ValueToText(ValueType type, const Value& v) {
  if (v.state != Value::State::kPresent) return "";
  switch (type) {
    case ValueType::kBool:
      return v.integer ? "t" : "f";
    case ValueType::kInt16:
    case ValueType::kInt32:
    case ValueType::kInt64:
      return std::to_string(v.integer);
    case ValueType::kFloat64: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.17g", v.real);
      return buf;
    }
    case ValueType::kNumeric:
    case ValueType::kText:
      return v.text;
    case ValueType::kDate: {
      int64_t y;
      unsigned m, d;
      CivilFromDays(v.integer, &y, &m, &d);
      char buf[32];
      std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u", static_cast<long long>(y), m, d);
      return buf;
    }
    case ValueType::kTimestamp:
      return FormatTimestamp(v.integer, false);
    case ValueType::kTimestampTz:
      return FormatTimestamp(v.integer, true);
  }
  return "";
}

std::string KeyText(const TableSchema& schema, const Row& row) {
  std::string out;
  for (size_t i = 0; i < schema.columns.size() && i < row.size(); ++i) {
    if (!schema.columns[i].key) continue;
    out += row[i].is_null() ? "\\N" : ValueToText(schema.columns[i].type, row[i]);
    out += '\x1f';
  }
  return out;
}

}  // namespace migsbyu::events
