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

std::string Reply::Header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

std::string CookieValue(const std::string& set_cookie) {
  auto eq = set_cookie.find('=');
  auto semi = set_cookie.find(';');
  if (eq == std::string::npos) return "";
  return set_cookie.substr(eq + 1, semi == std::string::npos ? semi : semi - eq - 1);
}

Reply HttpClient::Call(const std::string& method, const std::string& path, const Credential& cred,
                       const std::string& body) const {
  httplib::Client client("127.0.0.1", port_);
  client.set_read_timeout(60, 0);
  httplib::Request req;
  req.method = method;
  req.path = path;
  req.body = body;
  if (!body.empty()) req.set_header("Content-Type", "application/json");
  if (!cred.bearer.empty()) req.set_header("Authorization", "Bearer " + cred.bearer);
  if (!cred.cookie.empty()) req.set_header("Cookie", "theme=dark; migsbyu_session=" + cred.cookie);
  auto res = client.send(req);
  Reply r;
  if (!res) return r;
  r.status = res->status;
  r.body = res->body;
  r.headers = res->headers;
  return r;
}

Reply HttpClient::Login(const std::string& user, const std::string& password) const {
  return Call("POST", "/auth/login", {}, nlohmann::json{{"user", user}, {"password", password}});
}

}  // namespace migsbyu::auth::testing
