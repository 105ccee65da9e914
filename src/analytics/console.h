// SqlConsole: the analytics API's read-only SQL console over the lake, isolated from the portal.
//
// A user's SQL never runs in the portal's process. Each query gets a worker process of its own,
// started fresh for it and discarded after it (console_worker.h: the portal's own binary, a hidden
// subcommand), so nothing of one query or user survives into the next and a query that exhausts
// memory, spins or crashes takes down only its worker. The worker runs confined (worker_process.h:
// an empty environment, no descriptors but its socket, its own session and process group, no
// privileges, a seccomp filter) under limits the portal sets before sending it anything:
//   - address space: memory_limit_bytes (RLIMIT_AS; DuckDB's memory_limit is half of it, so that
//     DuckDB refuses most overruns itself with a clear error);
//   - CPU time: the time limit times the worker's threads, plus one second (RLIMIT_CPU): a
//     backstop, as the wall-clock limit comes first;
//   - wall-clock time: time_limit, counted from the moment the query is sent; then the portal
//     kills the worker's process group (SIGKILL);
//   - no core file, no file written, a bounded number of open files;
//   - its answer: at most `limit` rows and max_result_bytes bytes of rows (the answer says which
//     cut it, "truncated_by"), and the portal reads no more than that from it, treating its bytes
//     as hostile (length-prefixed, bounded, strictly checked).
// The worker reads the lake's latest commit, pinned for the query (its files stay until the
// worker is done), through views over exactly that commit's files: it may open those files and no
// other. Only views can be read, and only read: DuckDB parses the query and the worker checks the
// tree against an allow-list of statements, tables and functions (sql_policy.h) before anything
// is bound or run. Personal data (options.personal_columns, and before_/after_ of them in the
// change logs) reads as the masked value in the worker's views for a query that asks for masking,
// so no expression over a view can reach the values.
//
// Concurrency is bounded: at most max_workers queries run at once; up to max_queued more wait
// their turn (first come, first served) for at most queue_timeout; beyond that, or after that,
// Run answers kTooManyRequests (429).
//
// Errors: a refused query, a DuckDB error, a limit out of range, and a query stopped by a limit
// (time, memory, CPU) or by its worker crashing are kInvalidArgument (400) with an "sql: ..."
// message that says which; a full queue is kTooManyRequests (429); a worker that cannot be started
// is kUnavailable (503).
//
// Threading: Run is thread-safe and blocks its caller until the query ends (the worker is tied to
// the calling thread, which must not exit meanwhile: a portal request thread). The LakeAccess must
// outlive the console.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "analytics/lake_access.h"
#include "common/result.h"

namespace migsbyu::analytics {

struct ConsoleOptions {
  int64_t default_limit = 1000;
  int64_t max_limit = 10000;
  int64_t max_result_bytes = int64_t{8} << 20;
  std::chrono::milliseconds time_limit{5000};
  int64_t memory_limit_bytes = int64_t{1} << 30;
  int threads = 2;  // DuckDB threads per worker
  int max_workers = 2;
  int max_queued = 8;
  std::chrono::milliseconds queue_timeout{20000};
  // The worker: this program with these arguments (plus --parent <pid>). /proc/self/exe is the
  // portal's own binary, whatever its path and even if it has been replaced on disk since.
  std::string worker_program = "/proc/self/exe";
  std::vector<std::string> worker_args = {"console-worker"};
  // The columns that hold personal data; Open refuses an empty list, so that masking cannot be
  // forgotten by accident.
  std::vector<std::string> personal_columns;
  std::string masked_value = "***";
};

// Whether personal data shows in a query's views.
enum class PersonalData { kMasked, kShown };

struct ConsoleResult {
  nlohmann::json columns = nlohmann::json::array();  // [{"name", "type"}, ...]
  nlohmann::json rows = nlohmann::json::array();     // [[value, ...], ...], query.h JSON forms
  bool truncated = false;                            // more rows existed than were answered
  std::optional<std::string> truncated_by;           // "rows" (the limit) or "bytes" (the cap)
  double elapsed_ms = 0;                             // from sending the query to its answer

  // {"columns", "rows", "truncated", "truncated_by", "elapsed_ms"}: POST /analytics/sql's body.
  nlohmann::json ToJson() const;
};

// How busy the console is, for tests and metrics.
struct ConsoleLoad {
  int running = 0;
  int queued = 0;
};

class SqlConsole {
 public:
  // Checks the options; fails (kInvalidArgument) for a limit out of range or no personal columns.
  static Result<std::unique_ptr<SqlConsole>> Open(LakeAccess& lake, ConsoleOptions options);

  SqlConsole(const SqlConsole&) = delete;
  SqlConsole& operator=(const SqlConsole&) = delete;

  // Runs one read query over the lake's latest commit in a worker of its own and returns its
  // first `limit` rows (nullopt: the default limit). Errors as described above.
  Result<ConsoleResult> Run(const std::string& sql, std::optional<int64_t> limit,
                            PersonalData personal_data = PersonalData::kMasked);

  ConsoleLoad Load();
  const ConsoleOptions& options() const { return options_; }

 private:
  SqlConsole(LakeAccess& lake, ConsoleOptions options)
      : lake_(lake), options_(std::move(options)) {}

  // Holds one of the max_workers places while it lives.
  class Place {
   public:
    explicit Place(SqlConsole* console) : console_(console) {}
    Place(Place&& other) noexcept : console_(std::exchange(other.console_, nullptr)) {}
    Place(const Place&) = delete;
    Place& operator=(const Place&) = delete;
    Place& operator=(Place&&) = delete;
    ~Place();

   private:
    SqlConsole* console_;
  };
  // Waits for a place, first come first served; kTooManyRequests when the queue is full or the
  // wait passes queue_timeout.
  Result<Place> Admit();
  Result<ConsoleResult> RunInWorker(const std::string& sql, int64_t rows_wanted,
                                    PersonalData personal_data);

  LakeAccess& lake_;
  const ConsoleOptions options_;

  std::mutex mu_;
  std::condition_variable turn_;
  int running_ = 0;             // GUARDED_BY(mu_)
  uint64_t next_ticket_ = 0;    // GUARDED_BY(mu_)
  std::deque<uint64_t> queue_;  // GUARDED_BY(mu_): tickets waiting, oldest first
};

// Why `sql` may not run in the console (the "sql: ..." message of the refusal), judged from its
// text alone: empty, or not starting with a read keyword. nullopt when the text may go on to the
// worker's checks on the parsed query.
std::optional<std::string> RefuseByText(const std::string& sql);

}  // namespace migsbyu::analytics
