// Passwords for sign-in: Argon2id hashing (libsodium's crypto_pwhash_str), the rules a new
// password must meet, and generated passwords.
//
// A stored hash is libsodium's encoded string ("$argon2id$v=19$m=65536,t=3,p=1$<salt>$<hash>"),
// which carries its own salt and cost, so hashes made at an older cost still verify when the
// default changes. Passwords are never logged, never stored in clear and never returned.
//
// Hashing and verifying are slow on purpose (tens of milliseconds and `memory_bytes` each): they
// run on worker threads, never on an event loop. PasswordHasher lets at most `max_running` run at
// once and `max_waiting` wait, so that a burst of sign-ins can take neither every core nor the
// memory; beyond that it answers kTooManyRequests at once.
//
// Threading: PasswordHasher is thread-safe; the free functions are pure.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "common/result.h"

namespace migsbyu::auth {

struct PasswordCost {
  // libsodium's "interactive" memory (64 MiB) with one more pass than its minimum: about 0.1 s
  // per hash on one core of the project's machine, above OWASP's floor for Argon2id.
  uint64_t passes = 3;
  size_t memory_bytes = size_t{64} << 20;
  int max_running = 2;   // hashes computed at once (one per core of a small machine)
  int max_waiting = 32;  // hashes queued behind them before refusing
};

class PasswordHasher {
 public:
  explicit PasswordHasher(PasswordCost cost = {});
  PasswordHasher(const PasswordHasher&) = delete;
  PasswordHasher& operator=(const PasswordHasher&) = delete;

  // The encoded Argon2id hash of `password`. kTooManyRequests when too many hashes are queued;
  // kInternal if libsodium cannot allocate its memory.
  Result<std::string> Hash(std::string_view password);

  // Whether `password` matches `encoded`. A malformed `encoded` is a mismatch. kTooManyRequests as
  // Hash.
  Result<bool> Verify(std::string_view password, const std::string& encoded);

  // Spends what Verify spends and answers false: for a user who does not exist (or is disabled),
  // so that a wrong user name takes as long as a wrong password.
  Result<bool> VerifyNobody(std::string_view password);

 private:
  class Slot;  // a place among the hashes running, held for one computation
  Result<bool> VerifyNow(std::string_view password, const std::string& encoded);

  const PasswordCost cost_;
  std::string nobody_;  // the hash of a random password, at this cost

  std::mutex mu_;
  std::condition_variable cv_;
  int running_ = 0;  // GUARDED_BY(mu_)
  int waiting_ = 0;  // GUARDED_BY(mu_)
};

// The rules for a new password: 10 to 1,024 bytes, not all one character. kValidation on
// `field` ("password") saying which rule failed.
Status CheckPasswordRules(std::string_view password, const std::string& field = "password");

// A new random password of 20 characters from an alphabet without look-alikes (about 114 bits).
std::string GeneratePassword();

}  // namespace migsbyu::auth
