#include "analytics/status.h"

#include <gtest/gtest.h>

#include <regex>
#include <sstream>

namespace migsbyu::analytics {
namespace {

Clock::time_point Instant(const std::string& iso) {
  auto micros = ParseInstantMicros(iso, "test");
  EXPECT_TRUE(micros.ok());
  return FromMicros(micros.ok() ? *micros : 0);
}

PipelineStatus FullStatus() {
  PipelineStatus s;
  s.capture_running = true;
  s.slot_lag_bytes = 1024;
  s.slot_lag_seconds = 0.25;
  s.events_per_second = 950.5;
  s.events_total = 123456;
  s.lake_version = 42;
  s.last_committed_lsn = Lsn(0x16B374D848);
  s.last_commit_time = Instant("2026-11-25T16:15:00Z");
  s.commit_to_visible_ms = 120;
  s.table_rows = {{"students_dim", 10}, {"weird\"name", 1}};
  s.slot_wal_status = "unreserved";
  s.slot_retained_wal_bytes = 5 << 20;
  s.slot_safe_wal_size_bytes = 1 << 20;
  s.slot_retention_warning = true;
  s.capture_error = "conflict: cdc: replication slot 'migsbyu' is missing";
  s.dead_letters = 3;
  return s;
}

TEST(StatusTest, JsonReportsEveryFigureAndFreshness) {
  auto json = StatusToJson(FullStatus(), Instant("2026-11-25T16:15:02.5Z"));
  EXPECT_EQ(json["capture_running"], true);
  EXPECT_EQ(json["slot_lag_bytes"], 1024);
  EXPECT_EQ(json["last_committed_lsn"], "16/B374D848");
  EXPECT_EQ(json["last_committed_lsn_value"], 0x16B374D848u);
  EXPECT_EQ(json["last_commit_time"], "2026-11-25T16:15:00.000000Z");
  EXPECT_DOUBLE_EQ(json["freshness_seconds"].get<double>(), 2.5);
  EXPECT_EQ(json["tables"]["students_dim"], 10);
  EXPECT_EQ(json["now"], "2026-11-25T16:15:02.500000Z");
  EXPECT_EQ(json["slot_wal_status"], "unreserved");
  EXPECT_EQ(json["slot_retained_wal_bytes"], 5 << 20);
  EXPECT_EQ(json["slot_safe_wal_size_bytes"], 1 << 20);
  EXPECT_EQ(json["slot_retention_warning"], true);
  EXPECT_EQ(json["capture_error"], "conflict: cdc: replication slot 'migsbyu' is missing");
  EXPECT_EQ(json["dead_letters"], 3);
}

TEST(StatusTest, JsonSaysNullForWhatWasNotMeasured) {
  auto json = StatusToJson(PipelineStatus{}, Instant("2026-11-25T16:15:00Z"));
  EXPECT_EQ(json["capture_running"], false);
  EXPECT_TRUE(json["slot_lag_bytes"].is_null());
  EXPECT_TRUE(json["last_committed_lsn"].is_null());
  EXPECT_TRUE(json["freshness_seconds"].is_null());
  EXPECT_TRUE(json["tables"].is_object());
  for (const char* field :
       {"slot_wal_status", "slot_retained_wal_bytes", "slot_safe_wal_size_bytes",
        "slot_retention_warning", "capture_error", "dead_letters"}) {
    EXPECT_TRUE(json[field].is_null()) << field;
  }
}

// Checks the exposition format line by line: every sample belongs to a metric announced by a
// HELP and a TYPE line, names are valid and prefixed, values parse as numbers.
void ExpectValidExposition(const std::string& text) {
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  static const std::regex kHelp(R"(# HELP (migsbyu_[a-zA-Z0-9_]+) \S.*)");
  static const std::regex kType(R"(# TYPE (migsbyu_[a-zA-Z0-9_]+) (gauge|counter))");
  static const std::regex kSample(
      R"((migsbyu_[a-zA-Z0-9_]+)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"\})? (\S+))");
  std::istringstream in(text);
  std::string line, helped, typed;
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_match(line, m, kHelp)) {
      helped = m[1];
    } else if (std::regex_match(line, m, kType)) {
      EXPECT_EQ(m[1], helped) << line;
      typed = m[1];
    } else if (std::regex_match(line, m, kSample)) {
      EXPECT_EQ(m[1], typed) << "sample without HELP/TYPE: " << line;
      std::string value = m[3];
      char* end = nullptr;
      std::strtod(value.c_str(), &end);
      EXPECT_EQ(*end, '\0') << line;
    } else {
      ADD_FAILURE() << "not exposition format: " << line;
    }
  }
}

TEST(StatusTest, PrometheusTextIsValidExposition) {
  std::string text = StatusToPrometheus(FullStatus(), Instant("2026-11-25T16:15:02.5Z"));
  ExpectValidExposition(text);
  EXPECT_NE(text.find("# TYPE migsbyu_cdc_events_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("\nmigsbyu_replication_slot_lag_bytes 1024\n"), std::string::npos);
  EXPECT_NE(text.find("\nmigsbyu_lake_freshness_seconds 2.5\n"), std::string::npos);
  EXPECT_NE(text.find("\nmigsbyu_lake_commit_to_visible_seconds 0.12\n"), std::string::npos);
  EXPECT_NE(text.find("\nmigsbyu_lake_table_rows{table=\"students_dim\"} 10\n"), std::string::npos);
  EXPECT_NE(text.find("migsbyu_lake_table_rows{table=\"weird\\\"name\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("\nmigsbyu_replication_slot_retained_wal_bytes 5242880\n"),
            std::string::npos);
  EXPECT_NE(text.find("\nmigsbyu_replication_slot_safe_wal_size_bytes 1048576\n"),
            std::string::npos);
  EXPECT_NE(text.find("\nmigsbyu_replication_slot_retention_warning 1\n"), std::string::npos);
  EXPECT_NE(text.find("\nmigsbyu_replication_slot_wal_status{status=\"unreserved\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("# TYPE migsbyu_dead_letters_total counter\nmigsbyu_dead_letters_total 3\n"),
            std::string::npos);
}

TEST(StatusTest, PrometheusLeavesOutWhatWasNotMeasured) {
  std::string text = StatusToPrometheus(PipelineStatus{}, Instant("2026-11-25T16:15:00Z"));
  ExpectValidExposition(text);
  EXPECT_EQ(text.find("slot_lag"), std::string::npos);
  EXPECT_EQ(text.find("lake_table_rows"), std::string::npos);
  EXPECT_EQ(text.find("replication_slot_wal_status"), std::string::npos);
  EXPECT_EQ(text.find("dead_letters"), std::string::npos);
  EXPECT_NE(text.find("migsbyu_capture_running 0\n"), std::string::npos);
}

TEST(InstantTest, ParsesIsoForms) {
  EXPECT_EQ(*ParseInstantMicros("1970-01-01", "at"), 0);
  EXPECT_EQ(*ParseInstantMicros("1970-01-01T00:00:01Z", "at"), 1000000);
  EXPECT_EQ(*ParseInstantMicros("1970-01-01 00:00:01.5", "at"), 1500000);
  EXPECT_EQ(*ParseInstantMicros("1970-01-01T01:00:00+01:00", "at"), 0);
  EXPECT_EQ(*ParseInstantMicros("1970-01-01T00:00:00-0130", "at"), 5400000000);
  EXPECT_EQ(*ParseInstantMicros("1970-01-01T01:00:00 01:00", "at"), 0);
  EXPECT_EQ(*ParseInstantMicros("2026-11-25T16:15:00.1234567Z", "at"),
            *ParseInstantMicros("2026-11-25T16:15:00.123456Z", "at"));
  EXPECT_EQ(FormatInstant(FromMicros(*ParseInstantMicros("2024-02-29T23:59:59.000001Z", "at"))),
            "2024-02-29T23:59:59.000001Z");
}

TEST(InstantTest, RefusesMalformedInstantsNamingTheParameter) {
  for (const char* bad : {"", "yesterday", "2026-13-01", "2026-02-30", "2026-01-01T25:00",
                          "2026-01-01T10:00:00Zjunk", "2026-01-01T10:00:00+9"}) {
    auto parsed = ParseInstantMicros(bad, "at");
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(parsed.error().message().rfind("at: ", 0), 0u) << parsed.error().message();
  }
}

}  // namespace
}  // namespace migsbyu::analytics
