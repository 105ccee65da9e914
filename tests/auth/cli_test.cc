// The shell side of sign-in: `migsbyu user ...` and `migsbyu token ...` against the test
// cluster, a running `migsbyu serve` seeing their changes, the first run's admin, and
// `serve --no-auth`.
#include <gtest/gtest.h>

#include <regex>

#include "auth/secret.h"
#include "serve_process.h"
#include "support/test_database.h"

namespace migsbyu::auth::testing {
namespace {

class CliTest : public ::testing::Test {
 protected:
  CommandResult Run(std::vector<std::string> args, const std::string& input = "") {
    args.push_back("--database-url");
    args.push_back(db_.url());
    return RunMigsbyu(args, input);
  }

  migsbyu::testing::TestDatabase db_{"cli"};
};

TEST_F(CliTest, UserCommandsManageUsersAndNeverShowAPassword) {
  auto added =
      Run({"user", "add", "ada", "--role", "registrar", "--password-stdin"}, "ada's password\n");
  ASSERT_EQ(added.exit_code, 0) << added.err;
  EXPECT_EQ(added.out, "user ada added: role registrar, pii yes\n");
  auto again =
      Run({"user", "add", "ada", "--role", "viewer", "--password-stdin"}, "another password\n");
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;
  // No terminal and no --password-stdin: it says how, rather than reading the password elsewhere.
  auto no_tty = Run({"user", "add", "bob", "--role", "viewer"});
  EXPECT_EQ(no_tty.exit_code, 1);
  EXPECT_NE(no_tty.err.find("--password-stdin"), std::string::npos) << no_tty.err;
  // A password is never an argument.
  EXPECT_NE(
      Run({"user", "add", "carl", "--role", "viewer", "--password", "secret pass 1"}).exit_code, 0);
  auto role = Run({"user", "add", "dan", "--role", "king", "--password-stdin"}, "dan's password\n");
  EXPECT_EQ(role.exit_code, 1);
  EXPECT_NE(role.err.find("viewer, analyst, registrar, admin"), std::string::npos) << role.err;
  auto weak = Run({"user", "add", "eve", "--role", "viewer", "--password-stdin"}, "short\n");
  EXPECT_EQ(weak.exit_code, 1);
  EXPECT_NE(weak.err.find("at least 10 characters"), std::string::npos) << weak.err;

  ASSERT_EQ(Run({"user", "add", "vic", "--role", "viewer", "--pii", "--password-stdin"},
                "vic's password\n")
                .exit_code,
            0);
  ASSERT_EQ(Run({"user", "set", "ada", "--role", "analyst", "--no-pii"}).exit_code, 0);
  auto list = Run({"user", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_TRUE(std::regex_search(list.out, std::regex(R"(\nada +analyst +no +no )"))) << list.out;
  EXPECT_TRUE(std::regex_search(list.out, std::regex(R"(\nvic +viewer +yes +no )"))) << list.out;
  EXPECT_EQ(list.out.find("bob"), std::string::npos);
  for (const char* secret : {"argon2", "ada's password", "vic's password"}) {
    EXPECT_EQ(list.out.find(secret), std::string::npos) << list.out;
  }
  ASSERT_EQ(Run({"user", "disable", "vic"}).exit_code, 0);
  EXPECT_TRUE(
      std::regex_search(Run({"user", "list"}).out, std::regex(R"(\nvic +viewer +yes +yes )")));
  EXPECT_EQ(Run({"user", "disable", "nobody"}).exit_code, 1);
}

TEST_F(CliTest, ARunningServerSeesWhatTheCommandsChange) {
  std::string admin_password;
  {
    ServeProcess first(db_.url(), db_.name(), /*pipeline=*/false);
    ASSERT_TRUE(first.running());
    admin_password = first.FirstPassword();
    ASSERT_EQ(admin_password.size(), 20u) << first.Output();
    EXPECT_NE(first.Output().find("migsbyu user passwd admin"), std::string::npos);
    EXPECT_NE(first.Output().find("/login"), std::string::npos);
  }
  ServeProcess serve(db_.url(), db_.name(), /*pipeline=*/false);
  ASSERT_TRUE(serve.running());
  EXPECT_EQ(serve.FirstPassword(), "") << "the password is printed on the first run only";
  HttpClient api = serve.api();
  EXPECT_EQ(api.Login("admin", admin_password).status, 200);

  auto created = Run({"token", "create", "--role", "registrar", "--name", "etl"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const std::string token = created.out.substr(0, created.out.size() - 1);
  EXPECT_EQ(created.out, token + "\n");  // the secret alone on stdout, for TOKEN=$(...)
  EXPECT_TRUE(IsSecretOf(token, SecretKind::kToken)) << created.out;
  EXPECT_NE(created.err.find("not shown again"), std::string::npos);
  ASSERT_TRUE(
      Eventually([&] { return api.Call("GET", "/students/", Bearer(token)).status == 200; }));
  auto listed = Run({"token", "list"});
  EXPECT_NE(listed.out.find("etl"), std::string::npos);
  EXPECT_EQ(listed.out.find(token), std::string::npos);
  ASSERT_EQ(Run({"token", "revoke", "etl"}).exit_code, 0);
  EXPECT_TRUE(
      Eventually([&] { return api.Call("GET", "/students/", Bearer(token)).status == 401; }));
  EXPECT_EQ(Run({"token", "revoke", "etl"}).exit_code, 1);
  ASSERT_EQ(Run({"token", "create", "--role", "viewer", "--name", "weekly", "--expires-days", "7"})
                .exit_code,
            0);
  EXPECT_NE(Run({"token", "list"}).out.find("expires "), std::string::npos);
  EXPECT_NE(Run({"token", "list", "--all"}).out.find("revoked "), std::string::npos);

  ASSERT_EQ(
      Run({"user", "add", "ada", "--role", "registrar", "--password-stdin"}, "first password\n")
          .exit_code,
      0);
  Reply login = api.Login("ada", "first password");
  ASSERT_EQ(login.status, 200);
  const Credential ada = Cookie(CookieValue(login.Header("Set-Cookie")));
  ASSERT_EQ(api.Call("GET", "/students/", ada).status, 200);
  ASSERT_EQ(Run({"user", "disable", "ada"}).exit_code, 0);
  EXPECT_TRUE(Eventually([&] { return api.Call("GET", "/students/", ada).status == 401; }));
  EXPECT_EQ(api.Login("ada", "first password").status, 401);
  ASSERT_EQ(Run({"user", "enable", "ada"}).exit_code, 0);
  EXPECT_EQ(api.Call("GET", "/students/", ada).status, 401);  // disabling ended the session
  Reply again = api.Login("ada", "first password");
  ASSERT_EQ(again.status, 200);
  const Credential ada2 = Cookie(CookieValue(again.Header("Set-Cookie")));
  ASSERT_EQ(Run({"user", "passwd", "ada", "--password-stdin"}, "second password\n").exit_code, 0);
  EXPECT_TRUE(Eventually([&] { return api.Call("GET", "/students/", ada2).status == 401; }));
  EXPECT_EQ(api.Login("ada", "first password").status, 401);
  EXPECT_EQ(api.Login("ada", "second password").status, 200);
}

TEST_F(CliTest, NoAuthIsForLoopbackOnlyAndActsAsTheLocalAdmin) {
  auto refused = RunMigsbyu({"serve", "--no-auth", "--no-pipeline", "--database-url", db_.url(),
                             "--api-address", "0.0.0.0:0", "--web-address", ""});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("loopback"), std::string::npos) << refused.err;

  ServeProcess open(db_.url(), db_.name(), /*pipeline=*/false, {"--no-auth"});
  ASSERT_TRUE(open.running());
  EXPECT_NE(open.Output().find("WARNING: --no-auth"), std::string::npos) << open.Output();
  EXPECT_EQ(open.FirstPassword(), "");
  HttpClient api = open.api();
  EXPECT_EQ(api.Call("GET", "/students/").status, 200);
  Reply me = api.Call("GET", "/auth/me");
  ASSERT_EQ(me.status, 200);
  EXPECT_EQ(me.Json()["user"], "local");
  EXPECT_EQ(me.Json()["role"], "admin");
  EXPECT_EQ(me.Json()["pii"], true);
  EXPECT_EQ(me.Json()["via"], "open");
  // The prototype's client: a write without any credential.
  Reply created = api.Call(
      "POST", "/courses/", {},
      nlohmann::json{{"id", "C1"}, {"name", "Open"}, {"units", 1}, {"department", "Tests"}});
  EXPECT_EQ(created.status, 200) << created.body;
}

}  // namespace
}  // namespace migsbyu::auth::testing
