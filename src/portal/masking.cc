#include "portal/masking.h"

#include <algorithm>

#include "oltp/entity.h"

namespace migsbyu::portal {

bool SeesPersonalData(const Request& request) {
  return request.principal.has_value() && request.principal->pii;
}

bool IsPersonalColumn(std::string_view name) {
  for (std::string_view prefix : {"before_", "after_"}) {
    if (name.starts_with(prefix)) {
      name.remove_prefix(prefix.size());
      break;
    }
  }
  const auto& names = oltp::PiiColumnNames();
  return std::find(names.begin(), names.end(), name) != names.end();
}

void MaskPersonalFields(nlohmann::json& value) {
  if (value.is_array()) {
    for (auto& item : value) {
      if (item.is_object()) MaskPersonalFields(item);
    }
    return;
  }
  if (!value.is_object()) return;
  for (auto& [name, field] : value.items()) {
    if (!field.is_null() && IsPersonalColumn(name)) field = oltp::kMaskedValue;
  }
}

Status CheckPersonalSort(const Request& request, std::string_view column,
                         const std::string& parameter) {
  if (SeesPersonalData(request) || !IsPersonalColumn(column)) return OkStatus();
  return Error::PermissionDenied(parameter + ": sorting by " + std::string(column) +
                                 ", a personal field, needs the pii grant");
}

}  // namespace migsbyu::portal
