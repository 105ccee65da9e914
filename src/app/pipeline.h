// The change-data pipeline that `migsbyu serve` runs beside the portal: the CDC connector reading
// PostgreSQL's WAL, handing committed transactions to the lake in-process, and the analytics
// routes reading the lake. Wiring only.
//
// Threading: Start and Stop from the serve command's main thread; the pipeline runs its own
// threads in between.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

#include "analytics/console.h"
#include "common/result.h"
#include "lake/iceberg_publisher.h"
#include "lake/scd.h"
#include "portal/router.h"

namespace migsbyu::app {

struct PipelineOptions {
  bool enabled = true;  // --no-pipeline turns capture and analytics off
  std::string lake_dir = "var/lake";
  std::string slot_name = "migsbyu";  // replication slot names are per cluster: one per serve
  std::string publication_name = "migsbyu";
  // --table: the capture set (docs/CDC.md "The capture set"); the five portal tables by default.
  std::vector<std::string> tables = {"students", "professors", "courses", "takes", "teaches"};
  std::string on_slot_loss = "stop";     // --on-slot-loss: stop or resnapshot (cdc/slot.h)
  std::string on_error = "dead-letter";  // --on-error: dead-letter or stop
  size_t snapshot_chunk_rows = 8192;     // --snapshot-chunk-rows: incremental snapshot chunks
  analytics::ConsoleOptions console;     // the SQL console's limits (--console-*)
  lake::IcebergOptions iceberg;          // --no-iceberg, --iceberg-retention-hours
  lake::TrackedColumns scd;              // --scd, --scd-config
};

// Adds the pipeline's options (--lake-dir, --no-pipeline, --console-*, ...) to a subcommand.
void AddPipelineOptions(CLI::App* cmd, PipelineOptions* options);

// Adds --table, --on-slot-loss and --on-error (docs/CDC.md), shared by `serve` and `cdc`.
void AddCaptureOptions(CLI::App* cmd, std::vector<std::string>* tables, std::string* on_slot_loss,
                       std::string* on_error);

class Pipeline {
 public:
  virtual ~Pipeline() = default;
  // Stops capture after the transaction in hand and flushes the lake. Idempotent.
  virtual void Stop() = 0;
};

// Registers the analytics routes on `router` and starts capture from `database_url`.
// REQUIRES: the schema is migrated; the router is not yet serving.
Result<std::unique_ptr<Pipeline>> StartPipeline(const std::string& database_url,
                                                const PipelineOptions& options,
                                                portal::Router& router);

}  // namespace migsbyu::app
