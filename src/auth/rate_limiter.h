// LoginRateLimiter: how often one may try to sign in, per user name and per client address.
//
//   - per address: at most `address_attempts` sign-ins (right or wrong) in any `address_window`;
//   - per user name: at most `user_failures` failed sign-ins in any `user_window`. The count is
//     kept for names that do not exist too, so a limited name says nothing about whether it is
//     a user; a successful sign-in clears its name's count.
// When either is reached, Admit answers kTooManyRequests with the seconds until the next attempt
// may succeed (HTTP 429 with Retry-After). A name-limited user is locked out by anyone guessing
// at it, for at most `user_window`: the price of bounding guesses at one account at all.
//
// The counts live in this process only (nothing is stored): a restart forgets them. The peer is
// the address the server saw (Request::peer); an empty one (a server that does not fill it)
// shares one count. At most `max_keys` names and addresses are tracked; beyond that, attempts
// from new ones are refused until old ones age out, so that a flood of names cannot grow the
// memory without bound.
//
// Threading: thread-safe (one mutex; sign-ins are rare next to the requests the gate admits).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/result.h"

namespace migsbyu::auth {

struct RateLimits {
  int user_failures = 10;
  std::chrono::seconds user_window{15 * 60};
  int address_attempts = 30;
  std::chrono::seconds address_window{60};
  size_t max_keys = 100000;
};

class LoginRateLimiter {
 public:
  explicit LoginRateLimiter(RateLimits limits = {}) : limits_(limits) {}

  // Before a sign-in is checked: records the attempt against `peer` and returns OkStatus, or
  // kTooManyRequests (nothing recorded) naming the wait.
  Status Admit(std::string_view user, std::string_view peer, int64_t now_us);
  // After the check.
  void RecordFailure(std::string_view user, int64_t now_us);
  void RecordSuccess(std::string_view user);

  // Whole seconds until an attempt for `user` from `peer` would be admitted (0: now).
  int64_t RetryAfterSeconds(std::string_view user, std::string_view peer, int64_t now_us);

 private:
  using Times = std::deque<int64_t>;
  // Drops times older than `window`; the wait until the count falls below `limit` (0 if it is).
  static int64_t Wait(Times& times, int limit, int64_t window_us, int64_t now_us);
  int64_t WaitLocked(std::string_view user, std::string_view peer, int64_t now_us);
  void Prune(int64_t now_us);

  const RateLimits limits_;
  std::mutex mu_;
  std::unordered_map<std::string, Times> users_;      // GUARDED_BY(mu_): failure times
  std::unordered_map<std::string, Times> addresses_;  // GUARDED_BY(mu_): attempt times
  int64_t last_prune_us_ = 0;                         // GUARDED_BY(mu_)
};

}  // namespace migsbyu::auth
