#include "analytics/console.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "analytics/console_worker.h"
#include "analytics/sql_policy.h"
#include "analytics/worker_process.h"
#include "common/log.h"

namespace migsbyu::analytics {
namespace {

using nlohmann::json;

constexpr size_t kMaxSqlBytes = 100000;
// Room in a reply for its columns and messages beside the rows' byte budget.
constexpr size_t kReplyOverhead = size_t{1} << 20;
constexpr size_t kMaxMessageBytes = 2000;
// A worker's start (exec, dynamic linking, confinement) counts against no query's time limit, but
// may take no longer than this.
constexpr std::chrono::milliseconds kStartTimeout{10000};

// Skips whitespace and -- and /* */ comments from `pos`; returns the new position.
size_t SkipSpaceAndComments(const std::string& sql, size_t pos) {
  while (pos < sql.size()) {
    if (std::isspace(static_cast<unsigned char>(sql[pos]))) {
      ++pos;
    } else if (sql.compare(pos, 2, "--") == 0) {
      auto end = sql.find('\n', pos);
      pos = end == std::string::npos ? sql.size() : end + 1;
    } else if (sql.compare(pos, 2, "/*") == 0) {
      auto end = sql.find("*/", pos + 2);
      pos = end == std::string::npos ? sql.size() : end + 2;
    } else {
      break;
    }
  }
  return pos;
}

// "1 GiB", "512 MiB", "1536 KiB".
std::string Bytes(int64_t n) {
  if (n % (int64_t{1} << 30) == 0) return std::to_string(n >> 30) + " GiB";
  if (n % (int64_t{1} << 20) == 0) return std::to_string(n >> 20) + " MiB";
  if (n % 1024 == 0) return std::to_string(n >> 10) + " KiB";
  return std::to_string(n) + " bytes";
}

std::string SignalName(int sig) {
  const char* name = sigabbrev_np(sig);
  return name ? std::string("SIG") + name : "signal " + std::to_string(sig);
}

// A reply is at most {"columns": [{...}], "rows": [[value]]}: anything nested deeper is not one.
constexpr int kMaxReplyDepth = 3;

// The worker's reply, checked as hostile input: the shapes of console_worker.h and nothing else,
// at most `rows_wanted` rows of as many values as there are columns.
Result<ConsoleResult> DecodeReply(const std::string& text, int64_t rows_wanted,
                                  const std::string& memory_limit) {
  auto malformed = [](const std::string& why) {
    MIGSBYU_LOG_WARN("sql console: a worker's answer was malformed: {}", why);
    return Error::InvalidArgument("sql: the query's worker gave a malformed answer (" + why + ")");
  };
  bool too_deep = false;
  json::parser_callback_t depth_check = [&](int depth, json::parse_event_t, json&) {
    if (depth > kMaxReplyDepth) too_deep = true;
    return !too_deep;
  };
  json reply = json::parse(text, depth_check, /*allow_exceptions=*/false);
  if (too_deep) return malformed("nested too deeply");
  if (reply.is_discarded() || !reply.is_object()) return malformed("not a JSON object");
  auto ok = reply.find("ok");
  if (ok == reply.end() || !ok->is_boolean()) return malformed("no \"ok\"");
  if (!ok->get<bool>()) {
    auto kind = reply.find("kind");
    auto message = reply.find("message");
    if (kind == reply.end() || !kind->is_string() || message == reply.end() ||
        !message->is_string()) {
      return malformed("a failure without kind or message");
    }
    std::string m = message->get<std::string>().substr(0, kMaxMessageBytes);
    if (!m.starts_with("sql: ")) m = "sql: " + m;
    if (*kind == "memory") {
      return Error::InvalidArgument("sql: the query exceeded the memory limit (" + memory_limit +
                                    ") and was stopped: " + m.substr(5));
    }
    if (*kind != "refused" && *kind != "failed") return malformed("an unknown kind of failure");
    return Error::InvalidArgument(m);
  }
  ConsoleResult out;
  auto columns = reply.find("columns");
  auto rows = reply.find("rows");
  auto truncated = reply.find("truncated");
  auto truncated_by = reply.find("truncated_by");
  if (columns == reply.end() || !columns->is_array()) return malformed("no columns");
  if (rows == reply.end() || !rows->is_array()) return malformed("no rows");
  if (truncated == reply.end() || !truncated->is_boolean()) return malformed("no truncated");
  for (const auto& c : *columns) {
    if (!c.is_object() || c.size() != 2 || !c.contains("name") || !c["name"].is_string() ||
        !c.contains("type") || !c["type"].is_string()) {
      return malformed("a column is not {name, type}");
    }
  }
  if (rows->size() > static_cast<size_t>(rows_wanted)) return malformed("too many rows");
  for (const auto& row : *rows) {
    if (!row.is_array() || row.size() != columns->size()) return malformed("a row of wrong width");
    for (const auto& v : row) {
      if (!v.is_primitive()) return malformed("a value that is not a scalar");
    }
  }
  if (truncated_by != reply.end() && !truncated_by->is_null()) {
    if (!truncated_by->is_string() || (*truncated_by != "rows" && *truncated_by != "bytes")) {
      return malformed("an unknown truncated_by");
    }
    out.truncated_by = truncated_by->get<std::string>();
  }
  if (truncated->get<bool>() != out.truncated_by.has_value()) {
    return malformed("truncated and truncated_by disagree");
  }
  out.truncated = truncated->get<bool>();
  out.columns = std::move(*columns);
  out.rows = std::move(*rows);
  return out;
}

}  // namespace

json ConsoleResult::ToJson() const {
  return {{"columns", columns},
          {"rows", rows},
          {"truncated", truncated},
          {"truncated_by", truncated_by ? json(*truncated_by) : json(nullptr)},
          {"elapsed_ms", elapsed_ms}};
}

std::optional<std::string> RefuseByText(const std::string& sql) {
  size_t start = SkipSpaceAndComments(sql, 0);
  if (start >= sql.size()) return "sql: the query is empty";
  if (sql[start] == '(') return std::nullopt;
  size_t end = start;
  while (end < sql.size() &&
         (std::isalpha(static_cast<unsigned char>(sql[end])) || sql[end] == '_')) {
    ++end;
  }
  std::string word;
  for (size_t i = start; i < end; ++i) {
    word += static_cast<char>(std::toupper(static_cast<unsigned char>(sql[i])));
  }
  static const char* kReadKeywords[] = {"SELECT",   "WITH", "FROM",      "VALUES", "TABLE",
                                        "DESCRIBE", "SHOW", "SUMMARIZE", "PIVOT",  "UNPIVOT"};
  for (const char* keyword : kReadKeywords) {
    if (word == keyword) return std::nullopt;
  }
  return "sql: " + (word.empty() ? std::string("this") : word) +
         " statements are refused: " + kConsoleRunsOnlyReads;
}

Result<std::unique_ptr<SqlConsole>> SqlConsole::Open(LakeAccess& lake, ConsoleOptions options) {
  auto invalid = [](const std::string& why) {
    return Error::InvalidArgument("sql console: " + why);
  };
  if (options.max_limit < 1 || options.default_limit < 1 ||
      options.default_limit > options.max_limit) {
    return invalid("the row limits must satisfy 1 <= default <= maximum");
  }
  if (options.max_result_bytes < 1024) return invalid("the result cap must be at least 1 KiB");
  if (options.time_limit.count() < 1) return invalid("the time limit must be positive");
  if (options.memory_limit_bytes < (int64_t{64} << 20)) {
    return invalid("the memory limit must be at least 64 MiB");
  }
  if (options.threads < 1 || options.max_workers < 1 || options.max_queued < 0) {
    return invalid("threads and workers must be at least 1, the queue at least 0");
  }
  if (options.personal_columns.empty()) {
    return invalid("no personal columns to mask were given");
  }
  if (options.worker_program.empty()) return invalid("no worker program");
  return std::unique_ptr<SqlConsole>(new SqlConsole(lake, std::move(options)));
}

SqlConsole::Place::~Place() {
  if (!console_) return;
  {
    std::lock_guard lock(console_->mu_);
    --console_->running_;
  }
  console_->turn_.notify_all();
}

Result<SqlConsole::Place> SqlConsole::Admit() {
  std::unique_lock lock(mu_);
  if (queue_.empty() && running_ < options_.max_workers) {
    ++running_;
    return Place(this);
  }
  auto busy = [&](const std::string& why) {
    return Error::TooManyRequests("sql console: busy (" + std::to_string(running_) +
                                  " queries running, " + std::to_string(queue_.size()) +
                                  " waiting): " + why + "; try again in a moment");
  };
  if (static_cast<int>(queue_.size()) >= options_.max_queued) return busy("the queue is full");
  uint64_t ticket = next_ticket_++;
  queue_.push_back(ticket);
  bool admitted = turn_.wait_for(lock, options_.queue_timeout, [&] {
    return running_ < options_.max_workers && queue_.front() == ticket;
  });
  if (!admitted) {
    queue_.erase(std::find(queue_.begin(), queue_.end(), ticket));
    turn_.notify_all();
    return busy("waited " + std::to_string(options_.queue_timeout.count()) + " ms in the queue");
  }
  queue_.pop_front();
  ++running_;
  turn_.notify_all();  // the next in the queue may fit too
  return Place(this);
}

ConsoleLoad SqlConsole::Load() {
  std::lock_guard lock(mu_);
  return {running_, static_cast<int>(queue_.size())};
}

Result<ConsoleResult> SqlConsole::Run(const std::string& sql, std::optional<int64_t> limit,
                                      PersonalData personal_data) {
  int64_t rows_wanted = limit.value_or(options_.default_limit);
  if (rows_wanted < 1 || rows_wanted > options_.max_limit) {
    return Error::InvalidArgument("limit: " + std::to_string(rows_wanted) +
                                  " is not between 1 and " + std::to_string(options_.max_limit));
  }
  if (sql.size() > kMaxSqlBytes) {
    return Error::InvalidArgument("sql: the query is longer than " + std::to_string(kMaxSqlBytes) +
                                  " bytes");
  }
  if (auto refusal = RefuseByText(sql)) return Error::InvalidArgument(*refusal);
  MIGSBYU_ASSIGN(Place place, Admit());
  return RunInWorker(sql, rows_wanted, personal_data);
}

Result<ConsoleResult> SqlConsole::RunInWorker(const std::string& sql, int64_t rows_wanted,
                                              PersonalData personal_data) {
  // The commit stays pinned (no file of it is deleted) until the worker is gone.
  MIGSBYU_ASSIGN(PinnedViews pinned, lake_.PinViews());
  WorkerRequest request;
  request.sql = sql;
  request.rows = rows_wanted;
  request.max_bytes = options_.max_result_bytes;
  request.duckdb_memory_bytes = options_.memory_limit_bytes / 2;
  request.threads = options_.threads;
  request.views = std::move(pinned.views);
  request.files = pinned.files;
  request.masked_value = options_.masked_value;
  if (personal_data == PersonalData::kMasked) {
    for (const auto& c : options_.personal_columns) {
      for (const char* prefix : {"", "before_", "after_"}) {
        request.masked_columns.push_back(prefix + c);
      }
    }
  }

  WorkerLimits limits;
  limits.address_space_bytes = static_cast<uint64_t>(options_.memory_limit_bytes);
  limits.cpu_seconds =
      static_cast<uint64_t>((options_.time_limit.count() * options_.threads + 999) / 1000 + 1);
  limits.open_files = 64 + pinned.files.size();
  std::vector<std::string> args = options_.worker_args;
  args.insert(args.end(), {"--parent", std::to_string(getpid())});
  MIGSBYU_ASSIGN(WorkerProcess worker, WorkerProcess::Start(options_.worker_program, args, limits));

  std::string hello;
  auto outcome = worker.Receive(&hello, 64, WorkerProcess::Clock::now() + kStartTimeout);
  if (outcome != WorkerProcess::Outcome::kDone || hello != kWorkerHello) {
    WorkerExit exit = worker.Finish();
    MIGSBYU_LOG_WARN("sql console: a worker did not start (exit {}, signal {})", exit.code,
                     exit.signal);
    return Error::Unavailable("sql console: the query's worker did not start");
  }
  auto sent_at = WorkerProcess::Clock::now();
  auto deadline = sent_at + options_.time_limit;
  std::string reply;
  outcome = worker.Send(EncodeRequest(request), deadline);
  // A worker that closed early may still have answered: its reply is read either way.
  if (outcome == WorkerProcess::Outcome::kDone || outcome == WorkerProcess::Outcome::kClosed) {
    outcome = worker.Receive(
        &reply, static_cast<size_t>(options_.max_result_bytes) + kReplyOverhead, deadline);
  }
  double elapsed_ms =
      std::chrono::duration<double, std::milli>(WorkerProcess::Clock::now() - sent_at).count();
  WorkerExit exit = worker.Finish();
  std::string memory_limit = Bytes(options_.memory_limit_bytes);
  switch (outcome) {
    case WorkerProcess::Outcome::kDone: {
      MIGSBYU_ASSIGN(ConsoleResult result, DecodeReply(reply, rows_wanted, memory_limit));
      result.elapsed_ms = elapsed_ms;
      return result;
    }
    case WorkerProcess::Outcome::kDeadline:
      return Error::InvalidArgument("sql: the query ran longer than the time limit of " +
                                    std::to_string(options_.time_limit.count()) +
                                    " ms and was stopped");
    case WorkerProcess::Outcome::kTooLarge:
      MIGSBYU_LOG_WARN("sql console: a worker's answer was over its size limit");
      return Error::InvalidArgument("sql: the query's answer was larger than the console accepts");
    case WorkerProcess::Outcome::kClosed:
      break;
  }
  // The worker died without answering: say which limit stopped it.
  if (exit.exited && exit.code == kExitMemory) {
    return Error::InvalidArgument("sql: the query exceeded the memory limit (" + memory_limit +
                                  ") and was stopped");
  }
  if (exit.signal == SIGXCPU ||
      (exit.signal == SIGKILL && !exit.killed_by_us &&
       exit.cpu_seconds + 0.5 >= static_cast<double>(limits.cpu_seconds))) {
    return Error::InvalidArgument("sql: the query used more than the CPU-time limit of " +
                                  std::to_string(limits.cpu_seconds) + " s and was stopped");
  }
  MIGSBYU_LOG_WARN("sql console: a worker ended without answering (exit {}, {})", exit.code,
                   exit.signal ? SignalName(exit.signal) : "no signal");
  if (exit.signal == SIGABRT || exit.signal == SIGSEGV || exit.signal == SIGBUS) {
    return Error::InvalidArgument("sql: the query stopped its worker (" + SignalName(exit.signal) +
                                  "), most likely by exhausting its memory (limit " + memory_limit +
                                  ") or its stack; nothing else was affected");
  }
  return Error::InvalidArgument(
      "sql: the query's worker ended without answering (" +
      (exit.signal ? SignalName(exit.signal) : "exit status " + std::to_string(exit.code)) +
      "); nothing else was affected");
}

}  // namespace migsbyu::analytics
