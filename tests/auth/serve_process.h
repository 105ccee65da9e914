// Support for the sign-in tests that run the real binary: `migsbyu serve` as a child process on a
// test database (its own temporary lake, replication slot and loopback ports), and the other
// subcommands run to completion with their output.
//
// Threading: the test's thread; a reader thread collects the server's output.
#pragma once

#include <sys/types.h>

#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "auth/testing.h"

namespace migsbyu::auth::testing {

// What a finished `migsbyu ...` printed and how it ended.
struct CommandResult {
  int exit_code = -1;  // -1: killed by a signal
  std::string out;
  std::string err;
};

// Runs MIGSBYU_BINARY with `args`, `input` on its stdin, without a terminal.
CommandResult RunMigsbyu(const std::vector<std::string>& args, const std::string& input = "");

class ServeProcess {
 public:
  // Starts `migsbyu serve --database-url url` on ports it picks, with a fresh lake, the slot and
  // (unless `extra` names one) the publication named `slot`, and `extra` options; returns once
  // /health answers (fails the test if it does not within a minute). `pipeline`: with capture and
  // the analytics routes. `url_in_environment`: the URL is handed over as DATABASE_URL, the way
  // a deployment passes a password, rather than as --database-url. `extra` may name its own
  // --web-dir (the default is a folder that does not exist).
  ServeProcess(const std::string& url, const std::string& slot, bool pipeline,
               std::vector<std::string> extra = {}, bool url_in_environment = false);
  ~ServeProcess();  // SIGINT, then waits
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  bool running() const { return api_port_ != 0; }
  int api_port() const { return api_port_; }
  int web_port() const { return web_port_; }
  HttpClient api() const { return HttpClient(api_port_); }
  const std::string& lake_dir() const { return lake_dir_; }
  // The first run's admin password, as printed ("" when none was printed).
  std::string FirstPassword() const;
  std::string Output() const;

  // Stops the server (SIGINT) and returns its exit status; idempotent.
  int Stop();

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int status_ = 0;
  int api_port_ = 0;
  int web_port_ = 0;
  std::string lake_dir_;
  mutable std::mutex mu_;
  std::string output_;
  std::thread reader_;
};

// Polls `done` every 20 ms until it holds or `limit` passes (a bound, not a timing claim).
bool Eventually(const std::function<bool()>& done,
                std::chrono::milliseconds limit = std::chrono::seconds(30));

}  // namespace migsbyu::auth::testing
