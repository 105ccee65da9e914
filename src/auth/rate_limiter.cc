#include "auth/rate_limiter.h"

#include <algorithm>

namespace migsbyu::auth {
namespace {

constexpr int64_t kMicros = 1000000;

int64_t Us(std::chrono::seconds s) { return s.count() * kMicros; }

// User names are compared as the sign-in compares them: user names are lower case, so "Admin"
// and "admin" are one name here too.
std::string UserKey(std::string_view user) {
  std::string key(user.substr(0, 64));
  for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return key;
}

}  // namespace

int64_t LoginRateLimiter::Wait(Times& times, int limit, int64_t window_us, int64_t now_us) {
  while (!times.empty() && times.front() <= now_us - window_us) times.pop_front();
  if (static_cast<int>(times.size()) < limit) return 0;
  // The attempt that must age out before another is admitted.
  int64_t frees_at = times[times.size() - static_cast<size_t>(limit)] + window_us;
  return std::max<int64_t>(1, (frees_at - now_us + kMicros - 1) / kMicros);
}

int64_t LoginRateLimiter::WaitLocked(std::string_view user, std::string_view peer, int64_t now_us) {
  int64_t wait = 0;
  if (auto it = addresses_.find(std::string(peer)); it != addresses_.end()) {
    wait = std::max(wait,
                    Wait(it->second, limits_.address_attempts, Us(limits_.address_window), now_us));
  }
  if (auto it = users_.find(UserKey(user)); it != users_.end()) {
    wait = std::max(wait, Wait(it->second, limits_.user_failures, Us(limits_.user_window), now_us));
  }
  return wait;
}

void LoginRateLimiter::Prune(int64_t now_us) {
  if (now_us - last_prune_us_ < kMicros) return;
  last_prune_us_ = now_us;
  auto prune = [&](std::unordered_map<std::string, Times>& map, int64_t window_us) {
    for (auto it = map.begin(); it != map.end();) {
      while (!it->second.empty() && it->second.front() <= now_us - window_us)
        it->second.pop_front();
      it = it->second.empty() ? map.erase(it) : std::next(it);
    }
  };
  prune(users_, Us(limits_.user_window));
  prune(addresses_, Us(limits_.address_window));
}

Status LoginRateLimiter::Admit(std::string_view user, std::string_view peer, int64_t now_us) {
  std::lock_guard lock(mu_);
  if (users_.size() + addresses_.size() >= limits_.max_keys) Prune(now_us);
  const bool known = addresses_.count(std::string(peer)) > 0 && users_.count(UserKey(user)) > 0;
  if (!known && users_.size() + addresses_.size() + 2 > limits_.max_keys) {
    return Error::TooManyRequests("Too many sign-in attempts; try again in 60 seconds");
  }
  if (int64_t wait = WaitLocked(user, peer, now_us); wait > 0) {
    return Error::TooManyRequests("Too many sign-in attempts; try again in " +
                                  std::to_string(wait) + " seconds");
  }
  addresses_[std::string(peer)].push_back(now_us);
  return OkStatus();
}

void LoginRateLimiter::RecordFailure(std::string_view user, int64_t now_us) {
  std::lock_guard lock(mu_);
  users_[UserKey(user)].push_back(now_us);
}

void LoginRateLimiter::RecordSuccess(std::string_view user) {
  std::lock_guard lock(mu_);
  users_.erase(UserKey(user));
}

int64_t LoginRateLimiter::RetryAfterSeconds(std::string_view user, std::string_view peer,
                                            int64_t now_us) {
  std::lock_guard lock(mu_);
  return WaitLocked(user, peer, now_us);
}

}  // namespace migsbyu::auth
