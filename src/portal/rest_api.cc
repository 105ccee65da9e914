#include "portal/rest_api.h"

#include <memory>

#include "oltp/repository.h"
#include "portal/masking.h"

namespace migsbyu::portal {
namespace {

using nlohmann::json;
using oltp::BodyMode;
using oltp::Entity;
using oltp::Field;
using oltp::FieldType;
using oltp::Repository;

constexpr auto kLeaseTimeout = std::chrono::seconds(5);

std::string Capitalized(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  return s;
}

std::string SchemaName(const Entity& e, BodyMode mode) {
  switch (mode) {
    case BodyMode::kCreate:
      return e.title;
    case BodyMode::kReplace:
      return e.title + "Update";
    case BodyMode::kPatch:
      return e.title + "Patch";
  }
  return e.title;
}

json Ref(const std::string& schema) { return {{"$ref", "#/components/schemas/" + schema}}; }

json JsonBody(const std::string& schema) {
  return {{"required", true}, {"content", {{"application/json", {{"schema", Ref(schema)}}}}}};
}

json ErrorResponses(std::initializer_list<int> statuses) {
  static const std::map<int, std::string> reasons = {
      {400, "Malformed JSON"},
      {404, "Not found"},
      {409, "Already registered, or still referred to"},
      {413, "Body larger than 1 MiB"},
      {422, "Validation failed: one entry per field"},
      {503, "The database is unavailable"}};
  json out = json::object();
  for (int s : statuses) {
    out[std::to_string(s)] = {{"description", reasons.at(s)},
                              {"content", {{"application/json", {{"schema", Ref("HTTPError")}}}}}};
  }
  return out;
}

json Ok(json schema, const std::string& description = "Success") {
  return {{"description", description}, {"content", {{"application/json", {{"schema", schema}}}}}};
}

// The responses of an operation: `ok` for 200 and the listed errors.
json WithErrors(json ok, std::initializer_list<int> statuses) {
  json out = ErrorResponses(statuses);
  out["200"] = std::move(ok);
  return out;
}

json QueryParam(const std::string& name, json schema, const std::string& description) {
  return {{"name", name},
          {"in", "query"},
          {"required", false},
          {"schema", schema},
          {"description", description}};
}

json ListParameters(const Entity& e) {
  json sortable = json::array();
  for (const auto& f : e.fields) sortable.push_back(f.name);
  json params = json::array(
      {QueryParam("skip", {{"type", "integer"}, {"minimum", 0}, {"default", 0}}, "Rows to skip"),
       QueryParam("limit",
                  {{"type", "integer"},
                   {"minimum", 0},
                   {"maximum", oltp::kMaxListLimit},
                   {"default", 100}},
                  "Most rows to return"),
       QueryParam("sort", {{"type", "string"}, {"enum", sortable}}, "Column to sort by"),
       QueryParam("order", {{"type", "string"}, {"enum", {"asc", "desc"}}, {"default", "asc"}},
                  "Sort direction"),
       QueryParam("q", {{"type", "string"}, {"maxLength", 200}},
                  "Case-insensitive text search over the searchable columns")});
  if (e.IsRelation()) {
    std::string names;
    for (const auto& fk : e.foreign_keys) names += (names.empty() ? "" : ", ") + fk.name;
    params.push_back(QueryParam("expand", {{"type", "string"}, {"enum", {"names"}}},
                                "names: each row also carries " + names +
                                    " (null when the record referred to is missing), joined in "
                                    "the same query; without it the rows are unchanged"));
  }
  return params;
}

// The schema of a relation row listed with ?expand=names.
json NamedRelationSchema(const Entity& r) {
  json schema = EntitySchema(r, BodyMode::kCreate);
  schema["title"] = r.title + "WithNames";
  for (const auto& fk : r.foreign_keys) {
    schema["properties"][fk.name] = {
        {"type", "string"},
        {"nullable", true},
        {"description", "The name of the " + fk.column + "'s record; null if it is missing"}};
    schema["required"].push_back(fk.name);
  }
  return schema;
}

json ListResponses(const Entity& e) {
  json items = Ref(e.title);
  if (e.IsRelation()) items = {{"oneOf", {Ref(e.title), Ref(e.title + "WithNames")}}};
  json ok = Ok({{"type", "array"}, {"items", items}});
  ok["headers"]["X-Total-Count"] = {{"description", "Rows matching, ignoring skip and limit"},
                                    {"schema", {{"type", "integer"}}}};
  json out = ErrorResponses({422, 503});
  out["200"] = ok;
  return out;
}

// The handlers of one entity or relation: the same code for all five.
class Collection {
 public:
  Collection(const Entity& entity, pg::Pool& pool) : repo_(entity), pool_(pool) {}

  const Entity& entity() const { return repo_.entity(); }

  // Leases a connection and runs `fn` with it; errors become responses.
  template <typename Fn>
  Response WithConnection(Fn&& fn) const {
    auto lease = pool_.Acquire(kLeaseTimeout);
    if (!lease.ok()) return Response::FromError(lease.error());
    auto result = fn(**lease);
    if (!result.ok()) return Response::FromError(result.error());
    return std::move(result).value();
  }

  static oltp::QueryLookup Lookup(const Request& req) {
    return [&req](const std::string& name) { return req.Query(name); };
  }

  std::vector<std::string> PathKey(const Request& req) const {
    std::vector<std::string> key;
    for (const auto* f : entity().KeyFields()) key.push_back(req.PathParam(f->name));
    return key;
  }

  // The request's record. A caller who sees personal fields masked gets them back as "***" and
  // might send that back: it would overwrite the real value, so it is refused.
  Result<oltp::Record> Body(const Request& req, BodyMode mode,
                            const std::vector<std::string>& path_key = {}) const {
    MIGSBYU_ASSIGN(auto body, ParseJsonBody(req.body));
    if (body.is_object() && !SeesPersonalData(req)) {
      std::vector<FieldError> masked;
      for (const auto& f : entity().fields) {
        auto it = body.find(f.name);
        if (f.pii && it != body.end() && *it == oltp::kMaskedValue) {
          masked.push_back({"body." + f.name,
                            "the masked value cannot be written back; leave the field out (PATCH) "
                            "to keep it"});
        }
      }
      if (!masked.empty()) return Error::Validation(std::move(masked));
    }
    return oltp::ValidateBody(entity(), body, mode, path_key);
  }

  // POST /E/: one INSERT, run by the server's event loop. The answer echoes the record, so it
  // is masked like a read.
  std::variant<Response, DbCall> CreateQuery(const Request& req) const {
    auto record = Body(req, BodyMode::kCreate);
    if (!record.ok()) return Response::FromError(record.error());
    auto params = repo_.InsertParams(*record, PortalActor(req));
    if (!params.ok()) return Response::FromError(params.error());
    return DbCall{.query = {.sql = repo_.insert_sql(),
                            .params = std::move(*params),
                            .prepared = true,
                            .read_only = false},
                  .finish = [this, record = std::move(*record),
                             masked = !SeesPersonalData(req)](oltp::QueryOutcome outcome) {
                    return Answer(repo_.InsertResult(outcome.result, outcome.server_error, record),
                                  masked);
                  }};
  }

  // GET /E/{id}: one SELECT by key, run by the server's event loop.
  std::variant<Response, DbCall> GetQuery(const Request& req) const {
    auto key = PathKey(req);
    return DbCall{
        .query = {.sql = repo_.select_sql(),
                  .params = repo_.KeyParams(key),
                  .prepared = true,
                  .read_only = true},
        .finish = [this, key, masked = !SeesPersonalData(req)](oltp::QueryOutcome outcome) {
          return Answer(repo_.GetResult(outcome.result, key), masked);
        }};
  }

  static Response Answer(Result<json> row, bool masked) {
    if (!row.ok()) return Response::FromError(row.error());
    if (masked) MaskPersonalFields(*row);
    return Response::Json(*row);
  }

  // A listing, optionally restricted to rows whose `column` equals `value`.
  Response List(const Request& req, const Field* column = nullptr,
                const std::string& value = "") const {
    auto query = oltp::ParseListQuery(entity(), Lookup(req));
    if (!query.ok()) return Response::FromError(query.error());
    if (column != nullptr) query->equals.push_back({column, value});
    const bool masked = !SeesPersonalData(req);
    if (query->sort != nullptr) {
      if (auto sort = CheckPersonalSort(req, query->sort->name); !sort.ok()) {
        return Response::FromError(sort.error());
      }
    }
    query->personal = !masked;
    return WithConnection([&](pg::Connection& c) -> Result<Response> {
      MIGSBYU_ASSIGN(auto page, repo_.List(c, *query));
      if (masked) MaskPersonalFields(page.items);
      Response r = Response::Json(page.items);
      r.headers.emplace_back("X-Total-Count", std::to_string(page.total));
      return r;
    });
  }

  Response Update(const Request& req, BodyMode mode) const {
    auto key = PathKey(req);
    auto record = Body(req, mode, key);
    if (!record.ok()) return Response::FromError(record.error());
    return WithConnection([&](pg::Connection& c) -> Result<Response> {
      MIGSBYU_ASSIGN(auto row, repo_.Update(c, key, *record, PortalActor(req)));
      if (!SeesPersonalData(req)) MaskPersonalFields(row);
      return Response::Json(row);
    });
  }

  Response Delete(const Request& req) const {
    auto cascade = oltp::ParseBoolQuery(Lookup(req), "cascade", false);
    if (!cascade.ok()) return Response::FromError(cascade.error());
    return WithConnection([&](pg::Connection& c) -> Result<Response> {
      MIGSBYU_TRY(repo_.Delete(c, PathKey(req), *cascade, PortalActor(req)));
      return Response::Json({{"ok", true}});
    });
  }

  // DELETE /R/ with the relation row as the JSON body.
  Response DeleteByBody(const Request& req) const {
    auto record = Body(req, BodyMode::kCreate);
    if (!record.ok()) return Response::FromError(record.error());
    std::vector<std::string> key;
    for (const auto& v : *record) key.push_back(v.text);
    return WithConnection([&](pg::Connection& c) -> Result<Response> {
      MIGSBYU_TRY(repo_.Delete(c, key, false, PortalActor(req)));
      return Response::Json({{"ok", true}});
    });
  }

  // GET /<relation>/{column}: the prototype's lookup, 404 when there are none.
  Response ListByColumn(const Request& req, const Field* column) const {
    Response r = List(req, column, req.PathParam(column->name));
    if (r.status == 200 && r.body == "[]") {
      return Response::FromError(Error::NotFound("No " + entity().plural + " found for " +
                                                 column->name + " '" + req.PathParam(column->name) +
                                                 "'"));
    }
    return r;
  }

  // GET /<owner>/{id}/<relation>: 404 when the owner does not exist, else the (maybe empty) list.
  Response ListReferring(const Request& req, const Collection& owner, const Field* column) const {
    auto exists = owner.WithConnection([&](pg::Connection& c) -> Result<Response> {
      MIGSBYU_ASSIGN(bool found, owner.repo_.Exists(c, owner.PathKey(req)));
      if (!found) {
        return Error::NotFound(owner.entity().title + " '" + req.PathParam("id") + "' not found");
      }
      return Response{};
    });
    if (exists.status != 200) return exists;
    return List(req, column, req.PathParam("id"));
  }

 private:
  Repository repo_;
  pg::Pool& pool_;
};

void RegisterEntity(Router& router, std::shared_ptr<const Collection> c) {
  const Entity& e = c->entity();
  const std::string base = "/" + e.path + "/";
  const std::string item = base + "{id}";
  const std::string tag = Capitalized(e.plural);
  for (auto mode : {BodyMode::kCreate, BodyMode::kReplace, BodyMode::kPatch}) {
    router.AddSchema(SchemaName(e, mode), EntitySchema(e, mode));
  }
  router.AddQuery("POST", base, [c](const Request& r) { return c->CreateQuery(r); },
                  {"Register a " + e.noun, tag, json::array(), JsonBody(e.title),
                   WithErrors(Ok(Ref(e.title)), {400, 409, 413, 422, 503}), Permission::kWrite});
  router.Add(
      "GET", base, [c](const Request& r) { return c->List(r); },
      {"List " + e.plural, tag, ListParameters(e), nullptr, ListResponses(e), Permission::kRead});
  router.AddQuery("GET", item, [c](const Request& r) { return c->GetQuery(r); },
                  {"Get a " + e.noun, tag, json::array(), nullptr,
                   WithErrors(Ok(Ref(e.title)), {404, 503}), Permission::kRead});
  router.Add("PUT", item, [c](const Request& r) { return c->Update(r, BodyMode::kReplace); },
             {"Replace a " + e.noun + "'s fields", tag, json::array(),
              JsonBody(SchemaName(e, BodyMode::kReplace)),
              WithErrors(Ok(Ref(e.title)), {400, 404, 413, 422, 503}), Permission::kWrite});
  router.Add("PATCH", item, [c](const Request& r) { return c->Update(r, BodyMode::kPatch); },
             {"Change some of a " + e.noun + "'s fields", tag, json::array(),
              JsonBody(SchemaName(e, BodyMode::kPatch)),
              WithErrors(Ok(Ref(e.title)), {400, 404, 413, 422, 503}), Permission::kWrite});
  router.Add("DELETE", item, [c](const Request& r) { return c->Delete(r); },
             {"Delete a " + e.noun, tag,
              json::array({QueryParam("cascade", {{"type", "boolean"}, {"default", false}},
                                      "Also delete the enrollments/assignments that refer to it")}),
              nullptr,
              WithErrors(Ok({{"type", "object"}, {"properties", {{"ok", {{"type", "boolean"}}}}}}),
                         {404, 409, 422, 503}),
              Permission::kWrite});
}

void RegisterRelation(Router& router, std::shared_ptr<const Collection> c,
                      const std::map<std::string, std::shared_ptr<const Collection>>& owners) {
  const Entity& r = c->entity();
  const std::string base = "/" + r.path + "/";
  const std::string tag = Capitalized(r.plural);
  router.AddSchema(r.title, EntitySchema(r, BodyMode::kCreate));
  router.AddSchema(r.title + "WithNames", NamedRelationSchema(r));
  json ok_true = Ok({{"type", "object"}, {"properties", {{"ok", {{"type", "boolean"}}}}}});
  router.AddQuery("POST", base, [c](const Request& q) { return c->CreateQuery(q); },
                  {"Register an " + r.noun, tag, json::array(), JsonBody(r.title),
                   WithErrors(Ok(Ref(r.title)), {400, 409, 413, 422, 503}), Permission::kWrite});
  router.Add(
      "GET", base, [c](const Request& q) { return c->List(q); },
      {"List " + r.plural, tag, ListParameters(r), nullptr, ListResponses(r), Permission::kRead});
  router.Add(
      "DELETE", base, [c](const Request& q) { return c->DeleteByBody(q); },
      {"Delete an " + r.noun + " given as the JSON body", tag, json::array(), JsonBody(r.title),
       WithErrors(ok_true, {400, 404, 413, 422, 503}), Permission::kWrite});
  // The prototype's GET /enrollments/{student_id}: the first foreign key.
  const Field* first = r.Find(r.foreign_keys.front().column);
  json by_first = ListResponses(r);
  by_first.update(ErrorResponses({404}));
  router.Add("GET", base + "{" + first->name + "}",
             [c, first](const Request& q) { return c->ListByColumn(q, first); },
             {"List the " + r.plural + " of one " + first->name + " (404 when none)", tag,
              ListParameters(r), nullptr, by_first, Permission::kRead});
  // GET /<owner>/{id>/<relation> for every foreign key.
  for (const auto& fk : r.foreign_keys) {
    auto owner = owners.at(fk.table);
    const Field* column = r.Find(fk.column);
    json responses = ListResponses(r);
    responses.update(ErrorResponses({404}));
    router.Add("GET", "/" + owner->entity().path + "/{id}/" + r.path,
               [c, owner, column](const Request& q) { return c->ListReferring(q, *owner, column); },
               {"List a " + owner->entity().noun + "'s " + r.plural, tag, ListParameters(r),
                nullptr, responses, Permission::kRead});
  }
}

}  // namespace

Actor PortalActor(const Request& request) {
  return Actor::Portal(request.principal ? std::optional<std::string>(request.principal->user)
                                         : std::nullopt);
}

Result<json> ParseJsonBody(const std::string& body) {
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) {
    return Error::Validation({{"body", "field required"}});
  }
  try {
    return json::parse(body);
  } catch (const json::exception& e) {
    std::string what = e.what();
    // "[json.exception.parse_error.101] parse error at line 1, ..." -> "parse error at line 1, ..."
    if (auto close = what.find("] "); what.starts_with("[json.") && close != std::string::npos) {
      what = what.substr(close + 2);
    }
    return Error::InvalidArgument("Malformed JSON: " + what);
  }
}

json EntitySchema(const Entity& e, BodyMode mode) {
  json properties = json::object();
  json required = json::array();
  for (const auto& f : e.fields) {
    json p = {{"description", f.description}};
    switch (f.type) {
      case FieldType::kText:
        p["type"] = "string";
        p["minLength"] = f.min_length;
        p["maxLength"] = f.max_length;
        if (!f.one_of.empty()) p["enum"] = f.one_of;
        if (!f.pattern.empty()) p["pattern"] = f.pattern;
        break;
      case FieldType::kInteger:
        p["type"] = "integer";
        p["format"] = "int32";
        break;
      case FieldType::kDecimal2:
        p["type"] = "number";
        p["multipleOf"] = 0.01;
        break;
      case FieldType::kDate:
        p["type"] = "string";
        p["format"] = "date";
        break;
    }
    if (f.minimum) p["minimum"] = *f.minimum;
    if (f.maximum) p["maximum"] = *f.maximum;
    if (!f.example.is_null()) p["example"] = f.example;
    properties[f.name] = p;
    if (mode == BodyMode::kCreate || (mode == BodyMode::kReplace && !f.key))
      required.push_back(f.name);
  }
  json schema = {{"type", "object"},
                 {"title", SchemaName(e, mode)},
                 {"properties", properties},
                 {"additionalProperties", false}};
  if (!required.empty()) schema["required"] = required;
  return schema;
}

void RegisterRestApi(Router& router, pg::Pool& pool) {
  std::map<std::string, std::shared_ptr<const Collection>> owners;
  for (const auto* e : oltp::AllEntities()) {
    auto c = std::make_shared<const Collection>(*e, pool);
    if (e->IsRelation()) {
      RegisterRelation(router, c, owners);
    } else {
      owners[e->table] = c;
      RegisterEntity(router, c);
    }
  }
  router.Add("GET", "/health",
             [&pool](const Request&) {
               auto lease = pool.Acquire(kLeaseTimeout);
               Result<pg::PgResult> ping =
                   lease.ok() ? (*lease)->Exec("SELECT 1") : Result<pg::PgResult>(lease.error());
               if (!ping.ok()) {
                 return Response::Json({{"status", "unavailable"},
                                        {"database", "unavailable"},
                                        {"detail", ping.error().message()}},
                                       503);
               }
               return Response::Json({{"status", "ok"}, {"database", "ok"}});
             },
             {"Liveness and database reachability",
              "Health",
              json::array(),
              nullptr,
              {{"200", Ok({{"type", "object"}})},
               {"503", {{"description", "The database is unavailable"}}}},
              Permission::kPublic});
}

}  // namespace migsbyu::portal
