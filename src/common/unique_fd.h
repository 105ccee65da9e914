// UniqueFd: the one owner of a file descriptor.
//
// Move-only; closes its descriptor in the destructor (or on Reset), so that no path through the
// code, an early return or an exception, can leak one. Get() lends the descriptor to a system call
// without giving up ownership; Release() gives it up to a caller that closes it itself.
//
// Thread-safety: a plain value, like the int it holds; one thread at a time.
#pragma once

#include <unistd.h>

#include <utility>

namespace migsbyu {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { Reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) Reset(other.Release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int Get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  explicit operator bool() const { return valid(); }

  // Closes the descriptor held (if any) and takes `fd`.
  void Reset(int fd = -1) {
    if (fd_ >= 0 && fd_ != fd) ::close(fd_);
    fd_ = fd;
  }
  // The descriptor, no longer owned: the caller closes it.
  int Release() { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
};

}  // namespace migsbyu
