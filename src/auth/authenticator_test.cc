#include "auth/authenticator.h"

#include <gtest/gtest.h>

#include <thread>

#include "auth/secret.h"
#include "auth/testing.h"

namespace migsbyu::auth {
namespace {

using namespace std::chrono_literals;
using portal::Role;

// Polls `done` until it holds or 30 s pass (a bound for a slow machine, not a timing claim).
bool Eventually(const std::function<bool()>& done) {
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

class AuthenticatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.session_idle = 30min;
    options_.session_lifetime = 12h;
    auth_ = db_.Start(clock_, options_);
    ASSERT_NE(auth_, nullptr);
    ASSERT_TRUE(auth_->AddUser({"root", Role::kAdmin, std::nullopt, "root password 1"}).ok());
    ASSERT_TRUE(auth_->AddUser({"ada", Role::kRegistrar, std::nullopt, "ada password 1"}).ok());
  }

  std::string SignIn(const std::string& user, const std::string& password) {
    auto s = auth_->SignIn(user, password, "127.0.0.1");
    EXPECT_TRUE(s.ok()) << s.error().ToString();
    return s.ok() ? s->secret : "";
  }

  testing::AuthDatabase db_;
  testing::ManualClock clock_;
  AuthOptions options_;
  std::unique_ptr<Authenticator> auth_;
};

TEST_F(AuthenticatorTest, ASessionActsAsItsUserWithTheirRoleAndPii) {
  std::string secret = SignIn("ada", "ada password 1");
  auto who = auth_->WithSession(secret);
  ASSERT_TRUE(who.has_value());
  EXPECT_EQ(who->principal.user, "ada");
  EXPECT_EQ(who->principal.role, Role::kRegistrar);
  EXPECT_TRUE(who->principal.pii);
  EXPECT_EQ(who->via, Admitted::Via::kSession);
  EXPECT_FALSE(auth_->WithSession(NewSecret(SecretKind::kSession)).has_value());
  EXPECT_FALSE(auth_->WithToken(secret).has_value());  // a session secret is no token
  EXPECT_FALSE(auth_->WithSession("").has_value());
}

TEST_F(AuthenticatorTest, AnUnknownUserADisabledUserAndAWrongPasswordFailAlike) {
  ASSERT_TRUE(auth_->AddUser({"gone", Role::kViewer, std::nullopt, "gone password 1"}).ok());
  UserChange disable;
  disable.disabled = true;
  ASSERT_TRUE(auth_->ChangeUser("gone", disable).ok());
  std::vector<std::pair<std::string, std::string>> attempts = {{"ada", "wrong password"},
                                                               {"nobody", "ada password 1"},
                                                               {"gone", "gone password 1"},
                                                               {"ADA", "ada password 1"},
                                                               {"a b;--", "x"},
                                                               {"", "ada password 1"}};
  for (const auto& [user, password] : attempts) {
    auto r = auth_->SignIn(user, password, "127.0.0.1");
    ASSERT_FALSE(r.ok()) << user;
    EXPECT_EQ(r.error().code(), ErrorCode::kUnauthenticated) << user;
    EXPECT_EQ(r.error().message(), "Invalid user name or password") << user;
  }
}

TEST_F(AuthenticatorTest, ASessionEndsAfterItsIdleTime) {
  std::string secret = SignIn("ada", "ada password 1");
  clock_.Advance(29min);
  ASSERT_TRUE(auth_->WithSession(secret).has_value());  // and the idle time starts again
  clock_.Advance(29min);
  ASSERT_TRUE(auth_->WithSession(secret).has_value());
  clock_.Advance(30min);
  EXPECT_FALSE(auth_->WithSession(secret).has_value());
  EXPECT_FALSE(auth_->WithSession(secret).has_value());
}

TEST_F(AuthenticatorTest, AnActiveSessionEndsAtItsLifetime) {
  std::string secret = SignIn("ada", "ada password 1");
  for (int i = 0; i < 47; ++i) {  // a request every 15 minutes for 11 h 45 min
    clock_.Advance(15min);
    ASSERT_TRUE(auth_->WithSession(secret).has_value()) << i;
  }
  clock_.Advance(15min);
  EXPECT_FALSE(auth_->WithSession(secret).has_value());
}

TEST_F(AuthenticatorTest, SignOutEndsTheSession) {
  std::string secret = SignIn("ada", "ada password 1");
  ASSERT_TRUE(auth_->SignOut(secret).ok());
  EXPECT_FALSE(auth_->WithSession(secret).has_value());
  EXPECT_TRUE(auth_->SignOut(secret).ok());
  EXPECT_TRUE(auth_->SignOut("not a secret").ok());
}

TEST_F(AuthenticatorTest, ChangesThroughThisProcessApplyBeforeTheCallReturns) {
  // No poll can help here: this test's changes must apply by themselves.
  auth_.reset();
  options_.poll_interval = 1h;
  auth_ = db_.Start(clock_, options_);
  auto token = auth_->AddToken({"ci", Role::kViewer, std::nullopt, std::nullopt, "root"});
  ASSERT_TRUE(token.ok());
  ASSERT_TRUE(auth_->WithToken(token->secret).has_value());
  ASSERT_TRUE(auth_->RevokeToken(token->token.id).ok());
  EXPECT_FALSE(auth_->WithToken(token->secret).has_value());

  std::string secret = SignIn("ada", "ada password 1");
  UserChange analyst;
  analyst.role = Role::kAnalyst;
  analyst.pii = false;
  ASSERT_TRUE(auth_->ChangeUser("ada", analyst).ok());
  auto who = auth_->WithSession(secret);
  ASSERT_TRUE(who.has_value());
  EXPECT_EQ(who->principal.role, Role::kAnalyst);
  EXPECT_FALSE(who->principal.pii);

  auto sessions = auth_->Sessions();
  ASSERT_TRUE(sessions.ok());
  ASSERT_EQ(sessions->size(), 1u);
  ASSERT_TRUE(auth_->RevokeSession(sessions->front().id).ok());
  EXPECT_FALSE(auth_->WithSession(secret).has_value());
}

TEST_F(AuthenticatorTest, ChangesByAnotherProcessApplyOnTheNextPoll) {
  auto token = auth_->AddToken({"ci", Role::kViewer, std::nullopt, std::nullopt, "root"});
  ASSERT_TRUE(token.ok());
  std::string secret = SignIn("ada", "ada password 1");
  auto other = db_.Connect();  // as `migsbyu token revoke` and `migsbyu user disable` do
  ASSERT_TRUE(RevokeTokenNamed(other, "ci", clock_.Now()).ok());
  EXPECT_TRUE(Eventually([&] { return !auth_->WithToken(token->secret).has_value(); }));
  PasswordHasher hasher(testing::CheapPasswords());
  UserChange disable;
  disable.disabled = true;
  ASSERT_TRUE(ChangeUser(other, hasher, "ada", disable, clock_.Now()).ok());
  EXPECT_TRUE(Eventually([&] { return !auth_->WithSession(secret).has_value(); }));
  // A token made elsewhere is admitted once seen.
  auto made = AddToken(other, {"made-elsewhere", Role::kAnalyst, std::nullopt, std::nullopt, "x"},
                       clock_.Now());
  ASSERT_TRUE(made.ok());
  EXPECT_TRUE(Eventually([&] { return auth_->WithToken(made->secret).has_value(); }));
  EXPECT_EQ(auth_->WithToken(made->secret)->principal.user, "token:made-elsewhere");
}

TEST_F(AuthenticatorTest, ATokenActsAsItselfWithItsOwnRoleUntilItExpires) {
  auto token = auth_->AddToken({"report", Role::kAnalyst, true, clock_.Now() + 3600'000'000, "x"});
  ASSERT_TRUE(token.ok());
  auto who = auth_->WithToken(token->secret);
  ASSERT_TRUE(who.has_value());
  EXPECT_EQ(who->principal.user, "token:report");
  EXPECT_EQ(who->principal.role, Role::kAnalyst);
  EXPECT_TRUE(who->principal.pii);
  EXPECT_EQ(who->via, Admitted::Via::kToken);
  clock_.Advance(1h);
  EXPECT_FALSE(auth_->WithToken(token->secret).has_value());
}

TEST_F(AuthenticatorTest, ActivityOutlivesReloadsAndIsWrittenBack) {
  std::string secret = SignIn("ada", "ada password 1");
  auto token = auth_->AddToken({"ci", Role::kViewer, std::nullopt, std::nullopt, "root"});
  clock_.Advance(20min);
  ASSERT_TRUE(auth_->WithSession(secret).has_value());
  ASSERT_TRUE(auth_->WithToken(token->secret).has_value());
  const int64_t seen = clock_.Now();
  ASSERT_TRUE(auth_->Refresh().ok());  // the database still has the sign-in time
  clock_.Advance(20min);               // 40 min after sign-in, 20 after the last request
  ASSERT_TRUE(auth_->WithSession(secret).has_value());
  auth_->Stop();
  EXPECT_EQ(db_.Sql("SELECT (extract(epoch FROM last_seen_at) * 1000000)::bigint FROM "
                    "migsbyu_auth.sessions"),
            std::to_string(clock_.Now()));
  EXPECT_EQ(db_.Sql("SELECT (extract(epoch FROM last_used_at) * 1000000)::bigint FROM "
                    "migsbyu_auth.tokens"),
            std::to_string(seen));
}

TEST_F(AuthenticatorTest, SessionsListOnlyThoseStillAdmitted) {
  std::string a = SignIn("ada", "ada password 1");
  clock_.Advance(20min);
  std::string b = SignIn("root", "root password 1");
  clock_.Advance(15min);  // a: 35 min idle; b: 15
  auto sessions = auth_->Sessions();
  ASSERT_TRUE(sessions.ok());
  ASSERT_EQ(sessions->size(), 1u);
  EXPECT_EQ(sessions->front().user, "root");
  EXPECT_EQ(sessions->front().peer, "127.0.0.1");
}

TEST_F(AuthenticatorTest, SignInIsRateLimited) {
  auth_.reset();
  options_.rate_limits.user_failures = 2;
  auth_ = db_.Start(clock_, options_);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(auth_->SignIn("ada", "wrong password", "10.0.0.1").error().code(),
              ErrorCode::kUnauthenticated);
  }
  // Now even the right password waits.
  EXPECT_EQ(auth_->SignIn("ada", "ada password 1", "10.0.0.2").error().code(),
            ErrorCode::kTooManyRequests);
  clock_.Advance(options_.rate_limits.user_window);
  EXPECT_TRUE(auth_->SignIn("ada", "ada password 1", "10.0.0.2").ok());
}

}  // namespace
}  // namespace migsbyu::auth
