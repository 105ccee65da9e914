#include "support/test_database.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>

#include "pg/connection.h"

namespace migsbyu::testing {

std::string ServerUrl() {
  const char* url = std::getenv("MIGSBYU_TEST_DATABASE_URL");
  if (url == nullptr || *url == '\0') {
    ADD_FAILURE() << "MIGSBYU_TEST_DATABASE_URL is not set: run the tests with `make test`, "
                     "which starts a PostgreSQL cluster for them";
    std::abort();
  }
  return url;
}

std::string WithDatabase(const std::string& url, const std::string& dbname) {
  auto scheme = url.find("://");
  auto slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  auto query = url.find('?');
  std::string base = url.substr(0, slash);
  std::string rest = query == std::string::npos ? "" : url.substr(query);
  return base + "/" + dbname + rest;
}

TestDatabase::TestDatabase(const std::string& prefix) {
  static std::atomic<int> counter{0};
  auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  name_ = prefix + "_" + std::to_string(getpid()) + "_" + std::to_string(counter++) + "_" +
          std::to_string(now % 1000000);
  auto admin = pg::Connection::Open(ServerUrl());
  if (!admin.ok()) {
    ADD_FAILURE() << admin.error().ToString();
    std::abort();
  }
  auto created = admin->Exec("CREATE DATABASE " + pg::QuoteIdentifier(name_));
  if (!created.ok()) {
    ADD_FAILURE() << created.error().ToString();
    std::abort();
  }
  url_ = WithDatabase(ServerUrl(), name_);
}

TestDatabase::~TestDatabase() {
  auto admin = pg::Connection::Open(ServerUrl());
  if (!admin.ok()) return;
  // Slots keep a database alive: end their walsenders, then drop them, then the database.
  (void)admin->ExecParams(
      "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
      "WHERE database = $1 AND active_pid IS NOT NULL",
      {name_});
  for (int attempt = 0; attempt < 50; ++attempt) {
    auto dropped = admin->ExecParams(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
        "WHERE database = $1 AND NOT active",
        {name_});
    auto left =
        admin->ExecParams("SELECT count(*) FROM pg_replication_slots WHERE database = $1", {name_});
    if (dropped.ok() && left.ok() && left->Get(0, 0) == "0") break;
    usleep(100000);
  }
  (void)admin->Exec("DROP DATABASE IF EXISTS " + pg::QuoteIdentifier(name_) + " WITH (FORCE)");
}

}  // namespace migsbyu::testing
