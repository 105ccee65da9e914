// No credential ever leaves PostgreSQL by change capture. Users, sessions and tokens are made
// before capture starts (so the snapshot meets them) and while it streams (so the WAL carries
// them), through the real commands and the real server, with a publication FOR ALL TABLES that
// does publish the private schema; then the change file, every Kafka topic and every file of the
// lake are searched for the private tables and for every secret, digest and password hash.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "auth/accounts.h"
#include "auth/secret.h"
#include "common/private_schema.h"
#include "lake/testing.h"
#include "pg/connection.h"
#include "serve_process.h"
#include "support/test_database.h"
#include "transport/kafka/kafka_source.h"
#include "transport/kafka/testing.h"

namespace migsbyu::auth::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class CredentialsNotCapturedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    conn_ = std::make_unique<pg::Connection>(std::move(pg::Connection::Open(db_.url()).value()));
    ASSERT_EQ(RunMigsbyu({"migrate", "--database-url", db_.url()}).exit_code, 0);
    // A publication made by hand that publishes every table, the private ones included.
    Exec("CREATE PUBLICATION everything FOR ALL TABLES");
    ASSERT_GE(std::stoi(Sql("SELECT count(*) FROM pg_publication_tables WHERE pubname = "
                            "'everything' AND schemaname = '" +
                            std::string(kPrivateSchema) + "'")),
              3);
  }

  void Exec(const std::string& sql) {
    auto r = conn_->Exec(sql);
    ASSERT_TRUE(r.ok()) << sql << ": " << r.error().ToString();
  }
  std::string Sql(const std::string& sql) {
    auto r = conn_->Exec(sql);
    EXPECT_TRUE(r.ok()) << sql << ": " << r.error().ToString();
    return r.ok() && r->rows() > 0 ? std::string(r->Get(0, 0)) : "";
  }

  // A user, a token (one kept, one revoked), two sessions and a changed password, each secret
  // and each stored form remembered.
  void MakeCredentials(const std::string& tag) {
    const std::string user = "cred-" + tag;
    const std::string password = "plain password " + tag + " 7Qx";
    auto added = RunMigsbyu({"user", "add", user, "--role", "registrar", "--password-stdin",
                             "--database-url", db_.url()},
                            password + "\n");
    ASSERT_EQ(added.exit_code, 0) << added.err;
    secrets_.push_back(password);
    secrets_.push_back(
        Sql("SELECT password_hash FROM migsbyu_auth.users WHERE name = '" + user + "'"));
    for (const char* suffix : {"-kept", "-revoked"}) {
      auto token = RunMigsbyu({"token", "create", "--role", "admin", "--name",
                               "cred-" + tag + suffix, "--database-url", db_.url()});
      ASSERT_EQ(token.exit_code, 0) << token.err;
      std::string secret = token.out.substr(0, token.out.find('\n'));
      secrets_.push_back(secret);
      secrets_.push_back(SecretDigest(secret));
      tokens_.push_back(secret);
    }
    ASSERT_EQ(
        RunMigsbyu({"token", "revoke", "cred-" + tag + "-revoked", "--database-url", db_.url()})
            .exit_code,
        0);
    auto id = Sql("SELECT id FROM migsbyu_auth.users WHERE name = '" + user + "'");
    for (int i = 0; i < 2; ++i) {
      std::string session = NewSecret(SecretKind::kSession);
      auto s = AddSession(*conn_, std::stoll(id), SecretDigest(session), 1'800'000'000'000'000,
                          3'600'000'000, "127.0.0.1");
      ASSERT_TRUE(s.ok()) << s.error().ToString();
      secrets_.push_back(session);
      secrets_.push_back(SecretDigest(session));
    }
    const std::string changed = "changed password " + tag + " 9Zk";
    ASSERT_EQ(RunMigsbyu({"user", "passwd", user, "--password-stdin", "--database-url", db_.url()},
                         changed + "\n")
                  .exit_code,
              0);
    secrets_.push_back(changed);
    secrets_.push_back(
        Sql("SELECT password_hash FROM migsbyu_auth.users WHERE name = '" + user + "'"));
  }

  // A change to a captured table, and the WAL position after it.
  std::string Marker(const std::string& id) {
    Exec("INSERT INTO courses (id, name, units, department) VALUES ('" + id +
         "', 'Marker', 1, 'Tests')");
    return Sql("SELECT pg_current_wal_lsn()::text");
  }

  // What must not appear: a private table's name and every secret and stored form.
  void ExpectClean(const std::string& text, const std::string& where) {
    EXPECT_EQ(text.find(std::string(kPrivateSchema)), std::string::npos) << where;
    for (const auto& s : secrets_) {
      ASSERT_FALSE(s.empty());
      EXPECT_EQ(text.find(s), std::string::npos) << where << " holds " << s;
    }
  }

  migsbyu::testing::TestDatabase db_{"nocapture"};
  std::unique_ptr<pg::Connection> conn_;
  std::vector<std::string> secrets_;
  std::vector<std::string> tokens_;
};

std::string ReadAll(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST_F(CredentialsNotCapturedTest, NoChangeFileHoldsThePrivateTablesOrACredential) {
  const std::string file = (fs::temp_directory_path() / ("nocapture-" + db_.name())).string();
  auto cdc = [&](const std::string& stop_at) {
    return RunMigsbyu({"--log-level", "warn", "cdc", "--database-url", db_.url(), "--sink",
                       "file:" + file, "--slot", db_.name() + "_file", "--publication",
                       "everything", "--status-interval-ms", "100", "--stop-at", stop_at});
  };
  MakeCredentials("snap");
  auto first = cdc(Marker("M1"));  // the snapshot
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE((first.out + first.err).find("never captured"), std::string::npos) << first.err;
  MakeCredentials("wal");
  auto second = cdc(Marker("M2"));  // the stream
  ASSERT_EQ(second.exit_code, 0) << second.err;
  const std::string text = ReadAll(file);
  fs::remove(file);
  // Both markers came through, so both the snapshot and the stream were read.
  EXPECT_NE(text.find("\"M1\""), std::string::npos);
  EXPECT_NE(text.find("\"M2\""), std::string::npos);
  ExpectClean(text, "the change file");
  for (const char* table : {"\"users\"", "\"sessions\"", "\"tokens\"", "\"generation\""}) {
    EXPECT_EQ(text.find(table), std::string::npos) << table;
  }
}

TEST_F(CredentialsNotCapturedTest, NoKafkaTopicHoldsThePrivateTablesOrACredential) {
  kafka::testing::MockCluster cluster(1);
  auto cdc = [&](const std::string& stop_at) {
    return RunMigsbyu({"--log-level", "warn", "cdc", "--database-url", db_.url(), "--sink",
                       "kafka:" + cluster.bootstraps(), "--slot", db_.name() + "_kafka",
                       "--publication", "everything", "--status-interval-ms", "100", "--stop-at",
                       stop_at});
  };
  MakeCredentials("snap");
  ASSERT_EQ(cdc(Marker("K1")).exit_code, 0);
  MakeCredentials("wal");
  ASSERT_EQ(cdc(Marker("K2")).exit_code, 0);

  kafka::testing::RecordingSink recorded;
  kafka::KafkaSourceOptions options;
  options.brokers = cluster.bootstraps();
  options.group_id = "nocapture";
  options.extra["log_level"] = "3";
  options.extra["session.timeout.ms"] = "6000";
  kafka::KafkaSource source(options);
  std::jthread consume([&](std::stop_token stop) { (void)source.Run(stop, recorded); });
  // Every topic of the prefix is read, whatever tables it has: the markers mark the end.
  ASSERT_TRUE(Eventually(
      [&] {
        bool k1 = false, k2 = false;
        for (const auto& c : recorded.changes()) {
          std::string d = kafka::testing::DescribeChange(c).dump();
          k1 = k1 || d.find("\"K1\"") != std::string::npos;
          k2 = k2 || d.find("\"K2\"") != std::string::npos;
        }
        return k1 && k2;
      },
      std::chrono::seconds(60)));
  consume.request_stop();
  consume.join();
  std::string all;
  for (const auto& c : recorded.changes()) {
    EXPECT_NE(c.table->schema, kPrivateSchema) << c.table->name;
    all += kafka::testing::DescribeChange(c).dump() + "\n";
  }
  ExpectClean(all, "the Kafka topics");
}

TEST_F(CredentialsNotCapturedTest, NoFileOfTheLakeHoldsThePrivateTablesOrACredential) {
  MakeCredentials("snap");
  std::string lake;
  {
    ServeProcess serve(db_.url(), db_.name(), /*pipeline=*/true, {"--publication", "everything"});
    ASSERT_TRUE(serve.running());
    lake = serve.lake_dir();
    // Signed in through the server too: a real session row.
    Reply login = serve.api().Login("cred-snap", "changed password snap 9Zk");
    ASSERT_EQ(login.status, 200) << login.body;
    secrets_.push_back(CookieValue(login.Header("Set-Cookie")));
    MakeCredentials("wal");
    Marker("L1");
    const Credential admin = Bearer(tokens_.front());
    ASSERT_TRUE(Eventually(
        [&] {
          return serve.api()
                     .Call("GET", "/analytics/dimensions/courses?id=L1", admin)
                     .Json()
                     .size() == 1;
        },
        std::chrono::seconds(60)))
        << serve.Output();
    EXPECT_NE(serve.Output().find("never captured"), std::string::npos);
    ASSERT_EQ(serve.Stop(), 0);
    // Read every file before the lake directory goes with the process's cleanup.
    int parquet = 0;
    for (const auto& entry : fs::recursive_directory_iterator(lake)) {
      const std::string name = entry.path().string();
      EXPECT_EQ(name.find(std::string(kPrivateSchema)), std::string::npos) << name;
      for (const char* table : {"users", "sessions", "tokens"}) {
        EXPECT_EQ(entry.path().filename().string().find(table), std::string::npos) << name;
      }
      if (!entry.is_regular_file()) continue;
      if (entry.path().extension() == ".parquet") {
        ++parquet;
        // Parquet pages are compressed: read the rows back and search their text.
        ExpectClean(lake::testing::QueryText(lake, "SELECT * FROM read_parquet('" + name + "')"),
                    name);
      } else {
        ExpectClean(ReadAll(entry.path()), name);
      }
    }
    EXPECT_GT(parquet, 0);
  }
}

TEST_F(CredentialsNotCapturedTest, ThePrivateSchemaCannotBeAskedFor) {
  auto r = RunMigsbyu({"cdc", "--database-url", db_.url(), "--sink", "file:/dev/null", "--slot",
                       db_.name() + "_asked", "--publication", "asked", "--table", "students",
                       "--table", std::string(kPrivateSchema) + ".users"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("never captured"), std::string::npos) << r.err;
  EXPECT_EQ(Sql("SELECT count(*) FROM pg_publication WHERE pubname = 'asked'"), "0");
  EXPECT_EQ(
      Sql("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" + db_.name() + "_asked'"),
      "0");
}

}  // namespace
}  // namespace migsbyu::auth::testing
