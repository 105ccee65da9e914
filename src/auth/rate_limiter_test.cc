#include "auth/rate_limiter.h"

#include <gtest/gtest.h>

namespace migsbyu::auth {
namespace {

constexpr int64_t kSecond = 1000000;

RateLimits Small() {
  RateLimits limits;
  limits.user_failures = 3;
  limits.user_window = std::chrono::seconds(60);
  limits.address_attempts = 5;
  limits.address_window = std::chrono::seconds(10);
  return limits;
}

TEST(LoginRateLimiterTest, FailuresForOneUserAreLimitedUntilTheyAgeOut) {
  LoginRateLimiter limiter(Small());
  int64_t t = 1000 * kSecond;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(limiter.Admit("ada", "10.0.0." + std::to_string(i), t).ok());
    limiter.RecordFailure("ada", t);
    t += kSecond;
  }
  auto limited = limiter.Admit("ada", "10.0.0.9", t);
  ASSERT_FALSE(limited.ok());
  EXPECT_EQ(limited.error().code(), ErrorCode::kTooManyRequests);
  // The first failure (at 1000 s) ages out at 1060 s.
  EXPECT_EQ(limiter.RetryAfterSeconds("ada", "10.0.0.9", t), 57);
  EXPECT_NE(limited.error().message().find("57 seconds"), std::string::npos)
      << limited.error().message();
  // Names differing only in case are one name.
  EXPECT_FALSE(limiter.Admit("ADA", "10.0.0.9", t).ok());
  // Another user from the same addresses is not affected.
  EXPECT_TRUE(limiter.Admit("grace", "10.0.0.9", t).ok());
  EXPECT_TRUE(limiter.Admit("ada", "10.0.0.9", 1060 * kSecond).ok());
}

TEST(LoginRateLimiterTest, UnknownNamesAreCountedLikeKnownOnes) {
  LoginRateLimiter limiter(Small());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(limiter.Admit("nobody-here", "10.0.0.1", i * kSecond).ok());
    limiter.RecordFailure("nobody-here", i * kSecond);
  }
  EXPECT_FALSE(limiter.Admit("nobody-here", "10.0.0.2", 3 * kSecond).ok());
}

TEST(LoginRateLimiterTest, SuccessClearsTheUsersFailures) {
  LoginRateLimiter limiter(Small());
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(limiter.Admit("ada", "10.0.0.1", i * kSecond).ok());
    limiter.RecordFailure("ada", i * kSecond);
  }
  ASSERT_TRUE(limiter.Admit("ada", "10.0.0.1", 2 * kSecond).ok());
  limiter.RecordSuccess("ada");
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(limiter.Admit("ada", "10.0.0.2", (3 + i) * kSecond).ok());
    limiter.RecordFailure("ada", (3 + i) * kSecond);
  }
  EXPECT_TRUE(limiter.Admit("ada", "10.0.0.2", 5 * kSecond).ok());
}

TEST(LoginRateLimiterTest, AttemptsFromOneAddressAreLimitedWhateverTheName) {
  LoginRateLimiter limiter(Small());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(limiter.Admit("user" + std::to_string(i), "192.0.2.7", i * kSecond).ok());
  }
  auto limited = limiter.Admit("user9", "192.0.2.7", 5 * kSecond);
  ASSERT_FALSE(limited.ok());
  EXPECT_EQ(limited.error().code(), ErrorCode::kTooManyRequests);
  EXPECT_EQ(limiter.RetryAfterSeconds("user9", "192.0.2.7", 5 * kSecond), 5);
  EXPECT_TRUE(limiter.Admit("user9", "192.0.2.8", 5 * kSecond).ok());
  EXPECT_TRUE(limiter.Admit("user9", "192.0.2.7", 10 * kSecond).ok());
}

TEST(LoginRateLimiterTest, AnEmptyPeerIsOneSharedAddress) {
  LoginRateLimiter limiter(Small());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(limiter.Admit("u" + std::to_string(i), "", 0).ok());
  EXPECT_FALSE(limiter.Admit("u9", "", 0).ok());
}

TEST(LoginRateLimiterTest, TheNumberOfTrackedKeysIsBounded) {
  RateLimits limits = Small();
  limits.max_keys = 10;
  LoginRateLimiter limiter(limits);
  int admitted = 0;
  for (int i = 0; i < 100; ++i) {
    std::string n = std::to_string(i);
    if (limiter.Admit("user" + n, "10.1.0." + n, 0).ok()) {
      ++admitted;
      limiter.RecordFailure("user" + n, 0);
    }
  }
  EXPECT_LE(admitted, 5);
  EXPECT_GE(admitted, 4);
  // Once they age out, new keys are admitted again.
  EXPECT_TRUE(limiter.Admit("late", "10.2.0.1", 3600 * kSecond).ok());
}

}  // namespace
}  // namespace migsbyu::auth
