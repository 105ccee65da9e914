#include "app/pipeline.h"

#include <atomic>
#include <mutex>
#include <thread>

#include "analytics/console.h"
#include "analytics/lake_access.h"
#include "analytics/service.h"
#include "analytics/status.h"
#include "app/sinks.h"
#include "cdc/connector.h"
#include "cdc/incremental.h"
#include "common/log.h"
#include "lake/dead_letters.h"
#include "lake/lake.h"
#include "lake/lake_sink.h"
#include "oltp/entity.h"
#include "pg/connection.h"
#include "portal/analytics_api/analytics_routes.h"
#include "portal/capture_api.h"

namespace migsbyu::app {

void AddPipelineOptions(CLI::App* cmd, PipelineOptions* options) {
  cmd->add_option("--lake-dir", options->lake_dir, "Folder of the analytics lake")
      ->capture_default_str();
  cmd->add_option("--slot", options->slot_name,
                  "Replication slot (one per cluster and serve; created when absent)")
      ->capture_default_str();
  cmd->add_option("--publication", options->publication_name,
                  "Publication of the captured tables (created when absent)")
      ->capture_default_str();
  AddCaptureOptions(cmd, &options->tables, &options->on_slot_loss, &options->on_error);
  AddScdOptions(cmd, &options->scd);
  cmd->add_option("--snapshot-chunk-rows", options->snapshot_chunk_rows,
                  "Rows per chunk of an incremental snapshot (docs/CDC.md)")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1} << 24));
  cmd->add_flag("!--no-pipeline", options->enabled, "Serve the portal without capture and lake");
  cmd->add_flag("!--no-iceberg", options->iceberg.enabled,
                "Do not publish the lake's datasets as Iceberg tables (docs/LAKE.md)");
  cmd->add_option_function<int64_t>(
         "--iceberg-retention-hours",
         [options](int64_t hours) { options->iceberg.retention = std::chrono::hours(hours); },
         "How long the Iceberg tables keep snapshots (thinned by age), in hours; default 168")
      ->check(CLI::Range(int64_t{1}, int64_t{24 * 3660}));
  auto& console = options->console;
  cmd->add_option("--console-workers", console.max_workers,
                  "SQL console queries that run at once (each in a worker process)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd->add_option("--console-queue", console.max_queued,
                  "SQL console queries that may wait for a worker (more get 429)")
      ->check(CLI::Range(0, 1000))
      ->capture_default_str();
  cmd->add_option_function<int64_t>(
         "--console-time-limit-ms",
         [&console](int64_t ms) { console.time_limit = std::chrono::milliseconds(ms); },
         "Wall-clock limit of one SQL console query, ms (default 5000); its worker is then killed")
      ->check(CLI::Range(int64_t{100}, int64_t{3600000}));
  cmd->add_option_function<int64_t>(
         "--console-memory-mb", [&console](int64_t mb) { console.memory_limit_bytes = mb << 20; },
         "Address-space limit of one SQL console worker, MiB (default 1024)")
      ->check(CLI::Range(int64_t{64}, int64_t{1} << 20));
  cmd->add_option(
         "--console-max-bytes", console.max_result_bytes,
         "Largest SQL console answer, bytes of rows (more are cut, truncated_by \"bytes\")")
      ->check(CLI::Range(int64_t{1024}, int64_t{1} << 30))
      ->capture_default_str();
  cmd->add_option("--console-threads", console.threads, "DuckDB threads of one SQL console worker")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
}

void AddCaptureOptions(CLI::App* cmd, std::vector<std::string>* tables, std::string* on_slot_loss,
                       std::string* on_error) {
  cmd->add_option("--table", *tables,
                  "Captured table, repeatable (needs a primary key); the publication is made to "
                  "match at start")
      ->capture_default_str();
  cmd->add_option("--on-slot-loss", *on_slot_loss,
                  "When the slot cannot deliver what follows the sink's position: stop, or "
                  "resnapshot (recreate it and reconcile the sink with a snapshot)")
      ->capture_default_str()
      ->check(CLI::IsMember({"stop", "resnapshot"}));
  cmd->add_option("--on-error", *on_error,
                  "A change the lake cannot store: dead-letter (set it aside in the lake's dead "
                  "letters and go on) or stop (retry it)")
      ->capture_default_str()
      ->check(CLI::IsMember({"dead-letter", "stop"}));
}

namespace {

class NoPipeline : public Pipeline {
 public:
  void Stop() override {}
};

// Connector → LakeSink (in-process hand-off), the lake's read side, and the analytics service
// over it. Members are declared in the order they must be built; destroyed in reverse.
class CapturePipeline : public Pipeline {
 public:
  CapturePipeline(std::shared_ptr<lake::Lake> lake, std::unique_ptr<lake::LakeSink> sink,
                  std::unique_ptr<lake::DeadLetterStore> dead_letters,
                  cdc::ConnectorOptions connector_options, analytics::ConsoleOptions console)
      : console_options_(std::move(console)),
        lake_(std::move(lake)),
        sink_(std::move(sink)),
        dead_letters_(std::move(dead_letters)),
        connector_options_(WithDeadLetters(std::move(connector_options), dead_letters_.get())),
        connector_(std::make_unique<cdc::Connector>(connector_options_, sink_.get())),
        access_(analytics::AccessLake(lake_)),
        service_(*access_, [this] { return CurrentStatus(); }) {}

  ~CapturePipeline() override { Stop(); }

  Status Start(portal::Router& router) {
    console_options_.personal_columns = oltp::PiiColumnNames();
    console_options_.masked_value = std::string(oltp::kMaskedValue);
    auto console = analytics::SqlConsole::Open(*access_, console_options_);
    if (console.ok()) {
      console_ = std::move(console).value();
    } else {
      MIGSBYU_LOG_WARN("pipeline: SQL console unavailable: {}", console.error().ToString());
    }
    portal::AnalyticsRoutesOptions routes;
    routes.stopping = [this] { return stopping_.load(); };
    portal::RegisterAnalyticsRoutes(router, service_, console_.get(), std::move(routes));
    portal::RegisterCaptureApi(
        router, {.snapshot = [this](const std::vector<std::string>& tables) -> Status {
                   MIGSBYU_ASSIGN(auto conn, pg::Connection::Open(connector_options_.database_url));
                   return cdc::RequestIncrementalSnapshot(conn, tables,
                                                          connector_options_.publication_name);
                 },
                 .resnapshot = [this] { return Resnapshot(); }});
    std::lock_guard lock(control_mutex_);
    StartCapture();
    return OkStatus();
  }

  void Stop() override {
    if (stopping_.exchange(true)) return;
    std::lock_guard lock(control_mutex_);
    if (capture_.joinable()) {
      capture_.request_stop();
      capture_.join();
    }
    if (auto flushed = sink_->Flush(); !flushed.ok()) {
      MIGSBYU_LOG_ERROR("pipeline: final lake flush failed: {}", flushed.error().ToString());
    }
  }

 private:
  static cdc::ConnectorOptions WithDeadLetters(cdc::ConnectorOptions o,
                                               transport::DeadLetterSink* dead_letters) {
    o.dead_letters = dead_letters;
    return o;
  }

  // REQUIRES: control_mutex_ held, no capture thread running.
  void StartCapture() {
    capture_ = std::jthread([this, connector = connector_.get()](std::stop_token stop) {
      running_ = true;
      Status ran = connector->Run(stop);
      running_ = false;
      if (!ran.ok()) MIGSBYU_LOG_ERROR("pipeline: capture stopped: {}", ran.error().ToString());
    });
  }

  // The admin action: capture that stopped (a slot that cannot deliver what follows the lake's
  // position, with --on-slot-loss=stop) starts again with a new slot and a reconciling snapshot.
  Status Resnapshot() {
    std::lock_guard lock(control_mutex_);
    if (stopping_) return Error::Unavailable("the pipeline is stopping");
    if (running_) {
      return Error::Conflict(
          "capture is running, so its slot is usable: ask for an incremental snapshot instead");
    }
    if (capture_.joinable()) capture_.join();
    cdc::ConnectorOptions options = connector_options_;
    options.on_slot_loss = cdc::SlotLossPolicy::kResnapshot;
    auto next = std::make_unique<cdc::Connector>(options, sink_.get());
    {
      std::lock_guard swap(connector_mutex_);
      connector_ = std::move(next);
    }
    StartCapture();
    MIGSBYU_LOG_WARN("pipeline: capture restarted with --on-slot-loss=resnapshot");
    return OkStatus();
  }

  // The figures of GET /analytics/status: the connector's and the lake's, read without I/O.
  analytics::PipelineStatus CurrentStatus() {
    analytics::PipelineStatus s;
    cdc::Metrics m;
    {
      std::lock_guard lock(connector_mutex_);
      m = connector_->GetMetrics();
    }
    s.capture_running = running_.load() && m.state != cdc::ConnectorState::kStopped;
    s.slot_lag_bytes = static_cast<int64_t>(m.lag_bytes);
    s.slot_lag_seconds = m.lag_seconds;
    s.events_per_second = m.events_per_second;
    s.events_total = m.events_total;
    if (!m.slot_wal_status.empty()) {
      s.slot_wal_status = m.slot_wal_status;
      s.slot_retained_wal_bytes = static_cast<int64_t>(m.slot_retained_bytes);
      s.slot_safe_wal_size_bytes = m.slot_safe_wal_size;
      s.slot_retention_warning = m.slot_retention_warning;
    }
    if (!m.last_error.empty()) s.capture_error = m.last_error;
    if (dead_letters_) s.dead_letters = dead_letters_->count();
    s.snapshot_running = m.incremental_active;
    if (m.incremental_active) {
      s.snapshot_table = m.incremental_table;
      if (!m.incremental_last_key.empty()) s.snapshot_last_key = m.incremental_last_key;
    }
    s.snapshot_tables_left = m.incremental_tables_left;
    s.snapshot_chunks = m.incremental_chunks;
    s.snapshot_rows = m.incremental_rows;
    lake::CommitPosition p = lake_->Position();
    if (p.version > 0) {
      s.lake_version = p.version;
      s.last_committed_lsn = p.end_lsn;
      s.last_commit_time = analytics::FromMicros(p.commit_time_us);
      if (p.written_at_us >= p.commit_time_us && p.commit_time_us > 0) {
        s.commit_to_visible_ms = (p.written_at_us - p.commit_time_us) / 1000.0;
      }
    }
    return s;
  }

  analytics::ConsoleOptions console_options_;
  std::shared_ptr<lake::Lake> lake_;
  std::unique_ptr<lake::LakeSink> sink_;
  std::unique_ptr<lake::DeadLetterStore> dead_letters_;  // null with --on-error=stop
  const cdc::ConnectorOptions connector_options_;
  // Replaced (under connector_mutex_, for CurrentStatus) only by Resnapshot, once the capture
  // thread that ran it has ended; control_mutex_ orders Start, Stop and Resnapshot.
  std::mutex connector_mutex_;
  std::unique_ptr<cdc::Connector> connector_;
  std::mutex control_mutex_;
  std::unique_ptr<analytics::LakeAccess> access_;
  analytics::Service service_;
  std::unique_ptr<analytics::SqlConsole> console_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> running_{false};
  std::jthread capture_;
};

}  // namespace

Result<std::unique_ptr<Pipeline>> StartPipeline(const std::string& database_url,
                                                const PipelineOptions& options,
                                                portal::Router& router) {
  if (!options.enabled) return std::unique_ptr<Pipeline>(std::make_unique<NoPipeline>());
  MIGSBYU_ASSIGN(auto lake, lake::Lake::Open(options.lake_dir));
  lake::LakeSinkOptions sink_options;
  sink_options.writer.dir = options.lake_dir;
  sink_options.writer.iceberg = options.iceberg;
  sink_options.writer.tracked = options.scd;
  MIGSBYU_ASSIGN(auto sink, lake::LakeSink::Open(sink_options, lake));
  cdc::ConnectorOptions connector;
  connector.database_url = database_url;
  connector.slot_name = options.slot_name;
  connector.publication_name = options.publication_name;
  connector.tables = options.tables;
  connector.snapshot_chunk_rows = options.snapshot_chunk_rows;
  MIGSBYU_ASSIGN(connector.on_slot_loss, cdc::ParseSlotLossPolicy(options.on_slot_loss));
  std::unique_ptr<lake::DeadLetterStore> dead_letters;
  if (options.on_error != "stop") {
    MIGSBYU_ASSIGN(dead_letters, lake::DeadLetterStore::Open(options.lake_dir));
  }
  auto pipeline = std::make_unique<CapturePipeline>(lake, std::move(sink), std::move(dead_letters),
                                                    connector, options.console);
  MIGSBYU_TRY(pipeline->Start(router));
  MIGSBYU_LOG_INFO("pipeline: capturing into the lake at {}", options.lake_dir);
  return std::unique_ptr<Pipeline>(std::move(pipeline));
}

}  // namespace migsbyu::app
