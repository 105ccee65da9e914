// WorkerProcess: a short-lived helper process for untrusted work (the SQL console's queries), and
// the confinement that helper puts itself under before it reads anything untrusted.
//
// Parent side. Start launches a fresh program image with posix_spawn (a vfork-style clone: no copy
// of the portal's address space, and safe in a multi-threaded process), with
//   - a session and so a process group of its own (no controlling terminal; Finish kills the
//   group);
//   - an empty environment: nothing of the portal's (DATABASE_URL, credentials) is inherited;
//   - stdin and stdout both on one end of a socket pair, stderr on /dev/null, and no other
//     descriptor (every descriptor from 3 up is closed in the child before exec);
//   - every signal unblocked and at its default action;
// and then, before a byte is sent to it, sets its resource limits with prlimit(2), so that they
// hold whatever the child does: address space (RLIMIT_AS), CPU time (RLIMIT_CPU: SIGXCPU at the
// limit, SIGKILL a second later), no core file (RLIMIT_CORE 0), no file growth (RLIMIT_FSIZE 0:
// writing a regular file fails) and a bound on open files. Soft and hard limits are equal (CPU
// aside), so the child cannot raise them. Send and Receive move one frame each way under a
// deadline, reading at most a given size, and treat the child's bytes as hostile. Finish kills the
// whole process group with SIGKILL and reaps the child, telling how it ended; the destructor does
// the same, so no path leaves a worker running or a zombie behind.
//
// Child side. ConfineThisProcess, called first thing in the child: dies with the thread that
// started it (PR_SET_PDEATHSIG), sets the no-core and no-file-growth limits again, closes every
// descriptor above 2, clears the environment, drops every capability when it runs as root, sets
// PR_SET_NO_NEW_PRIVS and installs a seccomp filter (x86-64) that refuses, with EPERM, whatever the
// work never needs and an escape would: opening a file for writing, creating, renaming, removing
// or changing files and their metadata, sockets, executing or forking (threads are allowed),
// signalling another process, ptrace and process_vm_*, raising limits, io_uring, mount and
// namespaces, BPF and perf, keyrings, module loading, TIOCSTI. On another architecture the filter
// is skipped (the rest holds); docs/SECURITY.md says so.
//
// Frames (both directions): a 4-byte little-endian payload length, then the payload.
//
// Threading: a WorkerProcess is used by one thread at a time, and that thread must be the one that
// started it and must outlive it: the child is killed when its starting thread ends.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace migsbyu::analytics {

struct WorkerLimits {
  uint64_t address_space_bytes = uint64_t{1} << 30;
  uint64_t cpu_seconds = 10;
  uint64_t open_files = 256;
};

// How a worker ended, from wait4(2).
struct WorkerExit {
  bool exited = false;        // it called exit: `code` holds the status
  int code = 0;               // exit status, when exited
  int signal = 0;             // the signal that killed it, when not exited
  bool killed_by_us = false;  // Finish sent SIGKILL while it was still running
  double cpu_seconds = 0;     // user + system time it used
};

class WorkerProcess {
 public:
  using Clock = std::chrono::steady_clock;

  // Starts `program` with arguments `args` (argv[1...]) as described above. kUnavailable when the
  // socket pair, the spawn or a limit fails (the child, if any, is killed).
  static Result<WorkerProcess> Start(const std::string& program,
                                     const std::vector<std::string>& args,
                                     const WorkerLimits& limits);

  WorkerProcess(WorkerProcess&& other) noexcept;
  WorkerProcess& operator=(WorkerProcess&& other) noexcept;
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;
  ~WorkerProcess();

  enum class Outcome {
    kDone,      // sent, or a whole frame received
    kDeadline,  // the deadline passed first
    kClosed,    // the child closed its end (or died) first
    kTooLarge,  // the frame announced more than the maximum (nothing more is read)
  };

  // Writes one frame with `payload` before `deadline`.
  Outcome Send(std::string_view payload, Clock::time_point deadline);
  // Reads one frame of at most `max_bytes` into `*payload` before `deadline`.
  Outcome Receive(std::string* payload, size_t max_bytes, Clock::time_point deadline);

  // Kills the process group (SIGKILL), reaps the child and says how it ended. Idempotent: later
  // calls return the first answer.
  WorkerExit Finish();

  pid_t pid() const { return pid_; }

 private:
  WorkerProcess(pid_t pid, UniqueFd socket) : pid_(pid), socket_(std::move(socket)) {}

  pid_t pid_ = -1;
  UniqueFd socket_;
  bool finished_ = false;
  WorkerExit exit_;
};

// Confines the calling process for good, as described above. Call before reading anything
// untrusted. `parent` (when > 0) is the pid of the process that started this one: if it is no
// longer the parent, it died before the death signal was armed, and confinement fails. kInternal
// naming the step that failed.
Status ConfineThisProcess(pid_t parent);

// `payload` as one frame: its length prefix, then itself.
std::string EncodeFrame(std::string_view payload);

// Blocking frame I/O for the child's side, on its stdin and stdout: the whole frame or an error
// (a frame longer than `max_bytes`, a short read, EOF).
Result<std::string> ReadFrame(int fd, size_t max_bytes);
Status WriteFrame(int fd, std::string_view payload);

}  // namespace migsbyu::analytics
