// The portal's REST API over the operational database, registered on a Router.
//
// Every route is generated from the entity descriptions (oltp/entity.h), so the five kinds of
// record share one path through validation, the repository and the OpenAPI document. For each
// entity E at /E/ (students, professors, courses):
//   POST /E/            create (all fields)            200 record; 409 "<Title> already registered"
//   GET  /E/            list: skip, limit (default 100), sort, order, q; X-Total-Count header
//   GET  /E/{id}        one record                     404 if none
//   PUT  /E/{id}        replace every field            404 if none
//   PATCH /E/{id}       change the given fields        404 if none
//   DELETE /E/{id}      {"ok": true}; 409 naming what refers to it unless ?cascade=true
//   GET  /E/{id}/R      the relation rows R that refer to it (enrollments, assignments)
// For each relation R at /R/ (enrollments = takes, assignments = teaches):
//   POST /R/, GET /R/, DELETE /R/ with the JSON body, GET /R/{student_id|professor_id}
//   (the prototype's route: 404 when there are none).
// Every listing of a relation (GET /R/, /R/{column}, /E/{id}/R) takes ?expand=names: each row
// then also carries the names of the records it refers to ("student_name": "Ada Lovelace",
// "course_name", "professor_name"; null if the record is missing), joined in the same query, so
// a page of names costs one request. Without it the rows are exactly the prototype's.
// And GET /health: {"status": "ok", "database": "ok"}, or 503 when the database cannot answer.
//
// Access (RouteDoc::permission): listings and records need read (any signed-in role); creating,
// changing and deleting need write (registrar, admin); /health is public. A principal without
// the pii grant sees address and date_of_birth as "***" in every record it gets back, the
// answers to its own writes included, cannot sort by them (403) and its ?q= does not search them
// (portal/masking.h).
//
// Status codes: 400 unparseable JSON, 404, 409, 422 validation (one entry per field, FastAPI's
// shape), 503 when no pooled connection is free in time or the database is down.
//
// Every write is stamped with the acting user (PortalActor, through the repository: docs/CDC.md
// "Who changed what"), in the write's own transaction; creating a record stays one statement.
//
// Creating a record and getting one by key are one statement each: they are query routes, run on
// the server's event loops by the router's QueryExecutorFactory (Router::AddQuery,
// Router::SetQueryExecutors: without one they answer 503). The others may take several
// statements and a transaction, on connections leased from `pool`.
//
// Threading: handlers run concurrently on the server's threads; the blocking ones each lease
// their own connection from `pool`.
#pragma once

#include <nlohmann/json.hpp>

#include "common/actor.h"
#include "oltp/entity.h"
#include "oltp/validation.h"
#include "pg/pool.h"
#include "portal/router.h"

namespace migsbyu::portal {

// Registers the routes above and the entities' schemas. REQUIRES: `pool` outlives the router's
// use; the database is migrated; the router's query executors reach the same database as `pool`.
void RegisterRestApi(Router& router, pg::Pool& pool);

// The OpenAPI schema of an entity's body in `mode` (kCreate: all required; kReplace: values
// required; kPatch: none required).
nlohmann::json EntitySchema(const oltp::Entity& entity, oltp::BodyMode mode);

// Who a write of `request` is stamped with: origin "portal" and the principal's user, or no user
// when the request has no principal (a router without a gate: tests of the HTTP layer, a portal
// run without sign-in).
Actor PortalActor(const Request& request);

// Parses a request body as JSON: kInvalidArgument ("Malformed JSON: ...") if it does not parse;
// an empty body is kValidation ("body": "field required"), as FastAPI answers.
Result<nlohmann::json> ParseJsonBody(const std::string& body);

}  // namespace migsbyu::portal
