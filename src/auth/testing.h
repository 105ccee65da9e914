// Test support for sign-in: a migrated test database, a clock the test moves, and an
// Authenticator on them at a small password cost.
//
// Threading: the test's thread; the clock may be read from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "auth/authenticator.h"
#include "pg/connection.h"
#include "support/test_database.h"

namespace migsbyu::auth::testing {

// Microseconds since the epoch, moved by hand.
class ManualClock {
 public:
  int64_t Now() const { return now_.load(); }
  void Advance(std::chrono::microseconds by) { now_ += by.count(); }
  std::function<int64_t()> AsFunction() {
    return [this] { return Now(); };
  }

 private:
  std::atomic<int64_t> now_{1'800'000'000'000'000};  // 2027-01-15
};

// The real Argon2id at a cost that keeps tests quick.
PasswordCost CheapPasswords();

class AuthDatabase {
 public:
  AuthDatabase();  // creates and migrates; fails the test on error
  const std::string& url() const { return db_->url(); }
  pg::Connection Connect() const;
  // The first column of the first row of `sql` ("" for NULL or no row).
  std::string Sql(const std::string& sql) const;

  // Starts an Authenticator on this database with `clock` and the cheap cost; `options` may set
  // the rest.
  std::unique_ptr<Authenticator> Start(ManualClock& clock, AuthOptions options = {}) const;

 private:
  std::unique_ptr<migsbyu::testing::TestDatabase> db_;
};

}  // namespace migsbyu::auth::testing
