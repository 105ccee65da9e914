// A test program, not part of migsbyu: it confines itself as the console's worker does
// (ConfineThisProcess), waits for one frame on stdin as the worker waits for its query, then tries
// what an escaped query would try, and sends one frame on stdout:
// a JSON object from each attempt's name to its outcome, "ok" or the errno's name ("EPERM").
// worker_process_test.cc starts it through WorkerProcess and checks the outcomes against
// testdata/confinement.txt.
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "analytics/worker_process.h"

extern char** environ;

namespace {

using migsbyu::analytics::ConfineThisProcess;
using migsbyu::analytics::ReadFrame;
using migsbyu::analytics::WriteFrame;

std::string Outcome(long result) {
  if (result >= 0) return "ok";
  const char* name = strerrorname_np(errno);
  return name ? name : std::to_string(errno);
}

// A result that is a descriptor: closed again when it is one.
std::string Opened(int fd) {
  std::string outcome = Outcome(fd);
  if (fd >= 0) close(fd);
  return outcome;
}

}  // namespace

int main(int argc, char** argv) {
  pid_t parent = argc > 2 ? static_cast<pid_t>(std::atoi(argv[2])) : 0;
  nlohmann::json out;
  out["confine"] = ConfineThisProcess(parent).ok() ? "ok" : "failed";
  // As the console's worker does, wait for the parent's first frame: WorkerProcess::Start sets
  // the resource limits after the spawn, so only a frame sent after Start returned says they are
  // in place.
  out["first_frame"] = ReadFrame(STDIN_FILENO, 64).ok() ? "ok" : "failed";
  const std::string scratch = "/tmp/migsbyu-confinement-probe-" + std::to_string(getpid());

  out["open_for_writing"] = Opened(open(scratch.c_str(), O_WRONLY | O_CREAT, 0600));
  out["open_read_write"] = Opened(open("/dev/null", O_RDWR));
  out["open_truncating"] = Opened(open("/dev/null", O_RDONLY | O_TRUNC));
  out["open_for_reading"] = Opened(open("/etc/passwd", O_RDONLY));
  out["openat2"] = Outcome(syscall(SYS_openat2, AT_FDCWD, "/etc/passwd", nullptr, 0));
  out["creat"] = Opened(creat(scratch.c_str(), 0600));
  out["unlink"] = Outcome(unlink(scratch.c_str()));
  out["mkdir"] = Outcome(mkdir(scratch.c_str(), 0700));
  out["rename"] = Outcome(rename("/etc/passwd", scratch.c_str()));
  out["chmod"] = Outcome(chmod("/tmp", 0777));
  out["truncate"] = Outcome(truncate("/etc/passwd", 0));
  out["symlink"] = Outcome(symlink("/etc/passwd", scratch.c_str()));
  out["socket_inet"] = Opened(socket(AF_INET, SOCK_STREAM, 0));
  out["socket_unix"] = Opened(socket(AF_UNIX, SOCK_STREAM, 0));
  pid_t child = fork();
  if (child == 0) _exit(0);
  out["fork"] = Outcome(child);
  char* no_args[] = {nullptr};
  out["execve"] = Outcome(execve("/bin/true", no_args, no_args));
  bool thread_ran = false;
  std::thread([&] { thread_ran = true; }).join();
  out["thread"] = thread_ran ? "ok" : "failed";
  out["kill_parent"] = Outcome(kill(getppid(), 0));
  out["kill_everyone"] = Outcome(kill(-1, 0));
  out["kill_self"] = Outcome(kill(getpid(), 0));
  out["ptrace"] = Outcome(ptrace(PTRACE_TRACEME, 0, nullptr, nullptr));
  out["unshare"] = Outcome(unshare(CLONE_NEWUSER));
  out["io_uring_setup"] = Outcome(syscall(SYS_io_uring_setup, 1, nullptr));
  struct rlimit as {};
  out["getrlimit"] = Outcome(getrlimit(RLIMIT_AS, &as));
  struct rlimit raised = as;
  raised.rlim_cur = raised.rlim_max = RLIM_INFINITY;
  out["raise_address_space"] = Outcome(setrlimit(RLIMIT_AS, &raised));
  out["address_space_limit"] = std::to_string(as.rlim_max);
  struct rlimit fsize {
  }, core{};
  getrlimit(RLIMIT_FSIZE, &fsize);
  getrlimit(RLIMIT_CORE, &core);
  out["file_size_limit"] = std::to_string(fsize.rlim_max);
  out["core_limit"] = std::to_string(core.rlim_max);
  void* big = std::malloc(size_t{2} << 30);
  out["allocate_2_gib"] = big ? "ok" : "failed";
  std::free(big);
  int variables = 0;
  for (char** e = environ; e && *e; ++e) ++variables;
  out["environment_variables"] = std::to_string(variables);
  int descriptors = 0;
  for (const auto& fd : std::filesystem::directory_iterator("/proc/self/fd")) {
    (void)fd;
    ++descriptors;
  }
  out["descriptors"] = std::to_string(descriptors - 1);  // less the one listing them
  struct __user_cap_header_struct header {
    _LINUX_CAPABILITY_VERSION_3, 0
  };
  struct __user_cap_data_struct caps[2]{};
  syscall(SYS_capget, &header, caps);
  out["effective_capabilities"] = std::to_string(caps[0].effective | caps[1].effective);
  out["parent_still_there"] = getppid() == parent ? "ok" : "failed";
  return WriteFrame(STDOUT_FILENO, out.dump()).ok() ? 0 : 1;
}
