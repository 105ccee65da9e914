#include "app/pipeline.h"

#include <atomic>
#include <thread>

#include "analytics/console.h"
#include "analytics/lake_access.h"
#include "analytics/service.h"
#include "analytics/status.h"
#include "cdc/connector.h"
#include "common/log.h"
#include "lake/lake.h"
#include "lake/lake_sink.h"
#include "oltp/entity.h"
#include "portal/analytics_api/analytics_routes.h"

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
  cmd->add_flag("!--no-pipeline", options->enabled, "Serve the portal without capture and lake");
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
                  cdc::ConnectorOptions connector_options, analytics::ConsoleOptions console)
      : console_options_(std::move(console)),
        lake_(std::move(lake)),
        sink_(std::move(sink)),
        connector_(std::move(connector_options), sink_.get()),
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
    capture_ = std::jthread([this](std::stop_token stop) {
      running_ = true;
      Status ran = connector_.Run(stop);
      running_ = false;
      if (!ran.ok()) MIGSBYU_LOG_ERROR("pipeline: capture stopped: {}", ran.error().ToString());
    });
    return OkStatus();
  }

  void Stop() override {
    if (stopping_.exchange(true)) return;
    if (capture_.joinable()) {
      capture_.request_stop();
      capture_.join();
    }
    if (auto flushed = sink_->Flush(); !flushed.ok()) {
      MIGSBYU_LOG_ERROR("pipeline: final lake flush failed: {}", flushed.error().ToString());
    }
  }

 private:
  // The figures of GET /analytics/status: the connector's and the lake's, read without I/O.
  analytics::PipelineStatus CurrentStatus() {
    analytics::PipelineStatus s;
    cdc::Metrics m = connector_.GetMetrics();
    s.capture_running = running_.load() && m.state != cdc::ConnectorState::kStopped;
    s.slot_lag_bytes = static_cast<int64_t>(m.lag_bytes);
    s.slot_lag_seconds = m.lag_seconds;
    s.events_per_second = m.events_per_second;
    s.events_total = m.events_total;
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
  cdc::Connector connector_;
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
  MIGSBYU_ASSIGN(auto sink, lake::LakeSink::Open(sink_options, lake));
  cdc::ConnectorOptions connector;
  connector.database_url = database_url;
  connector.slot_name = options.slot_name;
  connector.publication_name = options.publication_name;
  auto pipeline =
      std::make_unique<CapturePipeline>(lake, std::move(sink), connector, options.console);
  MIGSBYU_TRY(pipeline->Start(router));
  MIGSBYU_LOG_INFO("pipeline: capturing into the lake at {}", options.lake_dir);
  return std::unique_ptr<Pipeline>(std::move(pipeline));
}

}  // namespace migsbyu::app
