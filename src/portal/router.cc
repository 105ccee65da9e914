#include "portal/router.h"

#include "common/log.h"

namespace migsbyu::portal {

bool RoleHolds(Role role, Permission permission) {
  switch (permission) {
    case Permission::kPublic:
    case Permission::kRead:
      return true;
    case Permission::kWrite:
      return role == Role::kRegistrar || role == Role::kAdmin;
    case Permission::kConsole:
      return role == Role::kAnalyst || role == Role::kAdmin;
    case Permission::kAdmin:
      return role == Role::kAdmin;
  }
  return false;
}

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kViewer:
      return "viewer";
    case Role::kAnalyst:
      return "analyst";
    case Role::kRegistrar:
      return "registrar";
    case Role::kAdmin:
      return "admin";
  }
  return "viewer";
}

std::optional<Role> ParseRole(std::string_view name) {
  for (Role r : {Role::kViewer, Role::kAnalyst, Role::kRegistrar, Role::kAdmin}) {
    if (RoleName(r) == name) return r;
  }
  return std::nullopt;
}

std::string_view PermissionName(Permission permission) {
  switch (permission) {
    case Permission::kPublic:
      return "public";
    case Permission::kRead:
      return "read";
    case Permission::kWrite:
      return "write";
    case Permission::kConsole:
      return "console";
    case Permission::kAdmin:
      return "admin";
  }
  return "admin";
}

namespace {

std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (true) {
    auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

bool IsParam(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

// Literal segments matched, or -1 if the pattern does not match the path.
int MatchSegments(const std::vector<std::string>& want, const std::vector<std::string_view>& got) {
  if (want.size() != got.size()) return -1;
  int literals = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    if (IsParam(want[i])) {
      if (got[i].empty()) return -1;
    } else if (want[i] == got[i]) {
      ++literals;
    } else {
      return -1;
    }
  }
  return literals;
}

std::vector<std::string> PatternSegments(std::string_view pattern) {
  std::vector<std::string> out;
  for (auto s : Segments(pattern)) out.emplace_back(s);
  return out;
}

int StatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return 400;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kConflict:
      return 409;
    case ErrorCode::kValidation:
      return 422;
    case ErrorCode::kTooLarge:
      return 413;
    case ErrorCode::kUnauthenticated:
      return 401;
    case ErrorCode::kPermissionDenied:
      return 403;
    case ErrorCode::kTooManyRequests:
      return 429;
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kCorruption:
    case ErrorCode::kCancelled:
    case ErrorCode::kInternal:
      break;
  }
  return 500;
}

// FastAPI's (pydantic's) error type for one of our field messages.
std::string ErrorType(const std::string& message) {
  if (message == "field required") return "value_error.missing";
  if (message == "extra fields not permitted") return "value_error.extra";
  if (message == "none is not an allowed value") return "type_error.none.not_allowed";
  if (message == "str type expected") return "type_error.str";
  if (message == "value is not a valid dict") return "type_error.dict";
  const std::string_view not_valid = "value is not a valid ";
  if (message.starts_with(not_valid)) return "type_error." + message.substr(not_valid.size());
  return "value_error";
}

// "body.gpa" -> ["body", "gpa"]; a bare name is a body field.
nlohmann::json Location(const std::string& field) {
  nlohmann::json loc = nlohmann::json::array();
  std::string_view rest = field;
  bool first = true;
  while (true) {
    auto dot = rest.find('.');
    auto part = rest.substr(0, dot);
    if (first && part != "body" && part != "query" && part != "path" && part != "header") {
      loc.push_back("body");
    }
    first = false;
    loc.push_back(std::string(part));
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  return loc;
}

// An operation's access in OpenAPI: who may call it, how they prove it, and the refusals.
void DescribeAccess(Permission permission, const nlohmann::json& schemes, nlohmann::json* op) {
  nlohmann::json roles = nlohmann::json::array();
  for (Role r : {Role::kViewer, Role::kAnalyst, Role::kRegistrar, Role::kAdmin}) {
    if (RoleHolds(r, permission)) roles.push_back(RoleName(r));
  }
  (*op)["x-permission"] = PermissionName(permission);
  (*op)["x-roles"] = permission == Permission::kPublic ? nlohmann::json::array({"anyone"}) : roles;
  if (schemes.empty()) return;
  if (permission == Permission::kPublic) {
    (*op)["security"] = nlohmann::json::array();
    return;
  }
  nlohmann::json alternatives = nlohmann::json::array();
  for (const auto& [name, scheme] : schemes.items()) {
    alternatives.push_back({{name, nlohmann::json::array()}});
  }
  (*op)["security"] = alternatives;
  nlohmann::json& responses = (*op)["responses"];
  auto error = [](const std::string& description) {
    return nlohmann::json{
        {"description", description},
        {"content",
         {{"application/json", {{"schema", {{"$ref", "#/components/schemas/HTTPError"}}}}}}}};
  };
  if (!responses.contains("401")) {
    responses["401"] = error("Not signed in, or the session or token has ended");
  }
  if (!responses.contains("403")) {
    std::string who;
    for (const auto& r : roles) who += (who.empty() ? "" : ", ") + r.get<std::string>();
    responses["403"] =
        error("Signed in with a role that lacks the " + std::string(PermissionName(permission)) +
              " permission (held by " + who + ")");
  }
}

}  // namespace

std::optional<std::string> Request::Query(const std::string& name) const {
  auto it = query.find(name);
  if (it == query.end()) return std::nullopt;
  return it->second;
}

std::string Request::PathParam(const std::string& name) const {
  auto it = path_params.find(name);
  return it == path_params.end() ? std::string() : it->second;
}

Response Response::Json(const nlohmann::json& body, int status) {
  Response r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

Response Response::FromError(const Error& error) {
  int status = StatusFor(error.code());
  if (error.code() == ErrorCode::kValidation) {
    nlohmann::json detail = nlohmann::json::array();
    for (const auto& f : error.fields()) {
      detail.push_back(
          {{"loc", Location(f.field)}, {"msg", f.message}, {"type", ErrorType(f.message)}});
    }
    if (detail.empty()) {
      detail.push_back({{"loc", {"body"}}, {"msg", error.message()}, {"type", "value_error"}});
    }
    return Json({{"detail", detail}}, status);
  }
  if (status == 500) {
    MIGSBYU_LOG_ERROR("portal: internal error: {}", error.ToString());
    return Json({{"detail", "Internal Server Error"}}, status);
  }
  if (status == 503) MIGSBYU_LOG_WARN("portal: unavailable: {}", error.ToString());
  return Json({{"detail", error.message()}}, status);
}

void Router::Add(std::string method, std::string pattern, Handler handler, RouteDoc doc) {
  auto segments = PatternSegments(pattern);
  const Lane lane = LaneOf(pattern);
  routes_.push_back({std::move(method), std::move(pattern), std::move(handler), nullptr, nullptr,
                     std::move(doc), std::move(segments), lane});
}

void Router::AddQuery(std::string method, std::string pattern, QueryHandler handler, RouteDoc doc) {
  auto segments = PatternSegments(pattern);
  routes_.push_back({std::move(method), std::move(pattern), nullptr, std::move(handler), nullptr,
                     std::move(doc), std::move(segments), Lane::kFast});
}

void Router::AddEventStream(std::string pattern, StreamPublisher publisher, RouteDoc doc) {
  auto segments = PatternSegments(pattern);
  routes_.push_back({"GET", std::move(pattern), nullptr, nullptr, std::move(publisher),
                     std::move(doc), std::move(segments), Lane::kFast});
}

void Router::UseSlowLane(std::string prefix) {
  slow_prefixes_.push_back(std::move(prefix));
  for (auto& route : routes_) {
    if (route.handler) route.lane = LaneOf(route.pattern);
  }
}

Lane Router::LaneOf(const std::string& pattern) const {
  for (const auto& prefix : slow_prefixes_) {
    if (pattern.starts_with(prefix)) return Lane::kSlow;
  }
  return Lane::kFast;
}

void Router::AddSchema(const std::string& name, nlohmann::json schema) {
  schemas_[name] = std::move(schema);
}

void Router::AddSecurityScheme(const std::string& name, nlohmann::json scheme) {
  security_schemes_[name] = std::move(scheme);
}

Router::Match Router::Find(const std::string& method, const std::string& path) const {
  Match best;
  int best_literals = -1;
  const std::string_view wanted = method == "HEAD" ? std::string_view("GET") : method;
  const auto got = Segments(path);
  for (const auto& route : routes_) {
    int literals = MatchSegments(route.segments, got);
    if (literals < 0) continue;
    best.path_matched = true;
    if (route.method != wanted || literals <= best_literals) continue;
    best_literals = literals;
    best.route = &route;
  }
  if (best.route != nullptr) {
    for (size_t i = 0; i < got.size(); ++i) {
      const std::string& want = best.route->segments[i];
      if (IsParam(want)) best.params[want.substr(1, want.size() - 2)] = got[i];
    }
  }
  return best;
}

nlohmann::json Router::OpenApi(const std::string& title, const std::string& version) const {
  nlohmann::json paths = nlohmann::json::object();
  for (const auto& route : routes_) {
    nlohmann::json op = nlohmann::json::object();
    op["operationId"] = route.method + " " + route.pattern;
    if (!route.doc.summary.empty()) op["summary"] = route.doc.summary;
    if (!route.doc.tag.empty()) op["tags"] = {route.doc.tag};
    nlohmann::json parameters =
        route.doc.parameters.is_array() ? route.doc.parameters : nlohmann::json::array();
    // Every {name} of the pattern is a path parameter, documented or not.
    for (auto segment : Segments(route.pattern)) {
      if (!IsParam(segment)) continue;
      std::string name(segment.substr(1, segment.size() - 2));
      bool documented = false;
      for (const auto& p : parameters)
        documented = documented || (p.value("in", "") == "path" && p.value("name", "") == name);
      if (!documented) {
        parameters.push_back(
            {{"name", name}, {"in", "path"}, {"required", true}, {"schema", {{"type", "string"}}}});
      }
    }
    if (!parameters.empty()) op["parameters"] = parameters;
    if (!route.doc.request_body.is_null()) op["requestBody"] = route.doc.request_body;
    if (!route.doc.responses.is_null() && !route.doc.responses.empty()) {
      op["responses"] = route.doc.responses;
    } else if (route.stream) {
      op["responses"] = {{"200",
                          {{"description", "A stream of server-sent events"},
                           {"content", {{"text/event-stream", nlohmann::json::object()}}}}}};
    } else {
      op["responses"] = {{"200", {{"description", "Success"}}}};
    }
    if (route.doc.permission) DescribeAccess(*route.doc.permission, security_schemes_, &op);
    std::string method = route.method;
    for (auto& ch : method) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    paths[route.pattern][method] = op;
  }
  nlohmann::json doc = {
      {"openapi", "3.0.3"}, {"info", {{"title", title}, {"version", version}}}, {"paths", paths}};
  doc["components"]["schemas"] = schemas_;
  if (!security_schemes_.empty()) doc["components"]["securitySchemes"] = security_schemes_;
  doc["components"]["schemas"]["HTTPError"] = {
      {"type", "object"},
      {"properties", {{"detail", {{"description", "What failed and with which input"}}}}},
      {"required", {"detail"}}};
  return doc;
}

}  // namespace migsbyu::portal
