// The analytics API: the HTTP routes of the lake's read side, registered on the portal's Router
// (served at these paths on the API address and under /api on the web address).
//
//   GET  /analytics/dimensions/{entity}   entity: students | professors | courses. Query: id, q
//        (id or name contains, any case), current=true|false, deleted=true|false, as_of=<ISO
//        instant> (versions in force then), skip (0), limit (100, ≤ 10,000), sort (a column;
//        default the surrogate key), order=asc|desc → JSON array of versions, X-Total-Count.
//   GET  /analytics/history/{entity}/{id} → {"entity", "id", "versions": [version + "operation",
//        "commit_time", "lsn", "deleted_at", "deleted_by", "deleted_origin", "changes":
//        [{"field", "old", "new"}]]}; each version's changed_by and origin say who made it; 404
//        if none.
//   GET  /analytics/as-of/{table}?at=<ISO instant>&skip&limit   table: students | professors |
//        courses | takes | teaches (replayed from the change log) | students_dim |
//        professors_dim | courses_dim → JSON array, X-Total-Count.
//   GET  /analytics/fact?semester&student_id&course_id&professor_id&skip&limit → JSON array of
//        fact rows with student_id, professor_id, course_id, course_name; X-Total-Count.
//   GET  /analytics/aggregates/enrollments-per-semester → [{"label": semester, "value"}]
//   GET  /analytics/aggregates/enrollments-per-department → [{"label": department, "value"}]
//   GET  /analytics/aggregates/gpa-distribution?at= → [{"label": "3.50–3.75", "lower", "upper",
//        "value"}] (16 bins; current students, or those in force at `at`)
//   GET  /analytics/aggregates/headcount?interval=day|month → [{"label", "at", "value"}]
//   GET  /analytics/status → the pipeline status (analytics/status.h StatusToJson)
//   GET  /metrics → the same in Prometheus' text format (text/plain; version=0.0.4)
//   GET  /analytics/events → text/event-stream: `commit` {"version", "end_lsn", "commit_time",
//        "tables"} at each lake commit, `status` (as GET /analytics/status) at once and every
//        second. "tables" names the views (students_dim, course_enrollment_fact, takes_changes,
//        ...) whose rows may differ from those at the previous `commit` of the stream
//        (analytics::ChangedViews), sorted; it is absent when the lake could not say, and then
//        any view may have changed.
//   POST /analytics/sql {"sql": "...", "limit": n} → {"columns": [{"name", "type"}], "rows":
//        [[...]], "truncated", "truncated_by", "elapsed_ms"}; a refused or failing query, or one
//        stopped by a limit, is 400 {"detail": why}; 429 when the console's queue is full. Personal
//        data is masked unless the principal holds the pii grant (analytics/console.h).
// The Audit API (who changed what, from the change logs; admins only: Permission::kAdmin):
//   GET  /analytics/audit   one page of changes, newest first. Query: user (changed_by), origin
//        (portal | simulator | cli | snapshot | database), table (students | professors |
//        courses | takes | teaches), op (r | c | u | d | t), record (a key value), from, to (ISO
//        instants: from ≤ commit time < to), order=desc|asc, skip (0), limit (100, ≤ 10,000)
//        → JSON array of changes (analytics::Service::Audit), X-Total-Count.
//   GET  /analytics/audit.csv   the same filters as a CSV download (limit ≤ 100,000, default
//        100,000; X-Total-Count says how many match): one row per change, columns commit_time,
//        changed_by, origin, table, operation, record, changes, lsn, position, xid; cells made
//        safe for spreadsheets (portal/csv.h).
//   GET  /analytics/audit/actors → [{"changed_by", "origin", "changes", "last_change"}]: who
//        changed anything, for the audit view's filters.
//   Personal fields (oltp::PiiColumnNames) in a change's images and changes read
//   oltp::kMaskedValue for a principal without the pii grant, in JSON and CSV alike.
// Values of the aggregates and their semantics are documented on analytics::Service.
// Access (RouteDoc::permission): every route needs the read permission (any signed-in role),
// /metrics included (the figures of /analytics/status, which the pipeline page shows everyone;
// a Prometheus scraper then needs no more than a viewer's token), except POST /analytics/sql,
// which needs console (analyst, admin). A principal without the pii grant sees personal fields
// (address, date_of_birth, and before_/after_ forms) as "***" in every answer (portal/masking.h)
// and may not sort a dimension by one (403). The console route hands the principal on in the
// Request; masking inside the console's worker reads Request::principal->pii.
// Instants are ISO-8601 ("2026-11-25T16:15:00Z", offsets allowed); responses give them in UTC
// with microseconds. Bad parameters are 400 naming the parameter.
//
// Threading: register before the server starts; the handlers are thread-safe (Service and
// SqlConsole are). Every route under /analytics/ runs on the server's slow lane
// (Router::UseSlowLane). /analytics/events has one publisher, on a thread of the server's,
// whatever the number of its subscribers.
#pragma once

#include <chrono>
#include <functional>

#include "analytics/console.h"
#include "analytics/service.h"
#include "portal/router.h"

namespace migsbyu::portal {

struct AnalyticsRoutesOptions {
  // How often /analytics/events sends `status`.
  std::chrono::milliseconds status_interval{1000};
  // The event stream's publisher returns when this returns true, or when the server stops.
  std::function<bool()> stopping;
};

// Registers every analytics route on `router`. `service` and `console` must outlive the server
// that serves the router; `console` may be null, and POST /analytics/sql then answers 503.
void RegisterAnalyticsRoutes(Router& router, analytics::Service& service,
                             analytics::SqlConsole* console, AnalyticsRoutesOptions options = {});

}  // namespace migsbyu::portal
