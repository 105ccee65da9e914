#include "auth/password.h"

#include <sodium.h>

#include "auth/secret.h"

namespace migsbyu::auth {

class PasswordHasher::Slot {
 public:
  static Result<Slot> Take(PasswordHasher& h) {
    std::unique_lock lock(h.mu_);
    if (h.running_ >= h.cost_.max_running && h.waiting_ >= h.cost_.max_waiting) {
      return Error::TooManyRequests("too many sign-ins in progress; try again in a moment");
    }
    ++h.waiting_;
    h.cv_.wait(lock, [&] { return h.running_ < h.cost_.max_running; });
    --h.waiting_;
    ++h.running_;
    return Slot(h);
  }
  Slot(Slot&& o) noexcept : h_(o.h_) { o.h_ = nullptr; }
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;
  ~Slot() {
    if (h_ == nullptr) return;
    {
      std::lock_guard lock(h_->mu_);
      --h_->running_;
    }
    h_->cv_.notify_one();
  }

 private:
  explicit Slot(PasswordHasher& h) : h_(&h) {}
  PasswordHasher* h_;
};

PasswordHasher::PasswordHasher(PasswordCost cost) : cost_(cost) {
  InitSodium();
  char out[crypto_pwhash_STRBYTES];
  const std::string random = GeneratePassword();
  if (crypto_pwhash_str_alg(out, random.data(), random.size(), cost_.passes, cost_.memory_bytes,
                            crypto_pwhash_ALG_ARGON2ID13) == 0) {
    nobody_ = out;
  }
}

Result<std::string> PasswordHasher::Hash(std::string_view password) {
  MIGSBYU_ASSIGN(Slot slot, Slot::Take(*this));
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), cost_.passes, cost_.memory_bytes,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Error::Internal("password hashing failed (out of memory?)");
  }
  return std::string(out);
}

Result<bool> PasswordHasher::VerifyNow(std::string_view password, const std::string& encoded) {
  MIGSBYU_ASSIGN(Slot slot, Slot::Take(*this));
  if (!encoded.starts_with("$argon2id$")) return false;
  return crypto_pwhash_str_verify(encoded.c_str(), password.data(), password.size()) == 0;
}

Result<bool> PasswordHasher::Verify(std::string_view password, const std::string& encoded) {
  return VerifyNow(password, encoded);
}

Result<bool> PasswordHasher::VerifyNobody(std::string_view password) {
  MIGSBYU_TRY(VerifyNow(password, nobody_));
  return false;
}

Status CheckPasswordRules(std::string_view password, const std::string& field) {
  if (password.size() < 10) return Error::Validation({{field, "at least 10 characters"}});
  if (password.size() > 1024) return Error::Validation({{field, "at most 1024 bytes"}});
  if (password.find_first_not_of(password.front()) == std::string_view::npos) {
    return Error::Validation({{field, "not one character repeated"}});
  }
  return OkStatus();
}

std::string GeneratePassword() {
  InitSodium();
  // No 0/O, 1/l/I: a password read off a terminal is typed again by hand.
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
  std::string out;
  for (int i = 0; i < 20; ++i) {
    out.push_back(kAlphabet[randombytes_uniform(static_cast<uint32_t>(kAlphabet.size()))]);
  }
  return out;
}

}  // namespace migsbyu::auth
