#include "analytics/status.h"

#include <charconv>

namespace migsbyu::analytics {
namespace {

template <typename T>
nlohmann::json OrNull(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

// Shortest text that reads back to the same double; Prometheus accepts Go's float syntax.
std::string FormatNumber(double v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

// Label values escape backslash, double quote and newline (exposition format 0.0.4).
std::string EscapeLabel(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

class Exposition {
 public:
  void Metric(const std::string& name, const char* type, const char* help) {
    out_ += "# HELP migsbyu_" + name + " " + help + "\n";
    out_ += "# TYPE migsbyu_" + name + " " + type + "\n";
  }
  void Sample(const std::string& name, double value, const std::string& labels = "") {
    out_ += "migsbyu_" + name + labels + " " + FormatNumber(value) + "\n";
  }
  template <typename T>
  void Optional(const std::string& name, const char* type, const char* help,
                const std::optional<T>& value) {
    if (!value) return;
    Metric(name, type, help);
    Sample(name, static_cast<double>(*value));
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace

std::optional<double> FreshnessSeconds(const PipelineStatus& status, Clock::time_point now) {
  if (!status.last_commit_time) return std::nullopt;
  return std::chrono::duration<double>(now - *status.last_commit_time).count();
}

nlohmann::json StatusToJson(const PipelineStatus& s, Clock::time_point now) {
  nlohmann::json tables = nlohmann::json::object();
  for (const auto& [name, rows] : s.table_rows) tables[name] = rows;
  return {
      {"capture_running", s.capture_running},
      {"slot_lag_bytes", OrNull(s.slot_lag_bytes)},
      {"slot_lag_seconds", OrNull(s.slot_lag_seconds)},
      {"events_per_second", OrNull(s.events_per_second)},
      {"events_total", OrNull(s.events_total)},
      {"slot_wal_status", OrNull(s.slot_wal_status)},
      {"slot_retained_wal_bytes", OrNull(s.slot_retained_wal_bytes)},
      {"slot_safe_wal_size_bytes", OrNull(s.slot_safe_wal_size_bytes)},
      {"slot_retention_warning", OrNull(s.slot_retention_warning)},
      {"capture_error", OrNull(s.capture_error)},
      {"dead_letters", OrNull(s.dead_letters)},
      {"snapshot", s.snapshot_running
                       ? nlohmann::json{{"running", *s.snapshot_running},
                                        {"table", OrNull(s.snapshot_table)},
                                        {"last_key", OrNull(s.snapshot_last_key)},
                                        {"tables_left", OrNull(s.snapshot_tables_left)},
                                        {"chunks", OrNull(s.snapshot_chunks)},
                                        {"rows", OrNull(s.snapshot_rows)}}
                       : nlohmann::json(nullptr)},
      {"lake_version", OrNull(s.lake_version)},
      {"last_committed_lsn",
       s.last_committed_lsn ? nlohmann::json(s.last_committed_lsn->ToString()) : nullptr},
      {"last_committed_lsn_value",
       s.last_committed_lsn ? nlohmann::json(s.last_committed_lsn->value()) : nullptr},
      {"last_commit_time",
       s.last_commit_time ? nlohmann::json(FormatInstant(*s.last_commit_time)) : nullptr},
      {"freshness_seconds", OrNull(FreshnessSeconds(s, now))},
      {"commit_to_visible_ms", OrNull(s.commit_to_visible_ms)},
      {"tables", tables},
      {"now", FormatInstant(now)},
  };
}

std::string StatusToPrometheus(const PipelineStatus& s, Clock::time_point now) {
  Exposition e;
  e.Metric("capture_running", "gauge", "1 while the CDC connector is streaming changes.");
  e.Sample("capture_running", s.capture_running ? 1 : 0);
  e.Optional("replication_slot_lag_bytes", "gauge",
             "WAL bytes between the server's current LSN and the slot's confirmed flush LSN.",
             s.slot_lag_bytes);
  e.Optional("replication_slot_lag_seconds", "gauge",
             "Age in seconds of the oldest change not yet confirmed to the slot.",
             s.slot_lag_seconds);
  e.Optional("replication_slot_retained_wal_bytes", "gauge",
             "WAL bytes the slot retains (the server's current LSN minus its restart_lsn).",
             s.slot_retained_wal_bytes);
  e.Optional("replication_slot_safe_wal_size_bytes", "gauge",
             "WAL bytes that may still be written before the slot is at risk of invalidation.",
             s.slot_safe_wal_size_bytes);
  std::optional<int> at_risk;
  if (s.slot_retention_warning) at_risk = *s.slot_retention_warning ? 1 : 0;
  e.Optional("replication_slot_retention_warning", "gauge",
             "1 when WAL retention puts the slot at risk (wal_status unreserved or lost, or a "
             "small safe WAL size).",
             at_risk);
  if (s.slot_wal_status) {
    e.Metric("replication_slot_wal_status", "gauge",
             "1 for the slot's wal_status (reserved, extended, unreserved, lost, missing).");
    e.Sample("replication_slot_wal_status", 1,
             "{status=\"" + EscapeLabel(*s.slot_wal_status) + "\"}");
  }
  e.Optional("dead_letters_total", "counter",
             "Changes and messages set aside in the lake's dead letters (lake dead-letters).",
             s.dead_letters);
  std::optional<int> snapshot_running;
  if (s.snapshot_running) snapshot_running = *s.snapshot_running ? 1 : 0;
  e.Optional("cdc_snapshot_running", "gauge",
             "1 while an incremental snapshot re-reads captured tables in chunks.",
             snapshot_running);
  e.Optional("cdc_snapshot_tables_left", "gauge",
             "Tables the incremental snapshot has still to read, the current one included.",
             s.snapshot_tables_left);
  e.Optional("cdc_snapshot_chunks", "gauge",
             "Chunks the incremental snapshot has handed to the lake since it was requested.",
             s.snapshot_chunks);
  e.Optional("cdc_snapshot_rows", "gauge",
             "Rows the incremental snapshot has handed to the lake since it was requested.",
             s.snapshot_rows);
  e.Optional("cdc_events_per_second", "gauge", "Changes applied per second, recent average.",
             s.events_per_second);
  e.Optional("cdc_events_total", "counter", "Changes applied since the process started.",
             s.events_total);
  e.Optional("lake_version", "gauge", "The lake's commit counter.", s.lake_version);
  std::optional<uint64_t> lsn;
  if (s.last_committed_lsn) lsn = s.last_committed_lsn->value();
  e.Optional("lake_last_committed_lsn", "gauge",
             "End LSN of the last transaction committed to the lake, as a number.", lsn);
  std::optional<double> commit_time;
  if (s.last_commit_time) {
    commit_time = std::chrono::duration<double>(s.last_commit_time->time_since_epoch()).count();
  }
  e.Optional("lake_last_commit_timestamp_seconds", "gauge",
             "PostgreSQL commit time of the lake's latest change, Unix seconds.", commit_time);
  e.Optional("lake_freshness_seconds", "gauge",
             "Seconds since the PostgreSQL commit time of the lake's latest change.",
             FreshnessSeconds(s, now));
  std::optional<double> visible;
  if (s.commit_to_visible_ms) visible = *s.commit_to_visible_ms / 1000.0;
  e.Optional("lake_commit_to_visible_seconds", "gauge",
             "Measured delay from a PostgreSQL commit to the change being queryable.", visible);
  if (!s.table_rows.empty()) {
    e.Metric("lake_table_rows", "gauge", "Rows in each lake view.");
    for (const auto& [name, rows] : s.table_rows) {
      e.Sample("lake_table_rows", static_cast<double>(rows),
               "{table=\"" + EscapeLabel(name) + "\"}");
    }
  }
  return e.Take();
}

}  // namespace migsbyu::analytics
