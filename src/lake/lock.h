// FileLock: an advisory lock on a file of the lake directory (flock(2)), the way several writer
// processes of one lake agree on who writes what. The kernel releases a lock when its holder
// exits, however it exits, so a process killed with SIGKILL never leaves a table locked.
//
// The locks of a lake live in <lake>/_locks/ (see docs/LAKE.md "Several writers"):
//   lake.lock         shared by every writer of a shared lake; exclusive for a lone writer
//                     (`migsbyu serve`, `cdc --sink lake:`, `lake rebuild`, `lake compact`)
//   commit.lock       exclusive while a writer reads the latest manifest and writes the next
//   table-<t>.lock    exclusive while a process owns captured table <t>
//   deriver.lock      exclusive while a process derives the enrollment fact
//
// flock locks belong to an open file: two FileLocks on one path conflict even in one process.
//
// Threading: a FileLock is a move-only value; the functions are thread-safe.
#pragma once

#include <chrono>
#include <optional>
#include <stop_token>
#include <string>

#include "common/result.h"

namespace migsbyu::lake {

class FileLock {
 public:
  enum class Mode { kShared, kExclusive };

  // One attempt: the lock, or nullopt when another holder's lock conflicts with `mode`.
  // Creates the file (and its directory) if needed; kInternal naming the path on failure.
  static Result<std::optional<FileLock>> TryAcquire(const std::string& path, Mode mode);
  // Waits until the lock is free (checking every `poll`), or fails with kCancelled when `stop`
  // is requested. `what` names the lock in the log line written every 5 s of waiting.
  static Result<FileLock> Acquire(const std::string& path, Mode mode, const std::string& what,
                                  std::stop_token stop = {},
                                  std::chrono::milliseconds poll = std::chrono::milliseconds(20));

  FileLock() = default;
  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();  // releases

  bool held() const { return fd_ >= 0; }
  void Release();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// <lake_dir>/_locks/<name>.lock
std::string LakeLockPath(const std::string& lake_dir, const std::string& name);

}  // namespace migsbyu::lake
