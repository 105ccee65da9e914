#include "analytics/worker_process.h"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace migsbyu::analytics {
namespace {

constexpr size_t kHeaderBytes = 4;

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

std::string EncodeHeader(size_t length) {
  std::string header(kHeaderBytes, '\0');
  for (size_t i = 0; i < kHeaderBytes; ++i)
    header[i] = static_cast<char>((length >> (8 * i)) & 0xff);
  return header;
}

size_t DecodeHeader(const std::string& header) {
  size_t length = 0;
  for (size_t i = 0; i < kHeaderBytes; ++i) {
    length |= static_cast<size_t>(static_cast<unsigned char>(header[i])) << (8 * i);
  }
  return length;
}

// The milliseconds left until `deadline` for poll(2): 0 once it has passed.
int PollTimeout(WorkerProcess::Clock::time_point deadline) {
  auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - WorkerProcess::Clock::now());
  if (left.count() <= 0) return 0;
  return static_cast<int>(std::min<int64_t>(left.count() + 1, 60000));
}

// posix_spawn's attribute and file-action objects, destroyed on every path.
struct SpawnSetup {
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  SpawnSetup() {
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_init(&actions);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

// ---- The child's seccomp filter ----

#if defined(__x86_64__)
constexpr bool kHaveSeccompFilter = true;

class FilterBuilder {
 public:
  // Any call `nr` fails with `error`.
  void Refuse(long nr, int error = EPERM) {
    Jump(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(nr), 0, 1);
    Return(SECCOMP_RET_ERRNO | (static_cast<uint32_t>(error) & SECCOMP_RET_DATA));
  }
  // Call `nr` fails with EPERM when testing argument `arg` (its low 32 bits) against `k` with
  // `test` (BPF_JEQ: equal; BPF_JSET: any bit in common) gives `refuse_when`; otherwise it runs.
  void RefuseByArgument(long nr, int arg, uint16_t test, uint32_t k, bool refuse_when) {
    Jump(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(nr), 0, 4);
    LoadArg(arg, false);
    Jump(BPF_JMP | test | BPF_K, k, refuse_when ? 0 : 1, refuse_when ? 1 : 0);
    Return(SECCOMP_RET_ERRNO | EPERM);
    Return(SECCOMP_RET_ALLOW);
  }
  // Call `nr` fails with EPERM unless argument `arg` (all 64 bits: a pointer) is null.
  void RefuseUnlessNull(long nr, int arg) {
    Jump(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(nr), 0, 6);
    LoadArg(arg, false);
    Jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 3);
    LoadArg(arg, true);
    Jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1);
    Return(SECCOMP_RET_ALLOW);
    Return(SECCOMP_RET_ERRNO | EPERM);
  }

  void LoadArch() { Load(offsetof(struct seccomp_data, arch)); }
  void LoadNr() { Load(offsetof(struct seccomp_data, nr)); }
  void LoadArg(int arg, bool high) {
    // Little-endian: the low half of a 64-bit argument comes first.
    Load(static_cast<uint32_t>(offsetof(struct seccomp_data, args) + 8 * arg + (high ? 4 : 0)));
  }
  void Jump(uint16_t code, uint32_t k, uint8_t if_true, uint8_t if_false) {
    program_.push_back(BPF_JUMP(code, k, if_true, if_false));
  }
  void Return(uint32_t action) { program_.push_back(BPF_STMT(BPF_RET | BPF_K, action)); }

  std::vector<sock_filter>& program() { return program_; }

 private:
  void Load(uint32_t offset) { program_.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offset)); }
  std::vector<sock_filter> program_;
};

// System calls the console's work never makes and an escape would want.
constexpr long kRefused[] = {
    // Changing files and their metadata.
    SYS_creat,
    SYS_truncate,
    SYS_ftruncate,
    SYS_fallocate,
    SYS_rename,
    SYS_renameat,
    SYS_renameat2,
    SYS_unlink,
    SYS_unlinkat,
    SYS_mkdir,
    SYS_mkdirat,
    SYS_rmdir,
    SYS_link,
    SYS_linkat,
    SYS_symlink,
    SYS_symlinkat,
    SYS_chmod,
    SYS_fchmod,
    SYS_fchmodat,
    452 /* fchmodat2 */,
    SYS_chown,
    SYS_fchown,
    SYS_lchown,
    SYS_fchownat,
    SYS_utime,
    SYS_utimes,
    SYS_utimensat,
    SYS_futimesat,
    SYS_mknod,
    SYS_mknodat,
    SYS_setxattr,
    SYS_lsetxattr,
    SYS_fsetxattr,
    SYS_removexattr,
    SYS_lremovexattr,
    SYS_fremovexattr,
    SYS_name_to_handle_at,
    SYS_open_by_handle_at,
    SYS_acct,
    SYS_swapon,
    SYS_swapoff,
    SYS_quotactl,
    // The network, and new sockets of any kind.
    SYS_socket,
    SYS_socketpair,
    SYS_connect,
    SYS_bind,
    SYS_listen,
    SYS_accept,
    SYS_accept4,
    // Other programs and processes.
    SYS_execve,
    SYS_execveat,
    SYS_fork,
    SYS_vfork,
    SYS_ptrace,
    SYS_process_vm_readv,
    SYS_process_vm_writev,
    SYS_tkill,
    SYS_pidfd_open,
    SYS_pidfd_send_signal,
    SYS_pidfd_getfd,
    SYS_process_madvise,
    SYS_kcmp,
    SYS_setpriority,
    SYS_sched_setscheduler,
    SYS_sched_setparam,
    SYS_sched_setattr,
    SYS_sched_setaffinity,
    SYS_migrate_pages,
    SYS_move_pages,
    SYS_setpgid,
    SYS_setsid,
    // Identity, privileges and limits.
    SYS_setuid,
    SYS_setgid,
    SYS_setreuid,
    SYS_setregid,
    SYS_setresuid,
    SYS_setresgid,
    SYS_setfsuid,
    SYS_setfsgid,
    SYS_setgroups,
    SYS_capset,
    SYS_setrlimit,
    SYS_personality,
    // The system: mounts, namespaces, kernel interfaces, clocks, modules.
    SYS_mount,
    SYS_umount2,
    SYS_pivot_root,
    SYS_chroot,
    SYS_unshare,
    SYS_setns,
    SYS_open_tree,
    SYS_move_mount,
    SYS_fsopen,
    SYS_fsconfig,
    SYS_fsmount,
    SYS_fspick,
    SYS_mount_setattr,
    SYS_bpf,
    SYS_perf_event_open,
    SYS_io_uring_setup,
    SYS_io_uring_enter,
    SYS_io_uring_register,
    SYS_userfaultfd,
    SYS_keyctl,
    SYS_add_key,
    SYS_request_key,
    SYS_init_module,
    SYS_finit_module,
    SYS_delete_module,
    SYS_kexec_load,
    SYS_kexec_file_load,
    SYS_reboot,
    SYS_settimeofday,
    SYS_clock_settime,
    SYS_clock_adjtime,
    SYS_adjtimex,
    SYS_sethostname,
    SYS_setdomainname,
    SYS_iopl,
    SYS_ioperm,
    SYS_syslog,
    SYS_vhangup,
    SYS_uselib,
    SYS_fanotify_init,
    SYS_lookup_dcookie,
};

Status InstallSeccompFilter() {
  FilterBuilder f;
  f.LoadArch();
  f.Jump(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
  f.Return(SECCOMP_RET_KILL_PROCESS);
  f.LoadNr();
  // The x32 ABI's numbers would dodge every rule below.
  f.Jump(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u /* __X32_SYSCALL_BIT */, 0, 1);
  f.Return(SECCOMP_RET_ERRNO | EPERM);
  for (long nr : kRefused) f.Refuse(nr);
  // glibc falls back to the calls below when these two answer ENOSYS; their arguments are
  // structures a filter cannot read.
  f.Refuse(SYS_clone3, ENOSYS);
  f.Refuse(SYS_openat2, ENOSYS);
  constexpr uint32_t kWriting = O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND;
  f.RefuseByArgument(SYS_open, 1, BPF_JSET, kWriting, true);
  f.RefuseByArgument(SYS_openat, 2, BPF_JSET, kWriting, true);
  f.RefuseByArgument(SYS_clone, 0, BPF_JSET, CLONE_THREAD, false);  // threads yes, processes no
  // Signals to itself only (raise, abort).
  const auto self = static_cast<uint32_t>(getpid());
  for (long nr : {SYS_kill, SYS_tgkill, SYS_rt_sigqueueinfo, SYS_rt_tgsigqueueinfo}) {
    f.RefuseByArgument(nr, 0, BPF_JEQ, self, false);
  }
  f.RefuseUnlessNull(SYS_prlimit64, 2);  // reading limits yes, setting them no
  f.RefuseByArgument(SYS_ioctl, 1, BPF_JEQ, TIOCSTI, true);
  f.Return(SECCOMP_RET_ALLOW);

  struct sock_fprog program {};
  program.len = static_cast<unsigned short>(f.program().size());
  program.filter = f.program().data();
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &program) != 0) {
    return Error::Internal(Errno("console worker: cannot install the seccomp filter"));
  }
  return OkStatus();
}
#else
constexpr bool kHaveSeccompFilter = false;
Status InstallSeccompFilter() { return OkStatus(); }
#endif

// Clears every capability set (a root process keeps its uid but loses its privileges: it can no
// longer override file permissions, signal other users' processes or raise hard limits).
Status DropCapabilities() {
  struct __user_cap_header_struct header {};
  header.version = _LINUX_CAPABILITY_VERSION_3;
  header.pid = 0;
  struct __user_cap_data_struct data[2]{};
  if (syscall(SYS_capget, &header, data) != 0) return Error::Internal(Errno("capget"));
  bool any = false;
  for (const auto& d : data) any = any || d.effective || d.permitted || d.inheritable;
  if (!any) return OkStatus();
  (void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  struct __user_cap_data_struct none[2]{};
  if (syscall(SYS_capset, &header, none) != 0) return Error::Internal(Errno("capset"));
  return OkStatus();
}

}  // namespace

Result<WorkerProcess> WorkerProcess::Start(const std::string& program,
                                           const std::vector<std::string>& args,
                                           const WorkerLimits& limits) {
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
    return Error::Unavailable(Errno("console worker: socketpair"));
  }
  UniqueFd ours(pair[0]), theirs(pair[1]);
  if (fcntl(ours.Get(), F_SETFL, O_NONBLOCK) != 0) {
    return Error::Unavailable(Errno("console worker: O_NONBLOCK"));
  }

  SpawnSetup setup;
  posix_spawn_file_actions_adddup2(&setup.actions, theirs.Get(), STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&setup.actions, theirs.Get(), STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&setup.actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addclosefrom_np(&setup.actions, STDERR_FILENO + 1);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&setup.attr, &none);
  posix_spawnattr_setsigdefault(&setup.attr, &all);
  posix_spawnattr_setflags(&setup.attr,
                           POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<std::string> argv_text = {program};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_text) argv.push_back(a.data());
  argv.push_back(nullptr);
  char* envp[] = {nullptr};

  pid_t pid = -1;
  int spawned = posix_spawn(&pid, program.c_str(), &setup.actions, &setup.attr, argv.data(), envp);
  if (spawned != 0) {
    return Error::Unavailable("console worker: cannot start " + program + ": " +
                              std::strerror(spawned));
  }
  WorkerProcess worker(pid, std::move(ours));
  theirs.Reset();

  auto limit = [&](enum __rlimit_resource resource, rlim_t soft, rlim_t hard,
                   const char* name) -> Status {
    struct rlimit value {
      soft, hard
    };
    if (prlimit(pid, resource, &value, nullptr) != 0) {
      return Error::Unavailable(Errno(std::string("console worker: cannot set ") + name));
    }
    return OkStatus();
  };
  MIGSBYU_TRY(
      limit(RLIMIT_AS, limits.address_space_bytes, limits.address_space_bytes, "RLIMIT_AS"));
  MIGSBYU_TRY(limit(RLIMIT_CPU, limits.cpu_seconds, limits.cpu_seconds + 1, "RLIMIT_CPU"));
  MIGSBYU_TRY(limit(RLIMIT_CORE, 0, 0, "RLIMIT_CORE"));
  MIGSBYU_TRY(limit(RLIMIT_FSIZE, 0, 0, "RLIMIT_FSIZE"));
  MIGSBYU_TRY(limit(RLIMIT_NOFILE, limits.open_files, limits.open_files, "RLIMIT_NOFILE"));
  return worker;
}

WorkerProcess::WorkerProcess(WorkerProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      socket_(std::move(other.socket_)),
      finished_(std::exchange(other.finished_, true)),
      exit_(other.exit_) {}

WorkerProcess& WorkerProcess::operator=(WorkerProcess&& other) noexcept {
  if (this != &other) {
    Finish();
    pid_ = std::exchange(other.pid_, -1);
    socket_ = std::move(other.socket_);
    finished_ = std::exchange(other.finished_, true);
    exit_ = other.exit_;
  }
  return *this;
}

WorkerProcess::~WorkerProcess() { Finish(); }

WorkerProcess::Outcome WorkerProcess::Send(std::string_view payload, Clock::time_point deadline) {
  std::string frame = EncodeFrame(payload);
  size_t sent = 0;
  while (sent < frame.size()) {
    ssize_t n = ::send(socket_.Get(), frame.data() + sent, frame.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return Outcome::kClosed;
    struct pollfd p {
      socket_.Get(), POLLOUT, 0
    };
    int timeout = PollTimeout(deadline);
    if (timeout == 0) return Outcome::kDeadline;
    int ready = ::poll(&p, 1, timeout);
    if (ready < 0 && errno != EINTR) return Outcome::kClosed;
    if (ready > 0 && (p.revents & (POLLERR | POLLHUP))) return Outcome::kClosed;
  }
  return Outcome::kDone;
}

WorkerProcess::Outcome WorkerProcess::Receive(std::string* payload, size_t max_bytes,
                                              Clock::time_point deadline) {
  std::string header;
  payload->clear();
  // Reads until `*into` holds `want` bytes.
  auto fill = [&](std::string* into, size_t want) -> Outcome {
    while (into->size() < want) {
      size_t before = into->size();
      into->resize(want);
      ssize_t n = ::recv(socket_.Get(), into->data() + before, want - before, 0);
      into->resize(before + (n > 0 ? static_cast<size_t>(n) : 0));
      if (n > 0) continue;
      if (n == 0) return Outcome::kClosed;
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return Outcome::kClosed;
      struct pollfd p {
        socket_.Get(), POLLIN, 0
      };
      int timeout = PollTimeout(deadline);
      if (timeout == 0) return Outcome::kDeadline;
      if (::poll(&p, 1, timeout) < 0 && errno != EINTR) return Outcome::kClosed;
    }
    return Outcome::kDone;
  };
  if (Outcome got = fill(&header, kHeaderBytes); got != Outcome::kDone) return got;
  size_t length = DecodeHeader(header);
  if (length > max_bytes) return Outcome::kTooLarge;
  return fill(payload, length);
}

WorkerExit WorkerProcess::Finish() {
  if (finished_) return exit_;
  finished_ = true;
  socket_.Reset();
  if (pid_ <= 0) return exit_;
  // The child is ours and not yet reaped, so neither its pid nor its group id can have been
  // reused: these signals reach only it and whatever it left in its group.
  int status = 0;
  struct rusage usage {};
  pid_t reaped = ::wait4(pid_, &status, WNOHANG, &usage);
  if (reaped == 0) {
    exit_.killed_by_us = true;
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    do {
      reaped = ::wait4(pid_, &status, 0, &usage);
    } while (reaped < 0 && errno == EINTR);
  } else if (reaped == pid_) {
    ::kill(-pid_, SIGKILL);  // anything it left in its group
  }
  if (reaped == pid_) {
    exit_.exited = WIFEXITED(status);
    exit_.code = exit_.exited ? WEXITSTATUS(status) : 0;
    exit_.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    exit_.cpu_seconds = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                        static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  }
  pid_ = -1;
  return exit_;
}

Status ConfineThisProcess(pid_t parent) {
  ::signal(SIGPIPE, SIG_IGN);
  // Dies with the thread that started it; if that already happened, the parent is gone.
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) return Error::Internal(Errno("PDEATHSIG"));
  if (parent > 0 && getppid() != parent) {
    return Error::Internal("console worker: the process that started it has gone");
  }
  struct rlimit zero {
    0, 0
  };
  if (setrlimit(RLIMIT_CORE, &zero) != 0) return Error::Internal(Errno("RLIMIT_CORE"));
  if (setrlimit(RLIMIT_FSIZE, &zero) != 0) return Error::Internal(Errno("RLIMIT_FSIZE"));
  if (syscall(SYS_close_range, STDERR_FILENO + 1, ~0U, 0) != 0) {
    return Error::Internal(Errno("close_range"));
  }
  clearenv();
  MIGSBYU_TRY(DropCapabilities());
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return Error::Internal(Errno("NO_NEW_PRIVS"));
  if (kHaveSeccompFilter) MIGSBYU_TRY(InstallSeccompFilter());
  return OkStatus();
}

std::string EncodeFrame(std::string_view payload) {
  std::string frame = EncodeHeader(payload.size());
  frame.append(payload);
  return frame;
}

Result<std::string> ReadFrame(int fd, size_t max_bytes) {
  auto read_exactly = [fd](std::string* into, size_t want) -> Status {
    size_t have = 0;
    into->resize(want);
    while (have < want) {
      ssize_t n = ::read(fd, into->data() + have, want - have);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return Error::InvalidArgument("frame: the stream ended inside a frame");
      have += static_cast<size_t>(n);
    }
    return OkStatus();
  };
  std::string header;
  MIGSBYU_TRY(read_exactly(&header, kHeaderBytes));
  size_t length = DecodeHeader(header);
  if (length > max_bytes) {
    return Error(ErrorCode::kTooLarge, "frame: " + std::to_string(length) +
                                           " bytes, over the maximum of " +
                                           std::to_string(max_bytes));
  }
  std::string payload;
  MIGSBYU_TRY(read_exactly(&payload, length));
  return payload;
}

Status WriteFrame(int fd, std::string_view payload) {
  if (payload.size() > 0xffffffffu) return Error(ErrorCode::kTooLarge, "frame: over 4 GiB");
  std::string frame = EncodeFrame(payload);
  size_t sent = 0;
  while (sent < frame.size()) {
    ssize_t n = ::write(fd, frame.data() + sent, frame.size() - sent);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error::Internal(Errno("frame: write"));
    sent += static_cast<size_t>(n);
  }
  return OkStatus();
}

}  // namespace migsbyu::analytics
