// Typed, checked access to the members of a JSON object read from a file that may be damaged or
// written by someone else: every getter fails with kCorruption naming the file (`origin`) and the
// member, so a bad metadata file is reported, never a crash. Internal to src/lake/iceberg.
//
// Threading: pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace migsbyu::iceberg::json_fields {

using nlohmann::json;

// The object's member `key`; kCorruption when `object` is no object or lacks it.
Result<const json*> Required(const json& object, std::string_view key, const std::string& origin);
// The member or null when absent (a JSON null counts as absent).
const json* Optional(const json& object, std::string_view key);

Result<int64_t> Long(const json& object, std::string_view key, const std::string& origin);
Result<int32_t> Int(const json& object, std::string_view key, const std::string& origin);
Result<std::string> String(const json& object, std::string_view key, const std::string& origin);
Result<bool> Bool(const json& object, std::string_view key, const std::string& origin);
Result<std::optional<int64_t>> OptionalLong(const json& object, std::string_view key,
                                            const std::string& origin);
Result<std::optional<int32_t>> OptionalInt(const json& object, std::string_view key,
                                           const std::string& origin);

// Checks that `value` is an array (kCorruption naming `what` otherwise).
Status ExpectArray(const json& value, std::string_view what, const std::string& origin);
Status ExpectObject(const json& value, std::string_view what, const std::string& origin);

// The elements of the array member `key`, each parsed by `parse` (a Result<T>(const json&,
// const std::string& origin)); an absent member is an empty list unless `required`.
template <typename T, typename Parse>
Result<std::vector<T>> Each(const json& object, std::string_view key, const std::string& origin,
                            Parse parse, bool required = true) {
  std::vector<T> out;
  const json* array = Optional(object, key);
  if (!array) {
    if (required) return Required(object, key, origin).error();
    return out;
  }
  MIGSBYU_TRY(ExpectArray(*array, key, origin));
  for (const auto& element : *array) {
    MIGSBYU_ASSIGN(T value, parse(element, origin));
    out.push_back(std::move(value));
  }
  return out;
}

}  // namespace migsbyu::iceberg::json_fields
