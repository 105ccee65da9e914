#include "portal/capture_api.h"

#include "common/identifier.h"
#include "common/log.h"
#include "portal/rest_api.h"

namespace migsbyu::portal {
namespace {

using nlohmann::json;

// The tables of a snapshot request body, or the 422 that names what is wrong.
Result<std::vector<std::string>> ReadTables(const std::string& text) {
  MIGSBYU_ASSIGN(auto body, ParseJsonBody(text));
  if (!body.is_object()) return Error::Validation({{"body", "value is not a valid dict"}});
  std::vector<FieldError> errors;
  for (const auto& [name, value] : body.items()) {
    if (name != "tables") errors.push_back({"body." + name, "extra fields not permitted"});
  }
  std::vector<std::string> tables;
  auto it = body.find("tables");
  if (it == body.end()) {
    errors.push_back({"body.tables", "field required"});
  } else if (!it->is_array() || it->empty() || it->size() > 64) {
    errors.push_back({"body.tables", "value is not a list of 1 to 64 table names"});
  } else {
    for (size_t i = 0; i < it->size(); ++i) {
      const json& t = (*it)[i];
      const std::string loc = "body.tables." + std::to_string(i);
      if (!t.is_string()) {
        errors.push_back({loc, "value is not a valid string"});
        continue;
      }
      const std::string name = t.get<std::string>();
      auto dot = name.find('.');
      bool plain = dot == std::string::npos ? IsPlainIdentifier(name)
                                            : IsPlainIdentifier(name.substr(0, dot)) &&
                                                  IsPlainIdentifier(name.substr(dot + 1));
      if (!plain) {
        errors.push_back({loc, "not a table name (table or schema.table)"});
        continue;
      }
      tables.push_back(name);
    }
  }
  if (!errors.empty()) return Error::Validation(std::move(errors));
  return tables;
}

std::string UserOf(const Request& request) {
  return request.principal ? request.principal->user : std::string("(no sign-in)");
}

}  // namespace

void RegisterCaptureApi(Router& router, CaptureActions actions) {
  router.Add(
      "POST", "/analytics/capture/snapshot",
      [snapshot = actions.snapshot](const Request& request) {
        auto tables = ReadTables(request.body);
        if (!tables.ok()) return Response::FromError(tables.error());
        Status requested = snapshot(*tables);
        if (!requested.ok()) {
          if (requested.error().code() != ErrorCode::kInvalidArgument) {
            return Response::FromError(requested.error());
          }
          return Response::FromError(
              Error::Validation({{"body.tables", requested.error().message()}}));
        }
        std::string list;
        for (const auto& t : *tables) list += (list.empty() ? "" : ", ") + t;
        MIGSBYU_LOG_INFO("portal: {} requested an incremental snapshot of {}", UserOf(request),
                         list);
        return Response::Json({{"requested", *tables}}, 202);
      },
      {.summary = "Re-read captured tables in chunks while capture streams on (an incremental "
                  "snapshot the lake reconciles)",
       .tag = "Capture",
       .parameters = json::array(),
       .request_body = {{"required", true},
                        {"content",
                         {{"application/json",
                           {{"schema",
                             {{"type", "object"},
                              {"required", {"tables"}},
                              {"additionalProperties", false},
                              {"properties",
                               {{"tables",
                                 {{"type", "array"},
                                  {"minItems", 1},
                                  {"maxItems", 64},
                                  {"items", {{"type", "string"}}}}}}}}}}}}}},
       .responses = {{"202", {{"description", "Requested; progress in GET /analytics/status"}}},
                     {"422", {{"description", "A bad or uncaptured table"}}}},
       .permission = Permission::kAdmin});
  router.Add(
      "POST", "/analytics/capture/resnapshot",
      [resnapshot = actions.resnapshot](const Request& request) {
        Status restarted = resnapshot();
        if (!restarted.ok()) return Response::FromError(restarted.error());
        MIGSBYU_LOG_INFO("portal: {} restarted capture with a resnapshot", UserOf(request));
        return Response::Json({{"restarted", true}}, 202);
      },
      {.summary = "Restart capture stopped by a lost slot, with a new slot and a reconciling "
                  "snapshot (--on-slot-loss=resnapshot)",
       .tag = "Capture",
       .parameters = json::array(),
       .request_body = nullptr,
       .responses = {{"202", {{"description", "Capture restarted"}}},
                     {"409", {{"description", "Capture is running"}}}},
       .permission = Permission::kAdmin});
}

}  // namespace migsbyu::portal
