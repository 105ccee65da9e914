// The portal's routes for the UI's data tools: random data and the activity simulator.
//
//   POST /generate            {"students": n, "professors": n, "courses": n, "enrollments": n,
//                              "assignments": n, "seed": optional}  -> the counts inserted and
//                              the seed used (drawn at random when not given)
//   POST /simulation/start    {"rate": events/s, "duration_s": s, "seed": optional,
//                              "max_events": optional} -> the status; 409 if a run is going on
//   POST /simulation/stop     -> the status once the run has ended
//   GET  /simulation          -> {"running", "events", "by_kind", "last_error"}
// Bodies are validated strictly like the REST API's: 400 unparseable JSON, 422 naming each bad
// or unknown field. Generated rows are stamped with the caller (PortalActor, rest_api.h); the
// simulator's events with the user and origin "simulator", whoever started it.
//
// Access: the three POSTs need the write permission (registrar, admin); GET /simulation read.
//
// Threading: handlers run concurrently on the server's workers; the generator uses a leased
// connection, the Simulator is thread-safe.
#pragma once

#include "oltp/simulator.h"
#include "pg/pool.h"
#include "portal/router.h"

namespace migsbyu::portal {

// REQUIRES: `pool` and `simulator` outlive the router's use.
void RegisterGenerateApi(Router& router, pg::Pool& pool, oltp::Simulator& simulator);

}  // namespace migsbyu::portal
