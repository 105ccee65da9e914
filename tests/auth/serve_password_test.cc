// A DATABASE_URL password never leaves `migsbyu serve`: the server is started, with capture, on a
// role of its own whose password is known only to the URL (the cluster's password file does not
// name it, so a server that came up used the URL's), is made to work (a sign-in, a write that
// capture carries into the lake) and stopped; then neither its whole output (stdout and stderr,
// the start, the work and the shutdown) nor /metrics nor any status answer holds the password.
// A server refused by PostgreSQL for a wrong password does not print the password it tried.
#include <gtest/gtest.h>

#include <random>
#include <regex>

#include "pg/connection.h"
#include "serve_process.h"
#include "support/test_database.h"

namespace migsbyu::auth::testing {
namespace {

// Letters and digits only, so that no encoding of the URL can change how it is written.
std::string RandomPassword() {
  static const char kAlphabet[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  std::mt19937_64 rng(std::random_device{}());
  std::string out = "Pw";
  for (int i = 0; i < 30; ++i) out += kAlphabet[rng() % (sizeof kAlphabet - 1)];
  return out;
}

// "postgresql://migsbyu@127.0.0.1:5432/postgres?..." -> "127.0.0.1:5432".
std::string HostAndPort(const std::string& url) {
  std::smatch m;
  static const std::regex host(R"(@([^/?]+))");
  EXPECT_TRUE(std::regex_search(url, m, host)) << url;
  return m.size() > 1 ? std::string(m[1]) : "";
}

// A login role with a password, dropped at the end (after the database that uses it).
class PasswordRole {
 public:
  PasswordRole(const std::string& name, const std::string& password) : name_(name) {
    auto conn = pg::Connection::Open(migsbyu::testing::ServerUrl());
    EXPECT_TRUE(conn.ok()) << conn.error().ToString();
    if (!conn.ok()) return;
    // SUPERUSER: the server migrates, publishes, decodes and emits logical messages; the test
    // is about where its password goes, not about the least privilege it needs.
    auto made = conn->ExecParams(
        "SELECT format('CREATE ROLE %I LOGIN SUPERUSER PASSWORD %L', $1::text, $2::text)",
        {name, password});
    EXPECT_TRUE(made.ok()) << made.error().ToString();
    if (!made.ok()) return;
    auto created = conn->Exec(std::string(made->Get(0, 0)));
    EXPECT_TRUE(created.ok()) << created.error().ToString();
  }
  ~PasswordRole() {
    auto conn = pg::Connection::Open(migsbyu::testing::ServerUrl());
    if (conn.ok()) (void)conn->Exec("DROP ROLE IF EXISTS " + pg::QuoteIdentifier(name_));
  }

 private:
  std::string name_;
};

TEST(ServePasswordTest, ADatabaseUrlPasswordAppearsInNoOutputMetricOrStatus) {
  const std::string password = RandomPassword();
  const std::string wrong = RandomPassword();
  std::string role_name;
  {
    migsbyu::testing::TestDatabase probe("pwname");
    role_name = "pw_" + probe.name();
  }
  PasswordRole role(role_name, password);
  migsbyu::testing::TestDatabase db("pw");
  const std::string where = HostAndPort(migsbyu::testing::ServerUrl());
  const std::string url =
      "postgresql://" + role_name + ":" + password + "@" + where + "/" + db.name();

  auto seen = [](const std::string& text, const std::string& secret) {
    return text.find(secret) != std::string::npos;
  };

  // The wrong password: PostgreSQL refuses it, and the error says so without it.
  auto refused = RunMigsbyu(
      {"serve", "--no-pipeline", "--api-address", "127.0.0.1:0", "--web-address", "127.0.0.1:0",
       "--database-url",
       "postgresql://" + role_name + "@" + where + "/" + db.name() + "?password=" + wrong});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("password"), std::string::npos) << refused.err;  // says why
  EXPECT_FALSE(seen(refused.out + refused.err, wrong)) << refused.out << refused.err;

  std::string answers;
  std::string output;
  {
    ServeProcess serve(url, db.name(), /*pipeline=*/true, {}, /*url_in_environment=*/true);
    ASSERT_TRUE(serve.running()) << serve.Output();
    Reply login = serve.api().Login("admin", serve.FirstPassword());
    ASSERT_EQ(login.status, 200) << login.body;
    const Credential admin = Cookie(CookieValue(login.Header("Set-Cookie")));
    // A write, carried by capture into the lake: the pipeline's connections have done their work.
    Reply created = serve.api().Call("POST", "/students/", admin,
                                     nlohmann::json{{"id", "PW1"},
                                                    {"first_name", "Pat"},
                                                    {"last_name", "Word"},
                                                    {"gender", "Female"},
                                                    {"address", "1 Quiet Street"},
                                                    {"date_of_birth", "2002-03-04"},
                                                    {"major", "Mathematics"},
                                                    {"year_of_study", 1},
                                                    {"gpa", 3.5},
                                                    {"enrollment_status", "Full-time"}});
    ASSERT_EQ(created.status, 200) << created.body;
    ASSERT_TRUE(Eventually(
        [&] {
          Reply r = serve.api().Call("GET", "/analytics/history/students/PW1", admin);
          return r.status == 200 && r.Json()["versions"].size() == 1;
        },
        std::chrono::seconds(60)))
        << serve.Output();
    for (const char* path : {"/health", "/metrics", "/analytics/status", "/simulation", "/auth/me",
                             "/analytics/audit/actors", "/openapi.json"}) {
      Reply r = serve.api().Call("GET", path, admin);
      EXPECT_EQ(r.status, 200) << path << ": " << r.body;
      EXPECT_FALSE(seen(r.body, password)) << path;
      for (const auto& [name, value] : r.headers) EXPECT_FALSE(seen(value, password)) << path;
      answers += r.body;
    }
    EXPECT_EQ(serve.Stop(), 0);
    output = serve.Output();
  }
  // What was checked is what the server said: a start, a first run and a shutdown.
  EXPECT_NE(output.find("MigsbyU is serving"), std::string::npos) << output;
  EXPECT_NE(answers.find("migsbyu_"), std::string::npos);  // /metrics' series were read
  EXPECT_FALSE(seen(output, password)) << output;
  EXPECT_FALSE(seen(answers, password));
}

}  // namespace
}  // namespace migsbyu::auth::testing
