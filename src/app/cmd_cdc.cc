#include <csignal>
#include <cstdio>
#include <ctime>
#include <memory>
#include <string>
#include <thread>

#include "app/commands.h"
#include "app/pipeline.h"
#include "app/sinks.h"
#include "cdc/connector.h"
#include "cdc/incremental.h"
#include "common/log.h"
#include "lake/dead_letters.h"
#include "pg/connection.h"

namespace migsbyu::app {

namespace {

struct CdcFlags {
  cdc::ConnectorOptions options;
  std::string sink = "file:var/cdc.jsonl";
  int status_interval_ms = 1000;
  bool no_streaming = false;
  bool no_snapshot = false;
  std::string stop_at;
  int metrics_every_s = 0;
  std::string on_slot_loss = "stop";
  std::string on_error = "dead-letter";
  lake::TrackedColumns scd;  // --scd, for a lake sink
};

void RunCdc(CdcFlags& flags) {
  auto& o = flags.options;
  o.status_interval = std::chrono::milliseconds(flags.status_interval_ms);
  o.streaming = !flags.no_streaming;
  o.snapshot = !flags.no_snapshot;
  auto policy = cdc::ParseSlotLossPolicy(flags.on_slot_loss);
  if (!policy.ok()) throw CLI::ValidationError("--on-slot-loss", policy.error().message());
  o.on_slot_loss = *policy;
  std::optional<Lsn> stop_at;
  if (!flags.stop_at.empty()) {
    stop_at = Lsn::Parse(flags.stop_at);
    if (!stop_at) throw CLI::ValidationError("--stop-at", "not an LSN: " + flags.stop_at);
  }
  // SIGINT/SIGTERM stop the connector after the message in hand; a watcher thread takes them.
  // Blocked before the sink starts its threads (the lake's timer), which inherit the mask, so
  // that none of them takes the signal's default action.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  auto sink = MakeSink(flags.sink, flags.scd);
  if (!sink.ok()) throw CLI::RuntimeError("cdc: " + sink.error().ToString(), 1);
  // Only the lake refuses changes as unstorable; its dead letters are kept beside it.
  std::unique_ptr<lake::DeadLetterStore> dead_letters;
  if (flags.on_error != "stop" && flags.sink.starts_with("lake:")) {
    auto store = lake::DeadLetterStore::Open(flags.sink.substr(5));
    if (!store.ok()) throw CLI::RuntimeError("cdc: " + store.error().ToString(), 1);
    dead_letters = std::move(*store);
    o.dead_letters = dead_letters.get();
  }

  cdc::Connector connector(o, sink->get());
  std::stop_source stop;
  std::jthread watcher([&](std::stop_token done) {
    auto last_report = std::chrono::steady_clock::now();
    while (!done.stop_requested()) {
      timespec wait{0, 50 * 1000 * 1000};
      if (sigtimedwait(&signals, nullptr, &wait) > 0) stop.request_stop();
      auto m = connector.GetMetrics();
      if (stop_at && m.last_flushed_lsn >= *stop_at) stop.request_stop();
      auto now = std::chrono::steady_clock::now();
      if (flags.metrics_every_s > 0 &&
          now - last_report >= std::chrono::seconds(flags.metrics_every_s)) {
        last_report = now;
        MIGSBYU_LOG_INFO("cdc: {} events={} ev/s={:.0f} flushed={} lag_bytes={} lag_s={:.1f}",
                         cdc::ConnectorStateName(m.state), m.events_total, m.events_per_second,
                         m.last_flushed_lsn.ToString(), m.lag_bytes, m.lag_seconds);
      }
    }
  });
  Status st = connector.Run(stop.get_token());
  watcher.request_stop();
  watcher.join();
  auto m = connector.GetMetrics();
  std::printf("cdc: stopped; %llu events in %llu transactions, flushed %s\n",
              static_cast<unsigned long long>(m.events_total),
              static_cast<unsigned long long>(m.transactions_total),
              m.last_flushed_lsn.ToString().c_str());
  if (!st.ok()) throw CLI::RuntimeError("cdc: " + st.error().ToString(), 1);
}

// `migsbyu cdc snapshot`: asks the connector reading the slot, wherever it runs, for an
// incremental snapshot, through the database (cdc/incremental.h).
void RequestSnapshot(const std::string& database_url, const std::vector<std::string>& tables) {
  auto conn = pg::Connection::Open(database_url);
  if (!conn.ok()) throw CLI::RuntimeError("cdc snapshot: " + conn.error().ToString(), 1);
  Status st = cdc::RequestIncrementalSnapshot(*conn, tables);
  if (!st.ok()) throw CLI::RuntimeError(st.error().message(), 1);
  std::printf("cdc snapshot: requested for");
  for (const auto& t : tables) std::printf(" %s", t.c_str());
  std::printf("; the connector reads it in chunks while it streams\n");
}

}  // namespace

void AddCdcCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("cdc", "Capture the portal's changes from PostgreSQL into a sink");
  auto flags = std::make_shared<CdcFlags>();
  auto& o = flags->options;
  AddDatabaseUrlOption(cmd, &o.database_url);
  cmd->add_option("--sink", flags->sink, "Where changes go: file:PATH, lake:DIR or kafka:BROKERS")
      ->capture_default_str();
  cmd->add_option("--slot", o.slot_name, "Replication slot")->capture_default_str();
  cmd->add_option("--publication", o.publication_name, "Publication (created when absent)")
      ->capture_default_str();
  cmd->add_option("--protocol", o.protocol_version, "pgoutput protocol version: 1 or 2")
      ->capture_default_str()
      ->check(CLI::IsMember({1, 2}));
  cmd->add_flag("--no-streaming", flags->no_streaming,
                "Protocol 2: do not stream in-progress transactions");
  cmd->add_flag("--no-snapshot", flags->no_snapshot,
                "Do not copy the tables when creating the slot");
  cmd->add_option("--status-interval-ms", flags->status_interval_ms,
                  "Longest time between flushes and status updates")
      ->capture_default_str();
  cmd->add_option("--spool-dir", o.spool_dir,
                  "Folder for spooled streamed transactions (default TMPDIR)");
  AddCaptureOptions(cmd, &o.tables, &flags->on_slot_loss, &flags->on_error);
  AddScdOptions(cmd, &flags->scd);
  cmd->add_option("--stop-at", flags->stop_at, "Stop once this LSN is flushed (benchmarks, tests)");
  cmd->add_option("--metrics-every", flags->metrics_every_s,
                  "Log the metrics every N seconds (0: never)");
  cmd->add_option("--snapshot-chunk-rows", o.snapshot_chunk_rows,
                  "Rows per chunk of an incremental snapshot")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1} << 24));

  auto* snap = cmd->add_subcommand(
      "snapshot",
      "Re-read tables in primary-key chunks while capture streams on (an incremental snapshot "
      "that the lake reconciles); asks the running connector through the database");
  struct SnapshotFlags {
    std::string database_url;
    std::vector<std::string> tables;
  };
  auto snap_flags = std::make_shared<SnapshotFlags>();
  AddDatabaseUrlOption(snap, &snap_flags->database_url);
  snap->add_option("--table", snap_flags->tables, "Table to re-read, repeatable")->required();
  snap->callback([snap_flags] { RequestSnapshot(snap_flags->database_url, snap_flags->tables); });
  cmd->callback([flags, snap] {
    if (snap->parsed()) return;
    RunCdc(*flags);
  });
}

}  // namespace migsbyu::app
