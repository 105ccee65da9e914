#include "lake/iceberg/json_fields.h"

#include <limits>

namespace migsbyu::iceberg::json_fields {
namespace {

Error Bad(std::string_view key, std::string_view what, const std::string& origin) {
  return Error::Corruption(origin + ": \"" + std::string(key) + "\" " + std::string(what));
}

}  // namespace

Result<const json*> Required(const json& object, std::string_view key, const std::string& origin) {
  if (!object.is_object()) return Bad(key, "is in something that is not an object", origin);
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return Bad(key, "is missing", origin);
  return &*it;
}

const json* Optional(const json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

Result<int64_t> Long(const json& object, std::string_view key, const std::string& origin) {
  MIGSBYU_ASSIGN(const json* value, Required(object, key, origin));
  if (value->is_number_integer()) return value->get<int64_t>();
  // An unsigned value above INT64_MAX is not a long.
  return Bad(key, "is not an integer", origin);
}

Result<int32_t> Int(const json& object, std::string_view key, const std::string& origin) {
  MIGSBYU_ASSIGN(int64_t value, Long(object, key, origin));
  if (value < std::numeric_limits<int32_t>::min() || value > std::numeric_limits<int32_t>::max()) {
    return Bad(key, "is out of the int range", origin);
  }
  return static_cast<int32_t>(value);
}

Result<std::string> String(const json& object, std::string_view key, const std::string& origin) {
  MIGSBYU_ASSIGN(const json* value, Required(object, key, origin));
  if (!value->is_string()) return Bad(key, "is not a string", origin);
  return value->get<std::string>();
}

Result<bool> Bool(const json& object, std::string_view key, const std::string& origin) {
  MIGSBYU_ASSIGN(const json* value, Required(object, key, origin));
  if (!value->is_boolean()) return Bad(key, "is not a boolean", origin);
  return value->get<bool>();
}

Result<std::optional<int64_t>> OptionalLong(const json& object, std::string_view key,
                                            const std::string& origin) {
  if (!Optional(object, key)) return std::optional<int64_t>();
  MIGSBYU_ASSIGN(int64_t value, Long(object, key, origin));
  return std::optional<int64_t>(value);
}

Result<std::optional<int32_t>> OptionalInt(const json& object, std::string_view key,
                                           const std::string& origin) {
  if (!Optional(object, key)) return std::optional<int32_t>();
  MIGSBYU_ASSIGN(int32_t value, Int(object, key, origin));
  return std::optional<int32_t>(value);
}

Status ExpectArray(const json& value, std::string_view what, const std::string& origin) {
  if (!value.is_array()) return Bad(what, "is not an array", origin);
  return OkStatus();
}

Status ExpectObject(const json& value, std::string_view what, const std::string& origin) {
  if (!value.is_object()) return Bad(what, "is not an object", origin);
  return OkStatus();
}

}  // namespace migsbyu::iceberg::json_fields
