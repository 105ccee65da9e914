#include "oltp/validation.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <mutex>
#include <regex>

namespace migsbyu::oltp {
namespace {

using nlohmann::json;

std::string FormatNumber(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<int64_t>(v));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// Characters in a UTF-8 string (the JSON parser has already rejected invalid UTF-8).
int64_t CodePoints(std::string_view s) {
  int64_t n = 0;
  for (unsigned char ch : s) n += (ch & 0xC0) != 0x80;
  return n;
}

bool HasControlCharacter(std::string_view s) {
  for (unsigned char ch : s) {
    if (ch < 0x20 || ch == 0x7F) return true;
  }
  return false;
}

const std::regex& PatternFor(const std::string& pattern) {
  // Patterns come from the static descriptions: a handful, compiled once each.
  static std::mutex mu;
  static std::map<std::string, std::regex> cache;
  std::lock_guard lock(mu);
  auto it = cache.find(pattern);
  if (it == cache.end()) it = cache.emplace(pattern, std::regex(pattern)).first;
  return it->second;
}

Result<std::string> Fail(std::string message) { return Error::InvalidArgument(std::move(message)); }

Result<std::string> CheckRange(const Field& field, double v) {
  if (field.minimum && v < *field.minimum) {
    return Fail("ensure this value is greater than or equal to " + FormatNumber(*field.minimum));
  }
  if (field.maximum && v > *field.maximum) {
    return Fail("ensure this value is less than or equal to " + FormatNumber(*field.maximum));
  }
  return std::string();
}

Result<std::string> ValidateText(const Field& field, const json& value) {
  if (!value.is_string()) return Fail("str type expected");
  const auto& s = value.get_ref<const std::string&>();
  int64_t length = CodePoints(s);
  if (length < field.min_length) {
    return Fail("ensure this value has at least " + std::to_string(field.min_length) +
                " characters");
  }
  if (length > field.max_length) {
    return Fail("ensure this value has at most " + std::to_string(field.max_length) +
                " characters");
  }
  if (HasControlCharacter(s)) return Fail("control characters are not permitted");
  if (!field.one_of.empty()) {
    bool found = false;
    std::string permitted;
    for (const auto& v : field.one_of) {
      found = found || v == s;
      permitted += (permitted.empty() ? "'" : ", '") + v + "'";
    }
    if (!found) return Fail("unexpected value; permitted: " + permitted);
  }
  if (!field.pattern.empty() && !std::regex_match(s, PatternFor(field.pattern))) {
    return Fail("string does not match regex \"" + field.pattern + "\"");
  }
  return s;
}

Result<std::string> ValidateInteger(const Field& field, const json& value) {
  double as_double;
  if (value.is_number_integer()) {
    as_double = value.is_number_unsigned() ? static_cast<double>(value.get<uint64_t>())
                                           : static_cast<double>(value.get<int64_t>());
  } else if (value.is_number_float() && std::isfinite(value.get<double>()) &&
             value.get<double>() == std::floor(value.get<double>())) {
    as_double = value.get<double>();
  } else {
    return Fail("value is not a valid integer");
  }
  MIGSBYU_TRY(CheckRange(field, as_double));
  if (as_double < std::numeric_limits<int32_t>::min() ||
      as_double > std::numeric_limits<int32_t>::max()) {
    return Fail("value is out of range for a 32-bit integer");
  }
  if (value.is_number_integer()) {
    return value.is_number_unsigned() ? std::to_string(value.get<uint64_t>())
                                      : std::to_string(value.get<int64_t>());
  }
  return std::to_string(static_cast<int64_t>(as_double));
}

Result<std::string> ValidateDecimal2(const Field& field, const json& value) {
  if (!value.is_number() || !std::isfinite(value.get<double>())) {
    return Fail("value is not a valid decimal");
  }
  double v = std::round(value.get<double>() * 100.0) / 100.0;
  MIGSBYU_TRY(CheckRange(field, value.get<double>()));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return std::string(buf);
}

Result<std::string> ValidateDate(const json& value) {
  if (!value.is_string()) return Fail("invalid date format");
  const auto& s = value.get_ref<const std::string&>();
  // YYYY-MM-DD, digits only.
  auto digits = [&s](size_t from, size_t count) {
    int v = 0;
    for (size_t i = from; i < from + count; ++i) {
      if (s[i] < '0' || s[i] > '9') return -1;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return Fail("invalid date format");
  const int year = digits(0, 4), month = digits(5, 2), day = digits(8, 2);
  if (year < 0 || month < 0 || day < 0) return Fail("invalid date format");
  std::chrono::year_month_day ymd{std::chrono::year(year),
                                  std::chrono::month(static_cast<unsigned>(month)),
                                  std::chrono::day(static_cast<unsigned>(day))};
  if (!ymd.ok()) return Fail("invalid date: no such day in the calendar");
  if (ymd.year() < std::chrono::year(1850)) return Fail("date is before 1850");
  auto today = std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now());
  if (std::chrono::sys_days(ymd) > today) return Fail("date is in the future");
  return s;
}

}  // namespace

Result<std::string> ValidateValue(const Field& field, const json& value) {
  if (value.is_null()) return Fail("none is not an allowed value");
  switch (field.type) {
    case FieldType::kText:
      return ValidateText(field, value);
    case FieldType::kInteger:
      return ValidateInteger(field, value);
    case FieldType::kDecimal2:
      return ValidateDecimal2(field, value);
    case FieldType::kDate:
      return ValidateDate(value);
  }
  return Fail("unknown field type");
}

Result<Record> ValidateBody(const Entity& entity, const json& body, BodyMode mode,
                            const std::vector<std::string>& path_key) {
  if (!body.is_object()) return Error::Validation({{"body", "value is not a valid dict"}});
  std::vector<FieldError> errors;
  Record record;
  size_t key_index = 0;
  for (const auto& field : entity.fields) {
    const std::string loc = "body." + field.name;
    auto it = body.find(field.name);
    bool required = mode == BodyMode::kCreate || (mode == BodyMode::kReplace && !field.key);
    if (it == body.end()) {
      if (required) errors.push_back({loc, "field required"});
      if (field.key) ++key_index;
      continue;
    }
    auto text = ValidateValue(field, *it);
    if (!text.ok()) {
      errors.push_back({loc, text.error().message()});
    } else if (field.key && mode != BodyMode::kCreate) {
      if (key_index < path_key.size() && *text != path_key[key_index]) {
        errors.push_back({loc, "does not match the " + field.name +
                                   " in the path; a key cannot "
                                   "be changed"});
      }
    } else {
      record.push_back({&field, std::move(text).value()});
    }
    if (field.key) ++key_index;
  }
  for (const auto& [name, value] : body.items()) {
    if (entity.Find(name) == nullptr)
      errors.push_back({"body." + name, "extra fields not permitted"});
  }
  if (!errors.empty()) return Error::Validation(std::move(errors));
  return record;
}

namespace {

Result<int64_t> ParseInteger(const std::string& text, const std::string& loc, int64_t min,
                             int64_t max, std::vector<FieldError>& errors) {
  int64_t v = 0;
  size_t used = 0;
  try {
    v = std::stoll(text, &used);
  } catch (...) {
    used = 0;
  }
  if (used == 0 || used != text.size()) {
    errors.push_back({loc, "value is not a valid integer"});
    return Error::InvalidArgument(loc);
  }
  if (v < min) {
    errors.push_back({loc, "ensure this value is greater than or equal to " + std::to_string(min)});
  } else if (v > max) {
    errors.push_back({loc, "ensure this value is less than or equal to " + std::to_string(max)});
  }
  return v;
}

}  // namespace

Result<ListQuery> ParseListQuery(const Entity& entity, const QueryLookup& query) {
  ListQuery out;
  std::vector<FieldError> errors;
  if (auto skip = query("skip")) {
    auto v = ParseInteger(*skip, "query.skip", 0, std::numeric_limits<int64_t>::max(), errors);
    if (v.ok()) out.skip = *v;
  }
  if (auto limit = query("limit")) {
    auto v = ParseInteger(*limit, "query.limit", 0, kMaxListLimit, errors);
    if (v.ok()) out.limit = *v;
  }
  if (auto sort = query("sort")) {
    out.sort = entity.Find(*sort);
    if (out.sort == nullptr) {
      std::string names;
      for (const auto& f : entity.fields) names += (names.empty() ? "" : ", ") + f.name;
      errors.push_back({"query.sort", "unknown column; sortable: " + names});
    }
  }
  if (auto order = query("order")) {
    if (*order == "desc") {
      out.descending = true;
    } else if (*order != "asc") {
      errors.push_back({"query.order", "unexpected value; permitted: 'asc', 'desc'"});
    }
  }
  if (auto q = query("q")) {
    if (CodePoints(*q) > 200) {
      errors.push_back({"query.q", "ensure this value has at most 200 characters"});
    } else if (HasControlCharacter(*q)) {
      errors.push_back({"query.q", "control characters are not permitted"});
    } else {
      out.search = *q;
    }
  }
  if (auto expand = query("expand"); expand && entity.IsRelation()) {
    if (*expand == "names") {
      out.expand_names = true;
    } else {
      errors.push_back({"query.expand", "unexpected value; permitted: 'names'"});
    }
  }
  if (!errors.empty()) return Error::Validation(std::move(errors));
  return out;
}

Result<bool> ParseBoolQuery(const QueryLookup& query, const std::string& name, bool fallback) {
  auto v = query(name);
  if (!v) return fallback;
  if (*v == "true" || *v == "1") return true;
  if (*v == "false" || *v == "0") return false;
  return Error::Validation({{"query." + name, "value could not be parsed to a boolean"}});
}

}  // namespace migsbyu::oltp
