#include "auth/secret.h"

#include <gtest/gtest.h>

#include <set>

namespace migsbyu::auth {
namespace {

TEST(SecretTest, EachKindHasItsPrefixAndLength) {
  std::string session = NewSecret(SecretKind::kSession);
  std::string token = NewSecret(SecretKind::kToken);
  EXPECT_TRUE(session.starts_with("mgs_")) << session;
  EXPECT_TRUE(token.starts_with("mgt_")) << token;
  EXPECT_EQ(session.size(), 47u);
  EXPECT_EQ(token.size(), 47u);
  EXPECT_TRUE(IsSecretOf(session, SecretKind::kSession));
  EXPECT_TRUE(IsSecretOf(token, SecretKind::kToken));
  EXPECT_FALSE(IsSecretOf(session, SecretKind::kToken));
  EXPECT_FALSE(IsSecretOf(token, SecretKind::kSession));
}

TEST(SecretTest, SecretsDoNotRepeat) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(NewSecret(SecretKind::kToken));
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(SecretTest, MalformedTextIsNotASecret) {
  std::string good = NewSecret(SecretKind::kToken);
  for (std::string bad :
       {std::string(), std::string("mgt_"), good + "A", good.substr(0, 46),
        "mgt_" + std::string(43, '+'), "MGT_" + good.substr(4),
        "mgt_" + std::string(42, 'a') + "\n", "mgt_" + std::string(42, 'a') + " "}) {
    EXPECT_FALSE(IsSecretOf(bad, SecretKind::kToken)) << bad;
  }
}

TEST(SecretTest, DigestIsBlake2b256InHex) {
  // BLAKE2b-256 of the empty string and of "abc" (RFC 7693's parameters, 32-byte output).
  EXPECT_EQ(SecretDigest(""), "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
  EXPECT_EQ(SecretDigest("abc"),
            "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
  std::string token = NewSecret(SecretKind::kToken);
  EXPECT_EQ(SecretDigest(token), SecretDigest(token));
  EXPECT_EQ(SecretDigest(token).find(token.substr(4, 8)), std::string::npos);
}

TEST(SecretTest, RawAndHexDigestsAgree) {
  std::string token = NewSecret(SecretKind::kToken);
  DigestBytes raw = SecretDigestBytes(token);
  EXPECT_EQ(DigestFromHex(SecretDigest(token)), raw);
  EXPECT_TRUE(ConstantTimeEquals(raw, DigestFromHex(SecretDigest(token))));
  EXPECT_FALSE(ConstantTimeEquals(raw, SecretDigestBytes(token + "x")));
  EXPECT_EQ(DigestFromHex("not hex"), DigestBytes{});
  EXPECT_EQ(DigestFromHex(std::string(64, 'g')), DigestBytes{});
}

TEST(SecretTest, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

}  // namespace
}  // namespace migsbyu::auth
