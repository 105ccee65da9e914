#include "auth/password.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <set>
#include <vector>

namespace migsbyu::auth {
namespace {

// The real algorithm at a small cost: these tests are about behaviour, not strength.
PasswordCost Cheap() {
  PasswordCost cost;
  cost.passes = 1;
  cost.memory_bytes = size_t{1} << 20;
  return cost;
}

TEST(PasswordHasherTest, HashIsArgon2idAndVerifiesOnlyItsPassword) {
  PasswordHasher hasher(Cheap());
  auto hash = hasher.Hash("correct horse battery");
  ASSERT_TRUE(hash.ok());
  EXPECT_TRUE(hash->starts_with("$argon2id$v=19$m=1024,t=1,p=1$")) << *hash;
  EXPECT_EQ(hash->find("correct horse"), std::string::npos);
  EXPECT_TRUE(*hasher.Verify("correct horse battery", *hash));
  EXPECT_FALSE(*hasher.Verify("correct horse batterY", *hash));
  EXPECT_FALSE(*hasher.Verify("", *hash));
}

TEST(PasswordHasherTest, SamePasswordGetsADifferentSaltEachTime) {
  PasswordHasher hasher(Cheap());
  EXPECT_NE(*hasher.Hash("the same password"), *hasher.Hash("the same password"));
}

TEST(PasswordHasherTest, HashesMadeAtAnotherCostStillVerify) {
  PasswordHasher cheap(Cheap());
  PasswordCost other = Cheap();
  other.passes = 2;
  PasswordHasher dearer(other);
  auto hash = cheap.Hash("a password of some length");
  ASSERT_TRUE(hash.ok());
  EXPECT_TRUE(*dearer.Verify("a password of some length", *hash));
}

TEST(PasswordHasherTest, MalformedStoredHashIsAMismatch) {
  PasswordHasher hasher(Cheap());
  for (std::string bad : {"", "plain text", "$argon2i$v=19$m=1024,t=1,p=1$xx$yy", "$argon2id$"}) {
    auto r = hasher.Verify("whatever password", bad);
    ASSERT_TRUE(r.ok()) << bad;
    EXPECT_FALSE(*r) << bad;
  }
}

TEST(PasswordHasherTest, NobodyNeverMatches) {
  PasswordHasher hasher(Cheap());
  auto r = hasher.VerifyNobody("any password at all");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
}

TEST(PasswordHasherTest, RefusesBeyondTheQueueInsteadOfWaiting) {
  PasswordCost cost = Cheap();
  cost.memory_bytes = size_t{32} << 20;  // slow enough that the burst overlaps
  cost.passes = 3;
  cost.max_running = 1;
  cost.max_waiting = 1;
  PasswordHasher hasher(cost);
  std::atomic<int> refused{0};
  std::atomic<int> hashed{0};
  std::vector<std::future<void>> runs;
  for (int i = 0; i < 8; ++i) {
    runs.push_back(std::async(std::launch::async, [&] {
      auto r = hasher.Hash("a burst of sign-ins");
      if (r.ok()) {
        ++hashed;
      } else {
        EXPECT_EQ(r.error().code(), ErrorCode::kTooManyRequests);
        ++refused;
      }
    }));
  }
  for (auto& r : runs) r.get();
  EXPECT_GE(hashed.load(), 1);
  EXPECT_GE(refused.load(), 1);  // 8 at once cannot all fit in one running and one waiting
  EXPECT_EQ(hashed + refused, 8);
}

TEST(PasswordRulesTest, LengthAndVariety) {
  EXPECT_TRUE(CheckPasswordRules("ten chars!").ok());
  auto short_one = CheckPasswordRules("nine char");
  ASSERT_FALSE(short_one.ok());
  EXPECT_EQ(short_one.error().code(), ErrorCode::kValidation);
  EXPECT_EQ(short_one.error().fields().at(0).field, "password");
  EXPECT_FALSE(CheckPasswordRules(std::string(1025, 'x') + "y").ok());
  EXPECT_FALSE(CheckPasswordRules("aaaaaaaaaaaa").ok());
  EXPECT_TRUE(CheckPasswordRules(std::string(1023, 'x') + "y").ok());
}

TEST(GeneratePasswordTest, LongRandomAndWithoutLookAlikes) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    std::string p = GeneratePassword();
    EXPECT_EQ(p.size(), 20u);
    EXPECT_EQ(p.find_first_of("0O1lI"), std::string::npos) << p;
    EXPECT_TRUE(CheckPasswordRules(p).ok()) << p;
    seen.insert(p);
  }
  EXPECT_EQ(seen.size(), 200u);
}

}  // namespace
}  // namespace migsbyu::auth
