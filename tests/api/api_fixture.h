// The fixture of the API tests: a fresh migrated database, the REST API and docs on a Router,
// and the portal's Server on ephemeral loopback ports (API and web), reached with httplib.
// These tests are about the API's contract, not sign-in: the router has the gate of
// `serve --no-auth` (every request acts as the local admin, with the pii grant). Access and
// masking are tested in src/auth and tests/auth.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "auth/gate.h"
#include "oltp/pg_query_executor.h"
#include "oltp/simulator.h"
#include "pg/pool.h"
#include "portal/router.h"
#include "portal/server.h"
#include "support/test_database.h"

namespace migsbyu::testing {

struct HttpReply {
  int status = 0;  // 0: no response
  std::string body;
  httplib::Headers headers;
  nlohmann::json Json() const;  // the body parsed; discarded value when it is not JSON
  std::string Header(const std::string& name) const;
};

class ApiTest : public ::testing::Test {
 public:
  // Valid bodies for a new record with this id.
  static nlohmann::json StudentBody(const std::string& id);
  static nlohmann::json ProfessorBody(const std::string& id);
  static nlohmann::json CourseBody(const std::string& id);

 protected:
  void SetUp() override;
  void TearDown() override;

  // Registers extra routes before the server starts (for tests of the server itself).
  virtual void AddRoutes(portal::Router&) {}

  HttpReply Call(const std::string& method, const std::string& path, const std::string& body = "");
  HttpReply Call(const std::string& method, const std::string& path, const nlohmann::json& body) {
    return Call(method, path, body.dump());
  }
  HttpReply CallWeb(const std::string& method, const std::string& path,
                    const std::string& body = "");

  // A direct SQL query on the test database; the first column of the first row.
  std::string Sql(const std::string& sql);
  // A digest of every row of the five tables.
  std::string Checksum();

  // Inserts student S1, professor P1, course C1, enrollment (S1, C1, Fall 2024) and assignment
  // (P1, C1, Fall 2024) through the API.
  void Seed();

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<oltp::PgQueryExecutorFactory> executors_;  // the query routes'
  std::unique_ptr<oltp::Simulator> simulator_;
  auth::OpenGate gate_;
  std::unique_ptr<portal::Router> router_;
  std::unique_ptr<portal::Server> server_;
  std::filesystem::path web_dir_;
};

}  // namespace migsbyu::testing
