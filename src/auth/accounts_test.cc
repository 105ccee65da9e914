#include "auth/accounts.h"

#include <gtest/gtest.h>

#include "auth/secret.h"
#include "auth/testing.h"
#include "common/private_schema.h"

namespace migsbyu::auth {
namespace {

using portal::Role;

constexpr int64_t kNow = 1'800'000'000'000'000;

class AccountsTest : public ::testing::Test {
 protected:
  User Add(const std::string& name, Role role, std::optional<bool> pii = std::nullopt) {
    auto u = AddUser(conn_, hasher_, {name, role, pii, "a password for " + name});
    EXPECT_TRUE(u.ok()) << u.error().ToString();
    return u.ok() ? *u : User{};
  }

  testing::AuthDatabase db_;
  pg::Connection conn_ = db_.Connect();
  PasswordHasher hasher_{testing::CheapPasswords()};
};

TEST_F(AccountsTest, SignInTablesLiveInThePrivateSchema) {
  EXPECT_EQ(db_.Sql("SELECT string_agg(table_name, ',' ORDER BY table_name) FROM "
                    "information_schema.tables WHERE table_schema = '" +
                    std::string(kPrivateSchema) + "'"),
            "generation,sessions,tokens,users");
  // None of them sits where the captured tables are.
  EXPECT_EQ(db_.Sql("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' "
                    "AND table_name IN ('users', 'sessions', 'tokens')"),
            "0");
}

TEST_F(AccountsTest, StoresAnArgon2idHashNeverThePassword) {
  Add("ada", Role::kRegistrar);
  std::string stored = db_.Sql("SELECT password_hash FROM migsbyu_auth.users WHERE name = 'ada'");
  EXPECT_TRUE(stored.starts_with("$argon2id$")) << stored;
  EXPECT_EQ(db_.Sql("SELECT count(*) FROM migsbyu_auth.users WHERE password_hash LIKE "
                    "'%a password for ada%'"),
            "0");
  auto login = FindLogin(conn_, "ada");
  ASSERT_TRUE(login.ok() && login->has_value());
  EXPECT_TRUE(*hasher_.Verify("a password for ada", (*login)->password_hash));
  EXPECT_FALSE(FindLogin(conn_, "nobody")->has_value());
}

TEST_F(AccountsTest, PiiDefaultsToTheRolesAndCanBeSet) {
  EXPECT_TRUE(Add("a1", Role::kAdmin).pii);
  EXPECT_TRUE(Add("r1", Role::kRegistrar).pii);
  EXPECT_FALSE(Add("n1", Role::kAnalyst).pii);
  EXPECT_FALSE(Add("v1", Role::kViewer).pii);
  EXPECT_TRUE(Add("v2", Role::kViewer, true).pii);
  EXPECT_FALSE(Add("r2", Role::kRegistrar, false).pii);
}

TEST_F(AccountsTest, NamesAreCheckedAndTakenOnce) {
  for (std::string bad :
       {std::string(), std::string("Ada"), std::string("-ada"), std::string("a b"),
        std::string("ada;drop"), std::string(65, 'a'), std::string("émile")}) {
    auto r = AddUser(conn_, hasher_, {bad, Role::kViewer, std::nullopt, "long enough password"});
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kValidation) << bad;
  }
  Add("ada", Role::kViewer);
  auto again = AddUser(conn_, hasher_, {"ada", Role::kAdmin, std::nullopt, "another password"});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), ErrorCode::kAlreadyExists);
  auto weak = AddUser(conn_, hasher_, {"bob", Role::kViewer, std::nullopt, "short"});
  ASSERT_FALSE(weak.ok());
  EXPECT_EQ(weak.error().fields().at(0).field, "password");
}

TEST_F(AccountsTest, TheLastEnabledAdminCannotBeDisabledOrDemoted) {
  Add("root", Role::kAdmin);
  UserChange disable;
  disable.disabled = true;
  auto r = ChangeUser(conn_, hasher_, "root", disable, kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kConflict);
  UserChange demote;
  demote.role = Role::kViewer;
  EXPECT_EQ(ChangeUser(conn_, hasher_, "root", demote, kNow).error().code(), ErrorCode::kConflict);
  EXPECT_EQ(db_.Sql("SELECT role || disabled::text FROM migsbyu_auth.users WHERE name = 'root'"),
            "adminfalse");
  Add("second", Role::kAdmin);
  EXPECT_TRUE(ChangeUser(conn_, hasher_, "root", demote, kNow).ok());
  EXPECT_EQ(ChangeUser(conn_, hasher_, "second", disable, kNow).error().code(),
            ErrorCode::kConflict);
  EXPECT_EQ(ChangeUser(conn_, hasher_, "nobody", demote, kNow).error().code(),
            ErrorCode::kNotFound);
}

TEST_F(AccountsTest, WithoutAnyAdminOtherUsersCanStillBeChanged) {
  Add("ada", Role::kRegistrar);  // made from the shell before any admin
  UserChange password;
  password.password = "a brand new password";
  EXPECT_TRUE(ChangeUser(conn_, hasher_, "ada", password, kNow).ok());
  UserChange disable;
  disable.disabled = true;
  EXPECT_TRUE(ChangeUser(conn_, hasher_, "ada", disable, kNow).ok());
}

TEST_F(AccountsTest, ANewPasswordOrDisablingEndsTheUsersSessions) {
  User admin = Add("root", Role::kAdmin);
  User ada = Add("ada", Role::kRegistrar);
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(AddSession(conn_, ada.id, SecretDigest(NewSecret(SecretKind::kSession)), kNow,
                           1000000, "127.0.0.1")
                    .ok());
  }
  ASSERT_TRUE(
      AddSession(conn_, admin.id, SecretDigest(NewSecret(SecretKind::kSession)), kNow, 1000000, "")
          .ok());
  auto live = [&] { return ListSessions(conn_, kNow)->size(); };
  EXPECT_EQ(live(), 3u);
  UserChange password;
  password.password = "a brand new password";
  ASSERT_TRUE(ChangeUser(conn_, hasher_, "ada", password, kNow).ok());
  EXPECT_EQ(live(), 1u);
  ASSERT_TRUE(
      AddSession(conn_, ada.id, SecretDigest(NewSecret(SecretKind::kSession)), kNow, 1000000, "")
          .ok());
  UserChange disable;
  disable.disabled = true;
  ASSERT_TRUE(ChangeUser(conn_, hasher_, "ada", disable, kNow).ok());
  EXPECT_EQ(live(), 1u);
  EXPECT_EQ(ListSessions(conn_, kNow)->front().user, "root");
  // Past its absolute end, a session is not listed either.
  EXPECT_EQ(ListSessions(conn_, kNow + 1000000)->size(), 0u);
}

TEST_F(AccountsTest, ATokensSecretIsReturnedOnceAndStoredOnlyAsItsDigest) {
  auto created =
      AddToken(conn_, {"nightly", Role::kAnalyst, std::nullopt, std::nullopt, "shell:ci"}, kNow);
  ASSERT_TRUE(created.ok()) << created.error().ToString();
  EXPECT_TRUE(IsSecretOf(created->secret, SecretKind::kToken));
  EXPECT_FALSE(created->token.pii);
  EXPECT_EQ(created->token.digest, SecretDigest(created->secret));
  EXPECT_EQ(db_.Sql("SELECT count(*) FROM migsbyu_auth.tokens WHERE digest = '" +
                    SecretDigest(created->secret) + "'"),
            "1");
  EXPECT_EQ(db_.Sql("SELECT count(*) FROM migsbyu_auth.tokens t WHERE t::text LIKE '%" +
                    created->secret.substr(4, 20) + "%'"),
            "0");
}

TEST_F(AccountsTest, ALiveTokensNameIsUniqueAndARevokedOnesMayBeReused) {
  NewToken t{"ci", Role::kViewer, std::nullopt, std::nullopt, "shell:ci"};
  auto first = AddToken(conn_, t, kNow);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(AddToken(conn_, t, kNow).error().code(), ErrorCode::kAlreadyExists);
  ASSERT_TRUE(RevokeTokenNamed(conn_, "ci", kNow).ok());
  EXPECT_EQ(RevokeTokenNamed(conn_, "ci", kNow).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(RevokeToken(conn_, first->token.id, kNow).error().code(), ErrorCode::kNotFound);
  ASSERT_TRUE(AddToken(conn_, t, kNow).ok());
  EXPECT_EQ(ListTokens(conn_, false)->size(), 1u);
  auto all = ListTokens(conn_, true);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_TRUE(all->back().revoked_us.has_value());
  EXPECT_EQ(
      AddToken(conn_, {"old", Role::kViewer, std::nullopt, kNow - 1, "x"}, kNow).error().code(),
      ErrorCode::kValidation);
}

TEST_F(AccountsTest, TheGenerationMovesWithCredentialChangesButNotWithActivity) {
  auto generation = [&] { return *CurrentGeneration(conn_); };
  int64_t g0 = generation();
  User ada = Add("ada", Role::kRegistrar);
  int64_t g1 = generation();
  EXPECT_GT(g1, g0);
  auto session =
      AddSession(conn_, ada.id, SecretDigest(NewSecret(SecretKind::kSession)), kNow, 1000000, "");
  ASSERT_TRUE(session.ok());
  int64_t g2 = generation();
  EXPECT_GT(g2, g1);
  auto token = AddToken(conn_, {"ci", Role::kViewer, std::nullopt, std::nullopt, "x"}, kNow);
  int64_t g3 = generation();
  EXPECT_GT(g3, g2);
  ASSERT_TRUE(RecordActivity(conn_, {{session->id, kNow + 5}}, {{token->token.id, kNow + 7}}).ok());
  EXPECT_EQ(generation(), g3);
  EXPECT_EQ(db_.Sql("SELECT (extract(epoch FROM last_seen_at) * 1000000)::bigint FROM "
                    "migsbyu_auth.sessions"),
            std::to_string(kNow + 5));
  // Never back.
  ASSERT_TRUE(RecordActivity(conn_, {{session->id, kNow + 1}}, {}).ok());
  EXPECT_EQ(db_.Sql("SELECT (extract(epoch FROM last_seen_at) * 1000000)::bigint FROM "
                    "migsbyu_auth.sessions"),
            std::to_string(kNow + 5));
  ASSERT_TRUE(RevokeSession(conn_, session->id, kNow).ok());
  EXPECT_GT(generation(), g3);
}

TEST_F(AccountsTest, EndedSessionsArePurgedAndLiveOnesKept) {
  User ada = Add("ada", Role::kRegistrar);
  auto digest = [] { return SecretDigest(NewSecret(SecretKind::kSession)); };
  auto revoked = AddSession(conn_, ada.id, digest(), kNow, 3600'000'000, "");
  auto expired = AddSession(conn_, ada.id, digest(), kNow - 7200'000'000, 3600'000'000, "");
  auto live = AddSession(conn_, ada.id, digest(), kNow, 3600'000'000, "");
  ASSERT_TRUE(RevokeSession(conn_, revoked->id, kNow).ok());
  const int64_t generation = *CurrentGeneration(conn_);
  EXPECT_EQ(*PurgeSessions(conn_, kNow - 7200'000'000), 0);
  EXPECT_EQ(*CurrentGeneration(conn_), generation);  // nothing deleted, nothing moved
  EXPECT_EQ(*PurgeSessions(conn_, kNow + 1), 2);
  EXPECT_EQ(db_.Sql("SELECT string_agg(id::text, ',') FROM migsbyu_auth.sessions"),
            std::to_string(live->id));
  (void)expired;
}

TEST_F(AccountsTest, ASnapshotHoldsUsersAndOnlyLiveSessionsAndTokens) {
  User ada = Add("ada", Role::kRegistrar);
  auto kept =
      AddSession(conn_, ada.id, SecretDigest(NewSecret(SecretKind::kSession)), kNow, 1000000, "");
  auto ended =
      AddSession(conn_, ada.id, SecretDigest(NewSecret(SecretKind::kSession)), kNow, 1000000, "");
  ASSERT_TRUE(RevokeSession(conn_, ended->id, kNow).ok());
  auto t1 = AddToken(conn_, {"a", Role::kViewer, std::nullopt, std::nullopt, "x"}, kNow);
  auto t2 = AddToken(conn_, {"b", Role::kViewer, std::nullopt, std::nullopt, "x"}, kNow);
  ASSERT_TRUE(RevokeToken(conn_, t2->token.id, kNow).ok());
  auto s = LoadSnapshot(conn_, kNow);
  ASSERT_TRUE(s.ok()) << s.error().ToString();
  EXPECT_EQ(s->generation, *CurrentGeneration(conn_));
  ASSERT_EQ(s->users.size(), 1u);
  ASSERT_EQ(s->sessions.size(), 1u);
  EXPECT_EQ(s->sessions[0].id, kept->id);
  ASSERT_EQ(s->tokens.size(), 1u);
  EXPECT_EQ(s->tokens[0].id, t1->token.id);
}

}  // namespace
}  // namespace migsbyu::auth
