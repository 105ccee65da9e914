// Pipeline status: what the analytics API reports about the change-data pipeline, as JSON for
// GET /analytics/status and the live view, and in Prometheus' text exposition format for
// GET /metrics.
//
// The figures come from two places the analytics component does not own: the CDC connector
// (slot lag, events/s) and the lake (last committed LSN and commit time, commit→visible latency).
// The integrator gathers them in a StatusProvider; the Service adds the per-table row counts it
// reads from the lake itself. Every figure is optional: a pipeline that is off, or a connector
// that has not measured something yet, leaves it unset and the JSON says null / the metric is
// left out, rather than reporting a misleading zero.
//
// Threading: PipelineStatus is a plain value. A StatusProvider is called from the portal's worker
// threads (concurrently) and must be thread-safe; the formatting functions are pure.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "analytics/instant.h"
#include "common/lsn.h"

namespace migsbyu::analytics {

struct PipelineStatus {
  // The CDC connector.
  bool capture_running = false;
  std::optional<int64_t> slot_lag_bytes;  // pg_current_wal_lsn() − the slot's confirmed_flush_lsn
  std::optional<double> slot_lag_seconds;   // now − commit time of the oldest unconfirmed change
  std::optional<double> events_per_second;  // changes applied per second, recent average
  std::optional<uint64_t> events_total;     // changes applied since the process started
  // The slot's health (docs/CDC.md "Slot continuity"): wal_status (reserved, extended,
  // unreserved, lost, or missing), WAL bytes it retains, the safe WAL size before it is at risk
  // (unset when max_slot_wal_keep_size is unlimited), and whether retention is a risk now.
  std::optional<std::string> slot_wal_status;
  std::optional<int64_t> slot_retained_wal_bytes;
  std::optional<int64_t> slot_safe_wal_size_bytes;
  std::optional<bool> slot_retention_warning;
  std::optional<std::string> capture_error;  // the connector's last error, when it has one
  std::optional<uint64_t> dead_letters;      // changes set aside as unstorable (lake dead letters)
  // The incremental snapshot (docs/CDC.md "Incremental snapshots"), unset without capture:
  // whether one is in progress, the table being read and the last primary key its chunks read,
  // tables still to read, and chunks and rows done since it was requested.
  std::optional<bool> snapshot_running;
  std::optional<std::string> snapshot_table;
  std::optional<std::string> snapshot_last_key;
  std::optional<uint64_t> snapshot_tables_left;
  std::optional<uint64_t> snapshot_chunks;
  std::optional<uint64_t> snapshot_rows;

  // The lake.
  std::optional<uint64_t> lake_version;               // the lake's commit counter
  std::optional<Lsn> last_committed_lsn;              // end LSN of the last transaction in the lake
  std::optional<Clock::time_point> last_commit_time;  // its commit time in PostgreSQL
  std::optional<double> commit_to_visible_ms;  // measured PostgreSQL commit → queryable delay

  // Rows per lake view ("students_dim", "course_enrollment_fact", "takes_changes", ...).
  std::map<std::string, int64_t> table_rows;
};

// Fills a PipelineStatus from the pipeline's components. Called for every status request and
// every second per live-view client: it should return quickly (read counters, no I/O).
using StatusProvider = std::function<PipelineStatus()>;

// Seconds from the last commit time of the lake's latest change to `now`; nullopt without one.
std::optional<double> FreshnessSeconds(const PipelineStatus& status, Clock::time_point now);

// The JSON document of GET /analytics/status:
//   {"capture_running": bool, "slot_lag_bytes": int|null, "slot_lag_seconds": num|null,
//    "events_per_second": num|null, "events_total": int|null, "slot_wal_status": str|null,
//    "slot_retained_wal_bytes": int|null, "slot_safe_wal_size_bytes": int|null,
//    "slot_retention_warning": bool|null, "capture_error": str|null, "dead_letters": int|null,
//    "snapshot": {"running": bool, "table": str|null, "last_key": str|null, "tables_left": int,
//                 "chunks": int, "rows": int}|null,
//    "lake_version": int|null,
//    "last_committed_lsn": "X/Y"|null, "last_committed_lsn_value": int|null,
//    "last_commit_time": ISO-8601 UTC|null, "freshness_seconds": num|null,
//    "commit_to_visible_ms": num|null, "tables": {"<view>": rows, ...}, "now": ISO-8601 UTC}
nlohmann::json StatusToJson(const PipelineStatus& status, Clock::time_point now);

// The same figures in Prometheus' text exposition format 0.0.4: for each metric a # HELP and a
// # TYPE line, names prefixed migsbyu_, per-table rows as migsbyu_lake_table_rows{table="..."}.
// Unset figures are left out. Ends with a newline.
std::string StatusToPrometheus(const PipelineStatus& status, Clock::time_point now);

}  // namespace migsbyu::analytics
