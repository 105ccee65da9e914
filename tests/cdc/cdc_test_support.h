// Support for the cdc integration tests: reading what the file sink holds, polling with a bound,
// running the connector in-process or as a `migsbyu cdc` child process.
//
// Threading: test thread only, except InProcessConnector which runs the connector on its own
// thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "cdc/connector.h"
#include "pg/connection.h"
#include "transport/file/file_sink.h"

namespace migsbyu::cdc::testing {

// The committed transactions of a file-sink file (a torn or open tail is ignored).
struct FileContents {
  std::vector<nlohmann::json> changes;  // change lines of committed transactions, in file order
  std::vector<nlohmann::json> commits;  // commit lines
};
FileContents ReadCommitted(const std::string& path);

// Polls `done` every 20 ms until it returns true or `limit` passes; returns its last answer.
bool PollUntil(const std::function<bool()>& done, std::chrono::seconds limit);

// A fresh folder under the temp dir, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A PostgreSQL cluster of the test's own (scripts/pg.sh, fsync off), for tests that restart the
// server or change its settings, so the shared test server is never disturbed. Stopped and
// removed by the destructor.
class PrivateCluster {
 public:
  // `pg_script`: the path of scripts/pg.sh. Starts the cluster on a free port.
  explicit PrivateCluster(std::string pg_script);
  ~PrivateCluster();
  void Start();
  void Stop();
  std::string url() const;
  const std::string& dir() const { return dir_.path(); }

 private:
  std::string script_;
  TempDir dir_;
  std::string port_;
};

// Runs a Connector with a FileSink on a thread until Stop() or destruction.
class InProcessConnector {
 public:
  InProcessConnector(ConnectorOptions options, const std::string& file);
  ~InProcessConnector() { Stop(); }
  Status Stop();
  Metrics GetMetrics() const { return connector_->GetMetrics(); }

 private:
  std::unique_ptr<transport::FileSink> sink_;
  std::unique_ptr<Connector> connector_;
  std::jthread thread_;
  Status result_ = OkStatus();
};

// `migsbyu cdc` as a child process, into the file sink at `file` (or, when it names a kind,
// such as "lake:DIR", into that sink).
class ChildConnector {
 public:
  ChildConnector(const std::string& database_url, const std::string& file,
                 std::vector<std::string> extra_args = {});
  ~ChildConnector();
  pid_t pid() const { return pid_; }
  // Peak resident set of the child so far, in KiB (VmHWM), or -1.
  long PeakRssKb() const;
  void Kill9();
  // SIGTERM and wait; returns the exit status.
  int Terminate();

 private:
  pid_t pid_ = -1;
};

// Connection to `url`, failing the test when it cannot connect.
pg::Connection Connect(const std::string& url);
// Runs fixed SQL, failing the test on error.
void Exec(pg::Connection& conn, const std::string& sql);
// CREATE TABLE `table` (`columns`) with REPLICA IDENTITY FULL, as the connector needs for the
// before images; `table` is a plain identifier of the test's.
void CreateCapturedTable(pg::Connection& conn, const std::string& table,
                         const std::string& columns);
// Sets the decoding budget of `database`'s new sessions (the connector's slot reads it when it
// starts); `amount` is a fixed setting of the test's. A small one, "64kB", makes the server stream
// (protocol 2) or spill to its disk (protocol 1) every sizeable transaction.
void SetDecodingWorkMem(pg::Connection& conn, const std::string& database,
                        const std::string& amount);
// Polls until `connector` streams (its snapshot done), for at most `limit`.
bool WaitUntilStreaming(const InProcessConnector& connector,
                        std::chrono::seconds limit = std::chrono::seconds(60));

}  // namespace migsbyu::cdc::testing
