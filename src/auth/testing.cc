#include "auth/testing.h"

#include <gtest/gtest.h>

#include "oltp/migrations.h"

namespace migsbyu::auth::testing {

PasswordCost CheapPasswords() {
  PasswordCost cost;
  cost.passes = 1;
  cost.memory_bytes = size_t{1} << 20;
  return cost;
}

AuthDatabase::AuthDatabase() : db_(std::make_unique<migsbyu::testing::TestDatabase>("auth")) {
  auto conn = Connect();
  auto migrated = oltp::ApplyMigrations(conn);
  EXPECT_TRUE(migrated.ok()) << migrated.error().ToString();
}

pg::Connection AuthDatabase::Connect() const {
  auto conn = pg::Connection::Open(db_->url());
  if (!conn.ok()) {
    ADD_FAILURE() << conn.error().ToString();
    std::abort();
  }
  return std::move(conn).value();
}

std::string AuthDatabase::Sql(const std::string& sql) const {
  auto conn = Connect();
  auto r = conn.Exec(sql);
  EXPECT_TRUE(r.ok()) << sql << ": " << r.error().ToString();
  if (!r.ok() || r->rows() == 0 || r->IsNull(0, 0)) return "";
  return std::string(r->Get(0, 0));
}

std::unique_ptr<Authenticator> AuthDatabase::Start(ManualClock& clock, AuthOptions options) const {
  options.clock = clock.AsFunction();
  options.password_cost = CheapPasswords();
  auto auth = Authenticator::Start(url(), std::move(options));
  EXPECT_TRUE(auth.ok()) << auth.error().ToString();
  return auth.ok() ? std::move(auth).value() : nullptr;
}

}  // namespace migsbyu::auth::testing
