// auth::Authenticator: who a request comes from, answered from memory; signing in and out; and
// the admin operations on users, tokens and sessions, written through to PostgreSQL.
//
// The cache. Every user, every live session and every live token (accounts.h) is held in memory,
// keyed by the digest of its secret, so admitting a request (WithSession, WithToken) costs a
// BLAKE2b digest and a hash-map lookup: no database round trip, no Argon2, no blocking. The cache
// is authoritative for this process. It is loaded at Start and reloaded
//   - at once, before the call returns, after every change this process makes (a sign-in, a
//     sign-out, a revocation, a user changed by an admin): a token revoked through this process's
//     API is refused by the next request;
//   - within `poll_interval` of a change committed by another process (`migsbyu token revoke`,
//     `migsbyu user disable`, psql): a thread polls, on a connection of its own, the one-row
//     generation counter that the tables' triggers move (oltp/migrations.cc, migration 2) and
//     reloads when it moved.
// Reloads and this process's writes are serialized, so a reload that read the tables before a
// write committed can never replace the cache after the write's own reload.
//
// Sessions end `session_idle` after their last request or at `session_lifetime` after sign-in,
// whichever comes first; disabling a user or setting a new password revokes their sessions. The
// last request's time is kept in memory and written back every `activity_interval` (and at
// Stop); a restart therefore sees a session as idle for up to that much longer than it was,
// which ends it early, never late. Tokens end when revoked or at their optional expiry.
//
// Signing in checks the rate limits (rate_limiter.h) first, then verifies the password with
// Argon2id on the calling thread (a worker: PasswordHasher bounds how many run). An unknown user,
// a disabled user and a wrong password give the same kUnauthenticated with the same message,
// after the same work (a verification against a dummy hash for the first two).
//
// Principals: a session acts as its user (name, role, pii grant as they are now, so a changed
// role applies to open sessions at once); a token acts as "token:<name>" with its own role and
// pii grant (a token outlives the admin who made it until it is revoked).
//
// Threading: WithSession and WithToken are called on the event loops, concurrently: they take a
// shared lock and do no I/O. Everything else may block (database, Argon2) and is called from
// worker threads or a command's main thread. All methods are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "auth/accounts.h"
#include "auth/password.h"
#include "auth/rate_limiter.h"
#include "auth/secret.h"
#include "common/result.h"
#include "pg/pool.h"
#include "portal/router.h"

namespace migsbyu::auth {

struct AuthOptions {
  std::chrono::seconds session_idle{30 * 60};
  std::chrono::seconds session_lifetime{12 * 60 * 60};
  std::chrono::milliseconds poll_interval{250};
  std::chrono::seconds activity_interval{60};
  RateLimits rate_limits;
  PasswordCost password_cost;
  // Microseconds since the Unix epoch; empty: the system clock. Tests move time with it.
  std::function<int64_t()> clock;
};

// What a credential admits: the principal, and which session or token it was.
struct Admitted {
  enum class Via { kSession, kToken };
  portal::Principal principal;
  Via via = Via::kSession;
  int64_t id = 0;  // the session's or token's id
};

class Authenticator {
 public:
  // Loads the cache from `conninfo`'s database (migrated) and starts the poll thread.
  // kUnavailable when the database cannot be reached.
  static Result<std::unique_ptr<Authenticator>> Start(const std::string& conninfo,
                                                      AuthOptions options = {});
  ~Authenticator();  // Stop()
  Authenticator(const Authenticator&) = delete;
  Authenticator& operator=(const Authenticator&) = delete;

  // Ends polling and writes the activity back. Idempotent.
  void Stop();

  // ---- On the event loops: never block ----

  // The principal of a bearer token, or nullopt when it is malformed, unknown, revoked or expired.
  std::optional<Admitted> WithToken(std::string_view token);
  // The principal of a session secret, or nullopt when it is malformed, unknown, revoked, idle or
  // past its lifetime, or its user is disabled. Counts as activity: the idle time restarts.
  std::optional<Admitted> WithSession(std::string_view secret);

  // ---- Blocking ----

  struct SignedIn {
    Session session;
    std::string secret;  // the cookie's value; only its digest is stored
    portal::Principal principal;
  };
  // Signs `user` in from `peer` (the client's address). kTooManyRequests when rate-limited,
  // kUnauthenticated ("Invalid user name or password") for any wrong user or password,
  // kUnavailable when the database cannot answer.
  Result<SignedIn> SignIn(std::string_view user, std::string_view password,
                          const std::string& peer);
  // Revokes the session of `secret`, if it is one. Always succeeds for a malformed or unknown
  // secret (there is nothing to end); kUnavailable when the database cannot answer.
  Status SignOut(std::string_view secret);

  Result<User> AddUser(const NewUser& user);
  Result<User> ChangeUser(const std::string& name, const UserChange& change);
  Result<std::vector<User>> Users();
  Result<CreatedToken> AddToken(const NewToken& token);
  Status RevokeToken(int64_t id);
  Result<std::vector<Token>> Tokens(bool include_revoked);
  Result<std::vector<Session>> Sessions();
  Status RevokeSession(int64_t id);

  // Reloads the cache from the database now.
  Status Refresh();

  int64_t NowMicros() const;
  const AuthOptions& options() const { return options_; }
  PasswordHasher& hasher() { return hasher_; }
  LoginRateLimiter& rate_limiter() { return limiter_; }

 private:
  struct UserState {
    std::string name;
    portal::Role role;
    bool pii;
    bool disabled;
  };
  struct SessionState {
    int64_t id;
    int64_t user_id;
    DigestBytes digest;
    int64_t expires_us;
    std::atomic<int64_t> last_seen_us;
    std::atomic<int64_t> written_us;  // the last-seen time the database holds
  };
  struct TokenState {
    int64_t id;
    DigestBytes digest;
    portal::Principal principal;
    std::optional<int64_t> expires_us;
    std::atomic<int64_t> last_used_us;
    std::atomic<int64_t> written_us;
  };

  Authenticator(const std::string& conninfo, AuthOptions options);
  Result<pg::Pool::Lease> Connection();
  // REQUIRES: write_mu_ held.
  Status RefreshLocked(pg::Connection& conn);
  // A write of this process, then the reload that makes it visible before returning.
  template <typename Fn>
  auto WriteThrough(Fn&& fn) -> decltype(fn(std::declval<pg::Connection&>()));
  void Poll(std::stop_token stop);
  Status WriteActivity();

  const AuthOptions options_;
  const std::string conninfo_;
  pg::Pool pool_;
  PasswordHasher hasher_;
  LoginRateLimiter limiter_;

  std::mutex write_mu_;  // serializes reloads and this process's writes
  std::atomic<int64_t> generation_{-1};

  std::shared_mutex mu_;  // guards the three maps (their entries' atomics are written under a
                          // shared lock)
  std::unordered_map<int64_t, UserState> users_;
  using SessionMap = std::unordered_map<DigestBytes, std::shared_ptr<SessionState>, DigestHash>;
  using TokenMap = std::unordered_map<DigestBytes, std::shared_ptr<TokenState>, DigestHash>;
  SessionMap sessions_;  // by digest
  TokenMap tokens_;      // by digest

  std::jthread poller_;
  std::once_flag stopped_;
};

}  // namespace migsbyu::auth
