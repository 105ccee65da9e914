#include <cctype>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <memory>
#include <string>
#include <thread>

#include "analytics/query.h"
#include "app/commands.h"
#include "app/sinks.h"
#include "lake/dead_letters.h"
#include "lake/deriver.h"
#include "lake/lake.h"
#include "lake/lake_sink.h"
#include "lake/table_ownership.h"
#include "lake/writer.h"
#include "transport/kafka/kafka_source.h"

namespace migsbyu::app {

namespace {

struct LakeFlags {
  std::string dir = "var/lake";
  std::string sql;
  std::string format = "table";
  std::string brokers;
  std::string group = "migsbyu-lake";
  std::string topic_prefix = "migsbyu";
  std::vector<std::string> topics;
  std::vector<std::string> kafka_properties;  // librdkafka "name=value"
  std::string on_error = "dead-letter";       // or "stop"
  std::string transactions = "auto";          // or "exact", "partition"
  size_t max_buffered_changes = 50000;
  size_t limit = 100;        // dead-letters: how many of the newest
  lake::TrackedColumns scd;  // --scd: rebuild, compact, consume
};

std::shared_ptr<lake::Lake> OpenLake(const LakeFlags& flags) {
  auto opened = lake::Lake::Open(flags.dir);
  if (!opened.ok()) throw CLI::RuntimeError("lake: " + opened.error().ToString(), 1);
  return *opened;
}

std::unique_ptr<lake::LakeWriter> OpenWriter(const LakeFlags& flags) {
  lake::WriterOptions options;
  options.dir = flags.dir;
  options.duckdb_threads = 2;
  options.tracked = flags.scd;
  auto writer = lake::LakeWriter::Open(options, nullptr);
  if (!writer.ok()) throw CLI::RuntimeError("lake: " + writer.error().ToString(), 1);
  return std::move(*writer);
}

void Check(const Status& status, const char* what) {
  if (!status.ok())
    throw CLI::RuntimeError(std::string("lake ") + what + ": " + status.error().ToString(), 1);
}

// The newest dead letters, one block each: when, where from, why, and the value's text.
void PrintDeadLetters(const LakeFlags& flags) {
  auto letters = lake::ListDeadLetters(flags.dir, flags.limit);
  if (!letters.ok()) Check(letters.error(), "dead-letters");
  for (const auto& d : *letters) {
    std::time_t seconds = static_cast<std::time_t>(d.time_us / 1000000);
    char when[32];
    std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&seconds));
    std::string where =
        d.source == "kafka"
            ? d.topic + "[" + std::to_string(d.partition) + "]@" + std::to_string(d.offset)
            : "lsn " + (d.lsn ? d.lsn->ToString() : std::string("?")) + " (commit " +
                  (d.commit_lsn ? d.commit_lsn->ToString() : std::string("?")) + ", position " +
                  std::to_string(d.position) + ")";
    std::string value = d.value ? d.value->substr(0, 200) : "null";
    for (char& c : value) {
      if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    }
    std::printf("%s %s %s table=%s\n  reason: %s\n  value: %s%s\n", when, d.source.c_str(),
                where.c_str(), d.table.empty() ? "?" : d.table.c_str(), d.reason.c_str(),
                value.c_str(), d.value && d.value->size() > 200 ? " ..." : "");
  }
  std::printf("lake dead-letters: %zu shown\n", letters->size());
}

void PrintStatus(const LakeFlags& flags) {
  auto lake = OpenLake(flags);
  auto snapshot = lake->Snapshot();
  std::printf("lake %s\nversion %llu\nend_lsn %s\ncommit_lsn %s\ncommit_time_us %lld\n",
              lake->dir().c_str(), static_cast<unsigned long long>(snapshot->version),
              snapshot->end_lsn.ToString().c_str(), snapshot->commit_lsn.ToString().c_str(),
              static_cast<long long>(snapshot->commit_time_us));
  for (const auto& [name, files] : snapshot->datasets) {
    std::printf("%-28s %10llu rows %4zu files\n", name.c_str(),
                static_cast<unsigned long long>(snapshot->Rows(name)), files.size());
  }
}

void RunQuery(const LakeFlags& flags) {
  auto format = analytics::ParseRowsFormat(flags.format);
  if (!format.ok()) throw CLI::ValidationError("--format", format.error().message());
  // One query, as a shell user types it: a trailing semicolon is not part of it.
  std::string sql = flags.sql;
  while (!sql.empty() &&
         (sql.back() == ';' || std::isspace(static_cast<unsigned char>(sql.back()))))
    sql.pop_back();
  auto lake = OpenLake(flags);
  auto conn = lake->Connect();
  if (!conn.ok()) throw CLI::RuntimeError("lake query: " + conn.error().ToString(), 1);
  auto rows = analytics::RunQuery(conn->connection, sql);
  if (!rows.ok()) throw CLI::RuntimeError("lake query: " + rows.error().ToString(), 1);
  std::string text = analytics::FormatRows(*rows, *format);
  std::fwrite(text.data(), 1, text.size(), stdout);
}

void RunConsume(const LakeFlags& flags) {
  if (flags.brokers.empty()) throw CLI::ValidationError("--brokers", "required");
  // SIGINT/SIGTERM stop the consumer after a final flush; a watcher thread takes them. Blocked
  // before any thread starts, so that every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // Several processes may share the lake: each writes the tables whose partitions it holds,
  // and one of them at a time (whoever holds the deriver lock) derives the fact.
  lake::LakeSinkOptions options;
  options.writer.dir = flags.dir;
  options.writer.role = lake::WriterRole::kTableOwner;
  options.writer.tracked = flags.scd;
  auto sink = lake::LakeSink::Open(options, nullptr);
  if (!sink.ok()) throw CLI::RuntimeError("lake consume: " + sink.error().ToString(), 1);
  lake::DeriverOptions deriver_options;
  deriver_options.writer.dir = flags.dir;
  auto deriver = lake::FactDeriver::Start(deriver_options);
  kafka::KafkaSourceOptions source_options;
  source_options.brokers = flags.brokers;
  source_options.group_id = flags.group;
  source_options.topic_prefix = flags.topic_prefix;
  source_options.topics = flags.topics;
  // The caught-up check asks the brokers for the partitions' ends; a shorter fetch long-poll
  // keeps that request from queueing behind an idle fetch for long.
  source_options.extra["fetch.wait.max.ms"] = "100";
  auto mode = kafka::ParseTransactionMode(flags.transactions);
  if (!mode.ok()) throw CLI::ValidationError("--transactions", mode.error().message());
  source_options.transactions = *mode;
  source_options.max_buffered_changes = flags.max_buffered_changes;
  for (const auto& p : flags.kafka_properties) {
    auto eq = p.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw CLI::ValidationError("--kafka-property", "expected name=value, got " + p);
    }
    source_options.extra[p.substr(0, eq)] = p.substr(eq + 1);
  }
  std::unique_ptr<lake::DeadLetterStore> dead_letters;
  if (flags.on_error != "stop") {
    auto store = lake::DeadLetterStore::Open(flags.dir);
    if (!store.ok()) throw CLI::RuntimeError("lake consume: " + store.error().ToString(), 1);
    dead_letters = std::move(*store);
    source_options.dead_letters = dead_letters.get();
  }
  std::stop_source stop;
  lake::TableOwnership ownership(**sink, flags.dir, stop.get_token());
  source_options.listener = &ownership;
  std::jthread watcher([&](std::stop_token done) {
    while (!done.stop_requested()) {
      timespec wait{0, 100 * 1000 * 1000};
      if (sigtimedwait(&signals, nullptr, &wait) > 0) stop.request_stop();
    }
  });
  kafka::KafkaSource source(source_options);
  Status st = source.Run(stop.get_token(), **sink);
  watcher.request_stop();
  auto stats = source.stats();
  std::printf(
      "lake consume: %llu changes, %llu duplicates dropped, %llu dead letters; transactions %s: "
      "%llu whole, %llu incomplete, %llu late changes\n",
      static_cast<unsigned long long>(stats.changes),
      static_cast<unsigned long long>(stats.duplicates),
      static_cast<unsigned long long>(stats.dead_letters), flags.transactions.c_str(),
      static_cast<unsigned long long>(stats.transactions),
      static_cast<unsigned long long>(stats.incomplete),
      static_cast<unsigned long long>(stats.late));
  // Stopped while waiting for a table another member still held: a clean stop all the same.
  if (!st.ok() && st.error().code() == ErrorCode::kCancelled && stop.stop_requested()) return;
  Check(st, "consume");
}

}  // namespace

void AddLakeCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "lake", "The analytics lake: status, rebuild, compact, query, consume, dead-letters");
  cmd->require_subcommand(1);
  auto flags = std::make_shared<LakeFlags>();
  auto add_dir = [&](CLI::App* sub) {
    sub->add_option("--lake-dir", flags->dir, "The lake's directory")->capture_default_str();
  };

  auto* status = cmd->add_subcommand("status", "Committed position and rows and files per dataset");
  add_dir(status);
  status->callback([flags] { PrintStatus(*flags); });

  auto* rebuild = cmd->add_subcommand(
      "rebuild", "Rebuild the dimensions and the fact from the change logs (same surrogate keys)");
  add_dir(rebuild);
  AddScdOptions(rebuild, &flags->scd);
  rebuild->callback([flags] {
    auto writer = OpenWriter(*flags);
    Check(writer->Rebuild(), "rebuild");
    std::printf("lake rebuild: version %llu\n",
                static_cast<unsigned long long>(writer->published().version));
  });

  auto* compact = cmd->add_subcommand("compact", "Merge every dataset's files now");
  add_dir(compact);
  AddScdOptions(compact, &flags->scd);
  compact->callback([flags] {
    auto writer = OpenWriter(*flags);
    Check(writer->Compact(/*force=*/true), "compact");
    std::printf("lake compact: version %llu\n",
                static_cast<unsigned long long>(writer->published().version));
  });

  auto* dead = cmd->add_subcommand(
      "dead-letters", "List the newest changes and messages capture set aside (docs/CDC.md)");
  add_dir(dead);
  dead->add_option("--limit", flags->limit, "How many of the newest (0: all)")
      ->capture_default_str();
  dead->callback([flags] { PrintDeadLetters(*flags); });

  auto* query = cmd->add_subcommand("query", "Run one SQL query over the lake's views, print rows");
  add_dir(query);
  query
      ->add_option("sql", flags->sql,
                   "One SELECT (or SHOW, DESCRIBE, SUMMARIZE) over students_dim, "
                   "course_enrollment_fact, ...")
      ->required();
  query->add_option("--format", flags->format, "Output: table, csv or json")
      ->check(CLI::IsMember({"table", "csv", "json"}))
      ->capture_default_str();
  query->callback([flags] { RunQuery(*flags); });

  auto* consume = cmd->add_subcommand(
      "consume",
      "Fill the lake from the Kafka topics as one consumer group member; several members may "
      "share one lake directory (each writes the tables whose partitions it holds)");
  add_dir(consume);
  consume->add_option("--brokers", flags->brokers, "Kafka bootstrap servers")->required();
  consume->add_option("--group", flags->group, "Consumer group id")->capture_default_str();
  consume->add_option("--topic-prefix", flags->topic_prefix, "Topic prefix")->capture_default_str();
  consume->add_option("--topic", flags->topics, "Topics (default: every topic of the prefix)");
  consume->add_option("--kafka-property", flags->kafka_properties,
                      "A librdkafka consumer property, name=value (repeatable)");
  AddScdOptions(consume, &flags->scd);
  consume
      ->add_option("--on-error", flags->on_error,
                   "A message that does not decode or cannot be stored: dead-letter (set it "
                   "aside in the lake's dead letters and go on) or stop")
      ->capture_default_str()
      ->check(CLI::IsMember({"dead-letter", "stop"}));
  consume
      ->add_option("--transactions", flags->transactions,
                   "auto: whole transactions in commit order while this member reads "
                   "<prefix>.transaction (kafka+txmeta sinks, Debezium's "
                   "provide.transaction.metadata), else per partition; exact: also subscribe to "
                   "it with --topic; partition: never")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "exact", "partition"}));
  consume
      ->add_option("--max-buffered-changes", flags->max_buffered_changes,
                   "Whole transactions: the most changes kept waiting for the rest of their "
                   "transactions; past it the oldest goes on incomplete")
      ->capture_default_str();
  consume->callback([flags] { RunConsume(*flags); });
}

}  // namespace migsbyu::app
