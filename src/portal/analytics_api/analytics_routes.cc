#include "portal/analytics_api/analytics_routes.h"

#include <algorithm>
#include <charconv>

#include "analytics/instant.h"
#include "analytics/status.h"
#include "analytics/tables.h"
#include "oltp/entity.h"
#include "portal/csv.h"
#include "portal/masking.h"

namespace migsbyu::portal {
namespace {

using analytics::Clock;

constexpr const char* kTag = "analytics";

// ---- Query parameters ----

// The parameter's value, or nullopt when absent or empty.
std::optional<std::string> Text(const Request& request, const std::string& name) {
  auto value = request.Query(name);
  if (!value || value->empty()) return std::nullopt;
  return value;
}

Result<int64_t> Integer(const Request& request, const std::string& name, int64_t fallback) {
  auto text = Text(request, name);
  if (!text) return fallback;
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size()) {
    return Error::InvalidArgument(name + ": '" + *text + "' is not an integer");
  }
  return value;
}

Result<std::optional<bool>> Boolean(const Request& request, const std::string& name) {
  auto text = Text(request, name);
  if (!text) return std::optional<bool>();
  if (*text == "true" || *text == "1" || *text == "yes") return std::optional<bool>(true);
  if (*text == "false" || *text == "0" || *text == "no") return std::optional<bool>(false);
  return Error::InvalidArgument(name + ": '" + *text + "' is not true or false");
}

Result<std::optional<int64_t>> Instant(const Request& request, const std::string& name) {
  auto text = Text(request, name);
  if (!text) return std::optional<int64_t>();
  MIGSBYU_ASSIGN(int64_t micros, analytics::ParseInstantMicros(*text, name));
  return std::optional<int64_t>(micros);
}

// The instant `request` asks for: the date-time parameter `name`, or the instant of the Iceberg
// snapshot `as_of_snapshot` names (Service::SnapshotInstant: 404 for an id no retained lake
// commit names). Both given: 400. `*from_snapshot` says which it was.
Result<std::optional<int64_t>> InstantOrSnapshot(analytics::Service& service,
                                                 const Request& request, const std::string& name,
                                                 bool* from_snapshot) {
  *from_snapshot = false;
  MIGSBYU_ASSIGN(auto at, Instant(request, name));
  auto snapshot = Text(request, "as_of_snapshot");
  if (!snapshot) return at;
  if (at) {
    return Error::InvalidArgument(name + ", as_of_snapshot: give an instant or a snapshot id, " +
                                  "not both");
  }
  int64_t id = 0;
  auto [end, ec] = std::from_chars(snapshot->data(), snapshot->data() + snapshot->size(), id);
  if (ec != std::errc() || end != snapshot->data() + snapshot->size()) {
    return Error::InvalidArgument("as_of_snapshot: '" + *snapshot +
                                  "' is not an Iceberg snapshot id (a decimal integer)");
  }
  MIGSBYU_ASSIGN(int64_t micros, service.SnapshotInstant(id));
  *from_snapshot = true;
  return std::optional<int64_t>(micros);
}

// Tells the client which instant a snapshot id stood for.
Response WithSnapshotInstant(Response response, bool from_snapshot, std::optional<int64_t> at) {
  if (from_snapshot && at && response.status == 200) {
    response.headers.emplace_back("X-As-Of", analytics::FormatInstant(analytics::FromMicros(*at)));
  }
  return response;
}

Result<analytics::Paging> PagingOf(const Request& request) {
  analytics::Paging paging;
  MIGSBYU_ASSIGN(paging.skip, Integer(request, "skip", 0));
  MIGSBYU_ASSIGN(paging.limit, Integer(request, "limit", 100));
  return paging;
}

// ---- Responses ----

// Masks the old and new values of the personal fields in `changes` ([{field, old, new}]).
void MaskPersonalChanges(nlohmann::json& changes) {
  for (auto& change : changes) {
    if (!change.is_object() || !change.value("field", nlohmann::json()).is_string() ||
        !IsPersonalColumn(change["field"].get<std::string>())) {
      continue;
    }
    for (const char* side : {"old", "new"}) {
      if (change.contains(side) && !change[side].is_null()) change[side] = oltp::kMaskedValue;
    }
  }
}

// Rows of the lake for `request`: personal fields masked unless its principal may see them
// (portal/masking.h). Every answer below goes through one of these two.
Response PageResponse(const Request& request, Result<analytics::Page> page) {
  if (!page.ok()) return Response::FromError(page.error());
  if (!SeesPersonalData(request)) MaskPersonalFields(page->rows);
  Response response = Response::Json(page->rows);
  response.headers.emplace_back("X-Total-Count", std::to_string(page->total));
  return response;
}

// A history ({"versions": [...]}, each version's "changes" [{field, old, new}]) or an aggregate
// (an array of objects).
Response JsonResponse(const Request& request, Result<nlohmann::json> body) {
  if (!body.ok()) return Response::FromError(body.error());
  if (!SeesPersonalData(request)) {
    MaskPersonalFields(*body);
    if (body->is_object() && body->contains("versions")) {
      for (auto& version : (*body)["versions"]) {
        MaskPersonalFields(version);
        if (version.contains("changes")) MaskPersonalChanges(version["changes"]);
      }
    }
  }
  return Response::Json(*body);
}

// Runs `handler`, turning a parameter error it returns into a 400.
Response Guard(const std::function<Result<Response>()>& handler) {
  auto response = handler();
  if (!response.ok()) return Response::FromError(response.error());
  return std::move(response).value();
}

nlohmann::json CommitJson(const analytics::LakeCommit& commit) {
  return {{"version", commit.version},
          {"end_lsn", commit.end_lsn.ToString()},
          {"commit_time", commit.commit_time
                              ? nlohmann::json(analytics::FormatInstant(*commit.commit_time))
                              : nlohmann::json(nullptr)}};
}

// ---- OpenAPI ----

nlohmann::json QueryParam(const std::string& name, const std::string& type,
                          const std::string& description, nlohmann::json enumeration = nullptr) {
  nlohmann::json schema = {{"type", type}};
  if (type == "date-time") schema = {{"type", "string"}, {"format", "date-time"}};
  if (!enumeration.is_null()) schema["enum"] = std::move(enumeration);
  return {{"name", name},
          {"in", "query"},
          {"required", false},
          {"description", description},
          {"schema", schema}};
}

nlohmann::json PathParam(const std::string& name, const std::string& description,
                         nlohmann::json enumeration = nullptr) {
  nlohmann::json schema = {{"type", "string"}};
  if (!enumeration.is_null()) schema["enum"] = std::move(enumeration);
  return {{"name", name},
          {"in", "path"},
          {"required", true},
          {"description", description},
          {"schema", schema}};
}

nlohmann::json PagingDocs() {
  return {QueryParam("skip", "integer", "Rows to skip (default 0)."),
          QueryParam("limit", "integer", "Rows to return (default 100, at most 10000).")};
}

nlohmann::json Append(nlohmann::json list, const nlohmann::json& more) {
  for (const auto& item : more) list.push_back(item);
  return list;
}

nlohmann::json JsonResponses(const std::string& description, bool paged = false) {
  nlohmann::json ok = {{"description", description},
                       {"content", {{"application/json", nlohmann::json::object()}}}};
  if (paged) {
    ok["headers"] = {
        {"X-Total-Count",
         {{"description", "Rows matching in all"}, {"schema", {{"type", "integer"}}}}}};
  }
  return {{"200", ok},
          {"400", {{"description", "A parameter is invalid; detail names it"}}},
          {"404", {{"description", "Unknown entity, table or id"}}}};
}

nlohmann::json AsOfSnapshotDocs() {
  return QueryParam(
      "as_of_snapshot", "string",
      "An Iceberg snapshot id of any of the lake's tables (GET /analytics/snapshots): "
      "as of the lake commit that snapshot holds; the X-As-Of header gives its "
      "instant. Not together with the instant.");
}

nlohmann::json EntityNames() {
  nlohmann::json names = nlohmann::json::array();
  for (const auto& d : analytics::Dimensions()) names.push_back(d.entity);
  return names;
}

nlohmann::json AsOfTableNames() {
  nlohmann::json names = nlohmann::json::array();
  for (const auto& t : analytics::OperationalTables()) names.push_back(t.name);
  for (const auto& d : analytics::Dimensions()) names.push_back(d.view);
  return names;
}

// ---- Routes ----

void AddDimensionRoutes(Router& router, analytics::Service& service) {
  router.Add(
      "GET", "/analytics/dimensions/{entity}",
      [&service](const Request& request) {
        return Guard([&]() -> Result<Response> {
          analytics::DimensionQuery query;
          query.entity = request.PathParam("entity");
          query.id = Text(request, "id");
          query.q = Text(request, "q");
          MIGSBYU_ASSIGN(query.current, Boolean(request, "current"));
          MIGSBYU_ASSIGN(query.deleted, Boolean(request, "deleted"));
          bool from_snapshot = false;
          MIGSBYU_ASSIGN(query.as_of_micros,
                         InstantOrSnapshot(service, request, "as_of", &from_snapshot));
          query.sort = Text(request, "sort");
          if (query.sort) MIGSBYU_TRY(CheckPersonalSort(request, *query.sort));
          auto order = Text(request, "order").value_or("asc");
          if (order != "asc" && order != "desc") {
            return Error::InvalidArgument("order: '" + order + "' is not asc or desc");
          }
          query.descending = order == "desc";
          MIGSBYU_ASSIGN(query.paging, PagingOf(request));
          return WithSnapshotInstant(PageResponse(request, service.Dimension(query)), from_snapshot,
                                     query.as_of_micros);
        });
      },
      {.summary = "Versions of an SCD Type 2 dimension, filtered, sorted and paginated",
       .tag = kTag,
       .parameters = Append(
           {PathParam("entity",
                      "The dimension: students, professors, courses, or a captured table with "
                      "a dimension in the lake (GET /analytics/lake-dimensions lists them)"),
            QueryParam("id", "string", "Exact id (the portal's dimensions)"),
            QueryParam("q", "string",
                       "Text the id or the name contains, any case (the portal's dimensions)"),
            QueryParam("current", "boolean", "true: current versions only; false: past ones"),
            QueryParam("deleted", "boolean", "Versions closed by a delete (true) or not"),
            QueryParam("as_of", "date-time", "Versions in force at this instant"),
            AsOfSnapshotDocs(),
            QueryParam("sort", "string", "A column of the dimension (default its surrogate key)"),
            QueryParam("order", "string", "Sort order", {"asc", "desc"})},
           PagingDocs()),
       .request_body = nullptr,
       .responses = JsonResponses("Versions; X-Total-Count gives the number matching", true),
       .permission = Permission::kRead});

  router.Add(
      "GET", "/analytics/lake-dimensions",
      [&service](const Request& request) {
        return JsonResponse(request, service.LakeDimensions());
      },
      {.summary = "The SCD Type 2 dimensions the lake holds: the portal's and those of "
                  "any other captured table",
       .tag = kTag,
       .parameters = nlohmann::json::array(),
       .request_body = nullptr,
       .responses = JsonResponses("[{entity, table, view, key_column, portal, columns, versions, "
                                  "current_versions}]"),
       .permission = Permission::kRead});

  router.Add("GET", "/analytics/history/{entity}/{id}",
             [&service](const Request& request) {
               return JsonResponse(
                   request, service.History(request.PathParam("entity"), request.PathParam("id")));
             },
             {.summary = "Every version of one record, with the fields each version changed",
              .tag = kTag,
              .parameters = {PathParam("entity", "The dimension", EntityNames()),
                             PathParam("id", "The record's id")},
              .request_body = nullptr,
              .responses = JsonResponses(
                  "{entity, id, versions: [version + operation, commit_time, lsn, deleted_at, "
                  "changes: [{field, old, new}]]}"),
              .permission = Permission::kRead});

  router.Add(
      "GET", "/analytics/as-of/{table}",
      [&service](const Request& request) {
        return Guard([&]() -> Result<Response> {
          bool from_snapshot = false;
          MIGSBYU_ASSIGN(auto at, InstantOrSnapshot(service, request, "at", &from_snapshot));
          if (!at) {
            return Error::InvalidArgument(
                "at: an ISO-8601 instant (or as_of_snapshot, an Iceberg snapshot id) is required");
          }
          MIGSBYU_ASSIGN(auto paging, PagingOf(request));
          return WithSnapshotInstant(
              PageResponse(request, service.AsOf(request.PathParam("table"), *at, paging)),
              from_snapshot, at);
        });
      },
      {.summary = "A table as it was at an instant or at an Iceberg snapshot of the lake",
       .tag = kTag,
       .parameters = Append(
           {PathParam("table",
                      "An operational table (replayed from its change log) or "
                      "a dimension (versions in force)",
                      AsOfTableNames()),
            QueryParam("at", "date-time", "The instant (required unless as_of_snapshot is given)"),
            AsOfSnapshotDocs()},
           PagingDocs()),
       .request_body = nullptr,
       .responses = JsonResponses("Rows; X-Total-Count gives the number in all", true),
       .permission = Permission::kRead});

  router.Add("GET", "/analytics/fact",
             [&service](const Request& request) {
               return Guard([&]() -> Result<Response> {
                 analytics::FactQuery query;
                 query.semester = Text(request, "semester");
                 query.student_id = Text(request, "student_id");
                 query.course_id = Text(request, "course_id");
                 query.professor_id = Text(request, "professor_id");
                 MIGSBYU_ASSIGN(query.paging, PagingOf(request));
                 return PageResponse(request, service.Fact(query));
               });
             },
             {.summary = "The course enrollment fact, with the natural ids of its keys",
              .tag = kTag,
              .parameters = Append({QueryParam("semester", "string", "e.g. Fall 2026"),
                                    QueryParam("student_id", "string", "The student's id"),
                                    QueryParam("course_id", "string", "The course's id"),
                                    QueryParam("professor_id", "string", "The professor's id")},
                                   PagingDocs()),
              .request_body = nullptr,
              .responses = JsonResponses("Fact rows in commit order; X-Total-Count", true),
              .permission = Permission::kRead});
}

void AddAggregateRoutes(Router& router, analytics::Service& service) {
  const std::string base = "/analytics/aggregates/";
  router.Add(
      "GET", base + "enrollments-per-semester",
      [&service](const Request& request) {
        return JsonResponse(request, service.EnrollmentsPerSemester());
      },
      {.summary = "Net enrollments per semester: [{label: semester, value}] in calendar order",
       .tag = kTag,
       .request_body = nullptr,
       .responses = JsonResponses("[{label, value}]"),
       .permission = Permission::kRead});
  router.Add("GET", base + "enrollments-per-department",
             [&service](const Request& request) {
               return JsonResponse(request, service.EnrollmentsPerDepartment());
             },
             {.summary = "Net enrollments per course department: [{label: department, value}]",
              .tag = kTag,
              .request_body = nullptr,
              .responses = JsonResponses("[{label, value}], largest first"),
              .permission = Permission::kRead});
  router.Add("GET", base + "gpa-distribution",
             [&service](const Request& request) {
               return Guard([&]() -> Result<Response> {
                 MIGSBYU_ASSIGN(auto at, Instant(request, "at"));
                 return JsonResponse(request, service.GpaDistribution(at));
               });
             },
             {.summary = "GPA histogram: 16 bins of 0.25 [{label, lower, upper, value}]",
              .tag = kTag,
              .parameters = {QueryParam(
                  "at", "date-time", "Students in force at this instant (default: current ones)")},
              .request_body = nullptr,
              .responses = JsonResponses("[{label, lower, upper, value}]"),
              .permission = Permission::kRead});
  router.Add(
      "GET", base + "headcount",
      [&service](const Request& request) {
        return Guard([&]() -> Result<Response> {
          auto interval = Text(request, "interval").value_or("month");
          if (interval != "day" && interval != "month") {
            return Error::InvalidArgument("interval: '" + interval + "' is not day or month");
          }
          return JsonResponse(
              request, service.Headcount(interval == "day" ? analytics::HeadcountInterval::kDay
                                                           : analytics::HeadcountInterval::kMonth,
                                         analytics::MicrosSinceEpoch(Clock::now())));
        });
      },
      {.summary = "Students in force at the end of each day or month, up to now",
       .tag = kTag,
       .parameters = {QueryParam("interval", "string", "Bucket size (default month)",
                                 {"day", "month"})},
       .request_body = nullptr,
       .responses = JsonResponses("[{label, at, value}]"),
       .permission = Permission::kRead});
}

void AddStatusRoutes(Router& router, analytics::Service& service,
                     const AnalyticsRoutesOptions& options) {
  router.Add(
      "GET", "/analytics/status",
      [&service](const Request&) {
        return Response::Json(analytics::StatusToJson(service.CurrentStatus(), Clock::now()));
      },
      {.summary = "Pipeline status: slot lag, events/s, last committed LSN, freshness, counts",
       .tag = kTag,
       .request_body = nullptr,
       .responses = JsonResponses("The status document"),
       .permission = Permission::kRead});

  router.Add("GET", "/metrics",
             [&service](const Request&) {
               Response response;
               response.content_type = "text/plain; version=0.0.4; charset=utf-8";
               response.body = analytics::StatusToPrometheus(service.CurrentStatus(), Clock::now());
               return response;
             },
             {.summary = "Pipeline metrics in Prometheus' text exposition format",
              .tag = kTag,
              .request_body = nullptr,
              .responses = {{"200",
                             {{"description", "migsbyu_* metrics"},
                              {"content", {{"text/plain", nlohmann::json::object()}}}}}},
              .permission = Permission::kRead});

  router.AddEventStream(
      "/analytics/events",
      [&service, options](EventPublisher& events) {
        // One publisher for every subscriber: `status` is retained, so that a new subscriber
        // gets the latest at once; `commit` goes to those subscribed when it happens.
        uint64_t seen = service.lake().Latest().version;
        // The views as of the last commit announced, to name those each commit changed. Only
        // their definitions are kept: the pin goes at once, so no file is kept from deletion.
        auto view_definitions = [&service]() -> std::optional<analytics::PinnedViews> {
          auto pinned = service.lake().PinViews();
          if (!pinned.ok()) return std::nullopt;
          pinned->pin.reset();
          pinned->files.clear();
          return std::move(*pinned);
        };
        std::optional<analytics::PinnedViews> views = view_definitions();
        auto next_status = std::chrono::steady_clock::now();
        while (!events.stopping() && !(options.stopping && options.stopping())) {
          if (std::chrono::steady_clock::now() >= next_status) {
            events.PublishRetained(
                "status", analytics::StatusToJson(service.CurrentStatus(), Clock::now()).dump());
            next_status += options.status_interval;
          }
          auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(
              next_status - std::chrono::steady_clock::now());
          if (auto commit = service.lake().WaitForCommit(
                  seen, std::max(wait, std::chrono::milliseconds(0)))) {
            seen = commit->version;
            nlohmann::json announced = CommitJson(*commit);
            std::optional<analytics::PinnedViews> now = view_definitions();
            // Without both pins, "tables" is left out: a client then refreshes every view.
            if (views && now) announced["tables"] = analytics::ChangedViews(*views, *now);
            views = std::move(now);
            events.Publish("commit", announced.dump());
          }
        }
      },
      {.summary = "Live events: `commit` at each lake commit, `status` every second",
       .tag = kTag,
       .request_body = nullptr,
       .responses = nullptr,
       .permission = Permission::kRead});
}

void AddSnapshotRoutes(Router& router, analytics::Service& service) {
  router.Add(
      "GET", "/analytics/snapshots",
      [&service](const Request&) {
        auto body = service.Snapshots();
        if (!body.ok()) return Response::FromError(body.error());
        Response response = Response::Json(*body);
        response.headers.emplace_back("Cache-Control", "no-store");
        return response;
      },
      {.summary = "The lake's Iceberg snapshots, newest first: each lake commit still readable "
                  "through Iceberg, its time and what it changed in which table",
       .tag = kTag,
       .request_body = nullptr,
       .responses = JsonResponses(
           "[{lake_version, commit_time, written_at, lsn, end_lsn, snapshots: {table: id}, "
           "changes: [{table, snapshot_id, operation, added_rows, deleted_rows, rows, "
           "complete}]}]; snapshot ids are decimal strings"),
       .permission = Permission::kRead});
}

void AddConsoleRoute(Router& router, analytics::SqlConsole* console) {
  router.Add(
      "POST", "/analytics/sql",
      [console, &router](const Request& request) {
        return Guard([&]() -> Result<Response> {
          if (!console) return Error::Unavailable("the SQL console is not running");
          auto body = nlohmann::json::parse(request.body, nullptr, /*allow_exceptions=*/false);
          if (body.is_discarded() || !body.is_object()) {
            return Error::InvalidArgument(
                "body: expected a JSON object {\"sql\": ..., \"limit\": n}");
          }
          if (!body.contains("sql") || !body["sql"].is_string()) {
            return Error::InvalidArgument("sql: a string is required");
          }
          std::optional<int64_t> limit;
          if (body.contains("limit") && !body["limit"].is_null()) {
            if (!body["limit"].is_number_integer()) {
              return Error::InvalidArgument("limit: an integer is required");
            }
            limit = body["limit"].get<int64_t>();
          }
          // Personal data shows only to a principal with the pii grant; without a principal,
          // only when no gate checks anyone (tests of the HTTP layer, docs/SECURITY.md).
          bool shown = request.principal ? request.principal->pii : router.gate() == nullptr;
          MIGSBYU_ASSIGN(auto result, console->Run(body["sql"].get<std::string>(), limit,
                                                   shown ? analytics::PersonalData::kShown
                                                         : analytics::PersonalData::kMasked));
          return Response::Json(result.ToJson());
        });
      },
      {.summary = "Read-only SQL over the lake's views, run in an isolated worker with row, "
                  "byte, time and memory limits",
       .tag = kTag,
       .request_body =
           {{"required", true},
            {"content",
             {{"application/json",
               {{"schema",
                 {{"type", "object"},
                  {"required", {"sql"}},
                  {"properties",
                   {{"sql", {{"type", "string"}}},
                    {"limit", {{"type", "integer"}, {"minimum", 1}, {"maximum", 10000}}}}}}}}}}}},
       .responses = {{"200",
                      {{"description",
                        "{columns: [{name, type}], rows, truncated, truncated_by (\"rows\" | "
                        "\"bytes\" | null), elapsed_ms}"}}},
                     {"400",
                      {{"description",
                        "Refused, failed, or stopped by a limit (time, memory, CPU); detail says "
                        "why"}}},
                     {"429", {{"description", "Every worker is busy and the queue is full"}}},
                     {"503", {{"description", "The console is not running"}}}},
       .permission = Permission::kConsole});
}

// ---- The Audit API ----

// The filters and page of an audit request: its limit defaults to `default_limit`, at most
// `max_limit`.
Result<analytics::AuditQuery> AuditQueryOf(const Request& request, int64_t default_limit,
                                           int64_t max_limit) {
  analytics::AuditQuery query;
  query.user = Text(request, "user");
  query.origin = Text(request, "origin");
  query.table = Text(request, "table");
  query.op = Text(request, "op");
  query.record = Text(request, "record");
  MIGSBYU_ASSIGN(query.from_micros, Instant(request, "from"));
  MIGSBYU_ASSIGN(query.to_micros, Instant(request, "to"));
  auto order = Text(request, "order").value_or("desc");
  if (order != "asc" && order != "desc") {
    return Error::InvalidArgument("order: '" + order + "' is not asc or desc");
  }
  query.oldest_first = order == "asc";
  MIGSBYU_ASSIGN(query.paging.skip, Integer(request, "skip", 0));
  MIGSBYU_ASSIGN(query.paging.limit, Integer(request, "limit", default_limit));
  if (query.paging.limit < 1 || query.paging.limit > max_limit) {
    return Error::InvalidArgument("limit: " + std::to_string(query.paging.limit) +
                                  " is not between 1 and " + std::to_string(max_limit));
  }
  return query;
}

// Personal values of audit rows read as masked for a principal without the pii grant: in their
// before and after images and in their changes (portal/masking.h).
void MaskAuditRows(const Request& request, nlohmann::json& rows) {
  if (SeesPersonalData(request)) return;
  for (auto& row : rows) {
    for (const char* image : {"before", "after"}) {
      if (row.contains(image)) MaskPersonalFields(row[image]);
    }
    if (row.contains("changes")) MaskPersonalChanges(row["changes"]);
  }
}

// The page of the audit trail `request` asks for, masked for its principal.
Result<analytics::Page> AuditPage(analytics::Service& service, const Request& request,
                                  int64_t default_limit, int64_t max_limit) {
  MIGSBYU_ASSIGN(auto query, AuditQueryOf(request, default_limit, max_limit));
  MIGSBYU_ASSIGN(auto page, service.Audit(query));
  MaskAuditRows(request, page.rows);
  return page;
}

// A JSON value as a CSV cell's text: strings as they are, null as "", others as JSON.
std::string CellText(const nlohmann::json& value) {
  if (value.is_null()) return "";
  if (value.is_string()) return value.get<std::string>();
  return value.dump();
}

std::string AuditCsv(const nlohmann::json& rows) {
  std::string csv;
  AppendCsvRow(&csv, {"commit_time", "changed_by", "origin", "table", "operation", "record",
                      "changes", "lsn", "position", "xid"});
  for (const auto& row : rows) {
    std::string changes;
    for (const auto& change : row["changes"]) {
      auto side = [&](const char* name) {
        return change[name].is_null() ? std::string("(none)") : CellText(change[name]);
      };
      changes += (changes.empty() ? "" : "; ") + change["field"].get<std::string>() + ": " +
                 side("old") + " → " + side("new");
    }
    AppendCsvRow(
        &csv, {CellText(row["commit_time"]), CellText(row["changed_by"]), CellText(row["origin"]),
               CellText(row["table"]), CellText(row["operation"]), CellText(row["record"]), changes,
               CellText(row["lsn"]), CellText(row["position"]), CellText(row["xid"])});
  }
  return csv;
}

nlohmann::json AuditFilterDocs() {
  return nlohmann::json::array(
      {QueryParam("user", "string", "Changes made by this user (changed_by)"),
       QueryParam("origin", "string", "Changes made through this part of MigsbyU, or outside it",
                  {"portal", "simulator", "cli", "snapshot", "database"}),
       QueryParam("table", "string", "Changes of this table",
                  {"students", "professors", "courses", "takes", "teaches"}),
       QueryParam("op", "string", "Changes of this kind", {"r", "c", "u", "d", "t"}),
       QueryParam("record", "string", "Changes of the row with this key value"),
       QueryParam("from", "date-time", "Committed at or after this instant"),
       QueryParam("to", "date-time", "Committed before this instant"),
       QueryParam("order", "string", "By commit: newest first (default) or oldest first",
                  {"desc", "asc"}),
       QueryParam("skip", "integer", "Changes to skip (default 0)")});
}

void AddAuditRoutes(Router& router, analytics::Service& service) {
  router.Add(
      "GET", "/analytics/audit",
      [&service](const Request& request) {
        return Guard([&]() -> Result<Response> {
          MIGSBYU_ASSIGN(auto page, AuditPage(service, request, 100, analytics::kMaxPageSize));
          Response response = PageResponse(request, page);
          response.headers.emplace_back("Cache-Control", "no-store");
          return response;
        });
      },
      {.summary = "The audit trail: changes by user, table and time, newest first",
       .tag = kTag,
       .parameters = Append(
           AuditFilterDocs(),
           {QueryParam("limit", "integer", "Changes to return (default 100, at most 10000)")}),
       .request_body = nullptr,
       .responses = JsonResponses(
           "[{table, op, operation, commit_time, changed_by, origin, lsn, position, xid, key, "
           "record, before, after, changes}]; X-Total-Count",
           true),
       .permission = Permission::kAdmin});

  router.Add(
      "GET", "/analytics/audit.csv",
      [&service](const Request& request) {
        return Guard([&]() -> Result<Response> {
          MIGSBYU_ASSIGN(auto page, AuditPage(service, request, analytics::kMaxAuditPageSize,
                                              analytics::kMaxAuditPageSize));
          Response response;
          response.content_type = "text/csv; charset=utf-8";
          response.body = AuditCsv(page.rows);
          response.headers.emplace_back("Content-Disposition",
                                        "attachment; filename=\"migsbyu-audit.csv\"");
          response.headers.emplace_back("X-Total-Count", std::to_string(page.total));
          response.headers.emplace_back("Cache-Control", "no-store");
          return response;
        });
      },
      {.summary = "The audit trail as a CSV download (the same filters)",
       .tag = kTag,
       .parameters = Append(
           AuditFilterDocs(),
           {QueryParam("limit", "integer", "Changes to return (default and at most 100000)")}),
       .request_body = nullptr,
       .responses = {{"200",
                      {{"description",
                        "commit_time, changed_by, origin, table, operation, record, changes, lsn, "
                        "position, xid; X-Total-Count gives the number matching"},
                       {"content", {{"text/csv", nlohmann::json::object()}}}}},
                     {"400", {{"description", "A parameter is invalid; detail names it"}}}},
       .permission = Permission::kAdmin});

  router.Add(
      "GET", "/analytics/audit/actors",
      [&service](const Request& request) { return JsonResponse(request, service.AuditActors()); },
      {.summary = "Who changed anything: [{changed_by, origin, changes, last_change}]",
       .tag = kTag,
       .request_body = nullptr,
       .responses = JsonResponses("[{changed_by, origin, changes, last_change}]"),
       .permission = Permission::kAdmin});
}

}  // namespace

void RegisterAnalyticsRoutes(Router& router, analytics::Service& service,
                             analytics::SqlConsole* console, AnalyticsRoutesOptions options) {
  // Queries of the lake may take long: they never make the other routes wait.
  router.UseSlowLane("/analytics/");
  AddDimensionRoutes(router, service);
  AddAggregateRoutes(router, service);
  AddStatusRoutes(router, service, options);
  AddSnapshotRoutes(router, service);
  AddConsoleRoute(router, console);
  AddAuditRoutes(router, service);
}

}  // namespace migsbyu::portal
