// Router: the portal's table of HTTP routes, independent of the HTTP library underneath.
//
// Components register routes here (the REST API, the analytics API); the portal's server serves
// the same table on the API address (:8000, paths as registered) and on the web address (:8501,
// the same paths under /api, beside the static front-end). /openapi.json is generated from the
// same table, so the document always matches the routes.
//
// Patterns use {name} for a path segment: "/students/{id}". Handlers return a Response; expected
// failures become Response::FromError, the one place that maps ErrorCode to an HTTP status and
// the body {"detail": ...}.
//
// May a handler throw? It may throw a std::exception, but only for what is not an expected
// failure (a broken invariant, std::bad_alloc): an expected failure is a returned error, never an
// exception. The server catches any std::exception that escapes a handler, a QueryHandler or a
// DbCall's `finish`, answers 500 and logs the method, path and what() (as Response::FromError
// does for kInternal); one that escapes an event stream's publisher is logged and ends the
// stream. Nothing else is caught: an exception not derived from std::exception ends the process.
//
// Three kinds of route:
//   - ordinary routes: a Handler that may block (several statements, a transaction, DuckDB); the
//     server runs it on a worker thread, of the fast lane or, for a route under a prefix given to
//     UseSlowLane (analytics, the SQL console), of the slow lane, so that slow queries never make
//     the health check, the records or the UI's files wait;
//   - query routes: a QueryHandler whose work is one SQL statement. It runs on the server's event
//     loop and must not block: it validates the request and answers at once, or returns the
//     statement (a DbCall), which the loop hands to its QueryExecutor (made by the router's
//     QueryExecutorFactory, oltp/query_executor.h: the HTTP layer opens no database connection
//     itself); `finish` makes the response from the outcome, on the loop too;
//   - event streams (server-sent events): one publisher per route, on a thread the server owns,
//     publishes events to every client subscribed; the subscribers are connections held by the
//     event loops (no thread per client).
//
// Access: every route declares the permission it requires (RouteDoc::permission). Before a
// matched route runs, the server asks the router's Gate to admit the request: the gate names the
// Principal the request acts for (Request::principal) or gives the refusal to send (401, 403,
// 429). A router without a gate admits every request without a principal: that is for tests of
// the HTTP layer only, and `migsbyu serve` always installs one.
//
// Threading: register routes and set the gate before the server starts; handlers are then called
// concurrently from the server's threads and must be thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/result.h"
#include "oltp/query_executor.h"

namespace migsbyu::portal {

// What a route requires of its caller. Which roles hold which permission: RoleHolds.
enum class Permission {
  kPublic,   // anyone, signed in or not (health, signing in, the API's description)
  kRead,     // any signed-in user: operational listings and records, analytics reads
  kWrite,    // creating, changing and deleting operational records; generation; simulation
  kConsole,  // the SQL console
  kAdmin,    // users, tokens, sessions, the audit trail, capture operations
};

// The roles of signed-in users (docs/SECURITY.md).
enum class Role { kViewer, kAnalyst, kRegistrar, kAdmin };

// True if `role` holds `permission`: admin everything; registrar read and write; analyst read and
// the console; viewer read. kPublic is held by everyone.
bool RoleHolds(Role role, Permission permission);

// "viewer", "analyst", "registrar", "admin"; ParseRole is its inverse (nullopt for anything else).
std::string_view RoleName(Role role);
std::optional<Role> ParseRole(std::string_view name);
std::string_view PermissionName(Permission permission);

// Who a request acts for, set by the gate before the route's handler runs.
struct Principal {
  std::string user;  // the user's name: what the audit trail records as `changed_by`
  Role role = Role::kViewer;
  bool pii = false;  // may see personal fields (address, date_of_birth) unmasked
};

struct Request {
  std::string method;  // "GET"
  std::string path;    // as received, without the /api prefix
  std::map<std::string, std::string> path_params;
  std::multimap<std::string, std::string> query;
  std::multimap<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::string peer;  // the client's address, as the server saw it (or as a trusted proxy said)
  std::optional<Principal> principal;  // set by the gate; nullopt for public routes and no gate

  // The first value of a query parameter, if present.
  std::optional<std::string> Query(const std::string& name) const;
  // A {name} segment of the pattern; empty if the pattern has none.
  std::string PathParam(const std::string& name) const;
};

struct Response {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;

  static Response Json(const nlohmann::json& body, int status = 200);
  // {"detail": message} — or, for kValidation, {"detail": [{"loc": [...], "msg": ...}, ...]} —
  // with the status for the error's code: 400 invalid argument, 401 unauthenticated, 403
  // permission denied, 404 not found, 409 already exists or conflict, 413 too large, 422
  // validation, 429 too many requests, 503 unavailable, 500 otherwise (the
  // message of a 500 is logged, not sent).
  static Response FromError(const Error& error);
};

using Handler = std::function<Response(const Request&)>;

// One statement for the server to run without blocking, and what to answer once its outcome is
// there. `finish` runs on the event loop: it must not block either.
struct DbCall {
  oltp::Query query;
  std::function<Response(oltp::QueryOutcome outcome)> finish;
};
using QueryHandler = std::function<std::variant<Response, DbCall>(const Request&)>;

// Server-sent events. The server runs a stream route's publisher on a thread of its own from
// Start until Stop; it publishes events, which reach every client subscribed at that moment.
// Every subscriber has a bounded queue: one that falls behind by a whole queue is dropped (it
// reconnects, as EventSource does, and gets the retained state again).
class EventPublisher {
 public:
  virtual ~EventPublisher() = default;
  // Queues "event: <event>\ndata: <data>\n\n" for every current subscriber; never blocks.
  virtual void Publish(std::string_view event, std::string_view data) = 0;
  // As Publish, and kept: a client that subscribes later gets the latest retained event of each
  // name first (state, such as a status document). A subscriber may see one twice around the
  // moment it subscribes.
  virtual void PublishRetained(std::string_view event, std::string_view data) = 0;
  // True once the server is stopping: the publisher should return.
  virtual bool stopping() const = 0;
  // Waits `timeout`, or less if the server stops; returns !stopping().
  virtual bool WaitFor(std::chrono::milliseconds timeout) = 0;
};
// Runs until publisher.stopping() (or returns earlier: the stream's subscribers then get no more
// events). REQUIRES: returns soon after stopping() turns true (Stop waits for it).
using StreamPublisher = std::function<void(EventPublisher& publisher)>;

// Which workers run an ordinary route (see above).
enum class Lane { kFast, kSlow };

// OpenAPI fragments for one operation; empty members are left out of the document.
struct RouteDoc {
  std::string summary;
  std::string tag;
  nlohmann::json parameters = nlohmann::json::array();  // OpenAPI Parameter Objects
  nlohmann::json request_body;                          // OpenAPI Request Body Object
  nlohmann::json responses;                             // OpenAPI Responses Object
  // Who may call the route. A route that declares none is refused to everyone (and a test of the
  // route table fails), so that forgetting it can never open a route.
  std::optional<Permission> permission;
};

class Router;

// Decides for each request that matched a route whether it may run, and as whom.
// Threading: called on the server's event loops, concurrently: thread-safe, and never blocks.
class Gate {
 public:
  virtual ~Gate() = default;
  struct Admission {
    std::optional<Principal> principal;  // admitted as this (nullopt: a public route, anonymous)
    std::optional<Response> refusal;     // set: send this instead of running the route
  };
  // REQUIRES: `permission` is the route's declared permission.
  virtual Admission Admit(const Request& request, Permission permission) const = 0;
};

class Router {
 public:
  struct Route {
    std::string method;
    std::string pattern;
    Handler handler;         // set for ordinary routes
    QueryHandler query;      // set for query routes
    StreamPublisher stream;  // set for event streams (method GET)
    RouteDoc doc;
    std::vector<std::string> segments;  // the pattern split at '/', for matching
    Lane lane = Lane::kFast;            // of an ordinary route: see UseSlowLane
  };

  void Add(std::string method, std::string pattern, Handler handler, RouteDoc doc = {});
  void AddQuery(std::string method, std::string pattern, QueryHandler handler, RouteDoc doc = {});
  void AddEventStream(std::string pattern, StreamPublisher publisher, RouteDoc doc = {});

  // Ordinary routes whose pattern starts with `prefix` ("/analytics/") run on the slow lane's
  // workers: those registered before this call and after it.
  void UseSlowLane(std::string prefix);

  // What runs the query routes' statements: the server asks it for one executor per event loop.
  // Unset (nullptr), query routes that return a DbCall answer 503. REQUIRES: `executors`
  // outlives the router's use.
  void SetQueryExecutors(const oltp::QueryExecutorFactory* executors) { executors_ = executors; }
  const oltp::QueryExecutorFactory* query_executors() const { return executors_; }

  // The gate the server asks before running a route. REQUIRES: `gate` outlives the router's use.
  void SetGate(const Gate* gate) { gate_ = gate; }
  const Gate* gate() const { return gate_; }

  // Components may add schemas under components.schemas of the OpenAPI document.
  void AddSchema(const std::string& name, nlohmann::json schema);
  // And security schemes (components.securitySchemes): once there is one, every operation that
  // is not public lists them all as alternatives in its `security`, public ones `security: []`.
  void AddSecurityScheme(const std::string& name, nlohmann::json scheme);

  // The OpenAPI 3 document of every registered route. Each operation carries
  // `x-permission` (its RouteDoc::permission's name) and `x-roles` (the roles that hold it); a
  // route that declares none has neither, and is refused to everyone once a gate is set.
  nlohmann::json OpenApi(const std::string& title, const std::string& version) const;

  const std::vector<Route>& routes() const { return routes_; }

  // The route for `method` (HEAD finds GET routes) and `path`; when several patterns match, the
  // one with more literal segments wins ("/enrollments/" over "/{x}/"). `path_matched` tells a
  // 405 (some method has this path) from a 404.
  struct Match {
    const Route* route = nullptr;
    std::map<std::string, std::string> params;
    bool path_matched = false;
  };
  Match Find(const std::string& method, const std::string& path) const;

 private:
  Lane LaneOf(const std::string& pattern) const;

  std::vector<Route> routes_;
  std::vector<std::string> slow_prefixes_;
  const oltp::QueryExecutorFactory* executors_ = nullptr;
  const Gate* gate_ = nullptr;
  nlohmann::json schemas_ = nlohmann::json::object();
  nlohmann::json security_schemes_ = nlohmann::json::object();
};

}  // namespace migsbyu::portal
