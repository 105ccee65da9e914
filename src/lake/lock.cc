#include "lake/lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>
#include <utility>

#include "common/log.h"

namespace migsbyu::lake {
namespace fs = std::filesystem;

std::string LakeLockPath(const std::string& lake_dir, const std::string& name) {
  return (fs::path(lake_dir) / "_locks" / (name + ".lock")).string();
}

Result<std::optional<FileLock>> FileLock::TryAcquire(const std::string& path, Mode mode) {
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  if (ec) return Error::Internal("cannot create the directory of " + path + ": " + ec.message());
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Error::Internal("cannot open lock " + path + ": " + strerror(errno));
  int rc;
  do {
    rc = ::flock(fd, (mode == Mode::kShared ? LOCK_SH : LOCK_EX) | LOCK_NB);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) return std::optional<FileLock>();
    return Error::Internal("cannot lock " + path + ": " + strerror(err));
  }
  return std::optional<FileLock>(FileLock(fd));
}

Result<FileLock> FileLock::Acquire(const std::string& path, Mode mode, const std::string& what,
                                   std::stop_token stop, std::chrono::milliseconds poll) {
  // Polled rather than a blocking flock(2), so that a stop request is honoured while waiting.
  auto started = std::chrono::steady_clock::now();
  auto next_log = started + std::chrono::seconds(5);
  for (;;) {
    MIGSBYU_ASSIGN(auto lock, TryAcquire(path, mode));
    if (lock) return std::move(*lock);
    if (stop.stop_requested()) return Error::Cancelled("stopped while waiting for " + what);
    if (std::chrono::steady_clock::now() >= next_log) {
      spdlog::info("lake: still waiting for {} ({} s)", what,
                   std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::steady_clock::now() - started)
                       .count());
      next_log += std::chrono::seconds(5);
    }
    std::this_thread::sleep_for(poll);
  }
}

FileLock::FileLock(FileLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    Release();
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

FileLock::~FileLock() { Release(); }

void FileLock::Release() {
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor of the open file drops the lock
  fd_ = -1;
}

}  // namespace migsbyu::lake
