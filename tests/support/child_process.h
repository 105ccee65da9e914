// Test support: a child process (usually the `migsbyu` binary under test) with its output in a
// log file, started with posix_spawn (no fork of the test process, which may have threads) and
// always killed and reaped by the destructor, so a failing test leaves nothing running.
//
// Threading: one owner thread.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace migsbyu::testing {

class ChildProcess {
 public:
  // Starts args[0] with `args`, stdout and stderr appended to `log`. The test fails (and the
  // object is not running) when it cannot start.
  ChildProcess(const std::vector<std::string>& args, const std::string& log);
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  // True until the child has exited (and been reaped, by this or by Stop).
  bool Running();
  // Sends `signal` and waits for the child to end; its wait status, or -1 if it was not running.
  int Stop(int signal);
  // The log's contents so far.
  std::string Log() const;

 private:
  pid_t pid_ = -1;
  std::string log_;
};

}  // namespace migsbyu::testing
