// The portal's admin actions on capture (docs/CDC.md "Incremental snapshots"):
//
//   POST /analytics/capture/snapshot    {"tables": ["students", "public.courses", ...]}
//        -> 202 {"requested": [...]}: an incremental snapshot of those captured tables, read in
//           chunks by the running connector while it streams (cdc/incremental.h)
//   POST /analytics/capture/resnapshot  -> 202 {"restarted": true}: capture that stopped because
//           its slot can no longer deliver what follows the lake's position is started again
//           with --on-slot-loss=resnapshot (a new slot and a reconciling snapshot); 409 while
//           capture runs
//
// Both need the admin permission and are logged with the admin's name. The body is validated
// strictly: 400 unparseable JSON, 422 for a missing, unknown or bad field (a table name must be
// `table` or `schema.table` of plain identifiers; 1 to 64 of them).
//
// Threading: handlers run concurrently on the server's workers; the actions must be thread-safe.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/result.h"
#include "portal/router.h"

namespace migsbyu::portal {

struct CaptureActions {
  // Asks for an incremental snapshot of `tables`; kInvalidArgument for a table that cannot be
  // snapshotted: absent, without a primary key, or not captured (answered 422).
  std::function<Status(const std::vector<std::string>& tables)> snapshot;
  // Restarts stopped capture with a resnapshot; kConflict while capture runs.
  std::function<Status()> resnapshot;
};

// REQUIRES: the actions outlive the router's use.
void RegisterCaptureApi(Router& router, CaptureActions actions);

}  // namespace migsbyu::portal
