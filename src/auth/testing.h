// Test support for sign-in: a migrated test database, a clock the test moves, an Authenticator on
// them at a small password cost, and an HTTP client that carries a token or a session cookie.
//
// Threading: the test's thread; the clock may be read from any thread.
#pragma once

#include <httplib.h>

#include <atomic>
#include <memory>
#include <nlohmann/json.hpp>
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

// One HTTP answer.
struct Reply {
  int status = 0;  // 0: no answer
  std::string body;
  httplib::Headers headers;
  nlohmann::json Json() const { return nlohmann::json::parse(body, nullptr, false); }
  std::string Header(const std::string& name) const;
};

// What a request carries: nothing, a bearer token, or a session cookie.
struct Credential {
  std::string bearer;
  std::string cookie;
};
inline Credential Bearer(std::string token) { return {std::move(token), ""}; }
inline Credential Cookie(std::string session) { return {"", std::move(session)}; }

// "migsbyu_session=mgs_...; Path=/; ..." -> "mgs_...".
std::string CookieValue(const std::string& set_cookie);

// Requests to 127.0.0.1:port, each on a new connection; a body is sent as application/json.
class HttpClient {
 public:
  explicit HttpClient(int port) : port_(port) {}
  Reply Call(const std::string& method, const std::string& path, const Credential& cred = {},
             const std::string& body = "") const;
  Reply Call(const std::string& method, const std::string& path, const Credential& cred,
             const nlohmann::json& body) const {
    return Call(method, path, cred, body.dump());
  }
  // POST /auth/login.
  Reply Login(const std::string& user, const std::string& password) const;

 private:
  int port_;
};

}  // namespace migsbyu::auth::testing
