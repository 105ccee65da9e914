#include "auth/authenticator.h"

#include <condition_variable>

#include "auth/secret.h"
#include "common/log.h"

namespace migsbyu::auth {
namespace {

constexpr auto kLeaseTimeout = std::chrono::seconds(5);
constexpr const char* kBadCredentials = "Invalid user name or password";

int64_t Micros(std::chrono::seconds s) { return s.count() * 1000000; }

// Raises `a` to `v` unless it already holds more.
void StoreMax(std::atomic<int64_t>& a, int64_t v) {
  int64_t seen = a.load(std::memory_order_relaxed);
  while (seen < v && !a.compare_exchange_weak(seen, v, std::memory_order_relaxed)) {
  }
}

}  // namespace

Authenticator::Authenticator(const std::string& conninfo, AuthOptions options)
    : options_(std::move(options)),
      conninfo_(conninfo),
      pool_(conninfo, 4),
      hasher_(options_.password_cost),
      limiter_(options_.rate_limits) {}

Result<std::unique_ptr<Authenticator>> Authenticator::Start(const std::string& conninfo,
                                                            AuthOptions options) {
  std::unique_ptr<Authenticator> auth(new Authenticator(conninfo, std::move(options)));
  MIGSBYU_TRY(auth->Refresh());
  auth->poller_ = std::jthread([a = auth.get()](std::stop_token stop) { a->Poll(stop); });
  return auth;
}

Authenticator::~Authenticator() { Stop(); }

void Authenticator::Stop() {
  std::call_once(stopped_, [this] {
    if (poller_.joinable()) {
      poller_.request_stop();
      poller_.join();
    }
    if (auto written = WriteActivity(); !written.ok()) {
      MIGSBYU_LOG_WARN("auth: cannot write session activity back: {}", written.error().ToString());
    }
  });
}

int64_t Authenticator::NowMicros() const {
  if (options_.clock) return options_.clock();
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<pg::Pool::Lease> Authenticator::Connection() { return pool_.Acquire(kLeaseTimeout); }

std::optional<Admitted> Authenticator::WithToken(std::string_view token) {
  if (!IsSecretOf(token, SecretKind::kToken)) return std::nullopt;
  const DigestBytes digest = SecretDigestBytes(token);
  const int64_t now = NowMicros();
  std::shared_lock lock(mu_);
  auto it = tokens_.find(digest);
  if (it == tokens_.end()) return std::nullopt;
  TokenState& t = *it->second;
  if (!ConstantTimeEquals(t.digest, digest)) return std::nullopt;
  if (t.expires_us && now >= *t.expires_us) return std::nullopt;
  StoreMax(t.last_used_us, now);
  return Admitted{t.principal, Admitted::Via::kToken, t.id};
}

std::optional<Admitted> Authenticator::WithSession(std::string_view secret) {
  if (!IsSecretOf(secret, SecretKind::kSession)) return std::nullopt;
  const DigestBytes digest = SecretDigestBytes(secret);
  const int64_t now = NowMicros();
  std::shared_lock lock(mu_);
  auto it = sessions_.find(digest);
  if (it == sessions_.end()) return std::nullopt;
  SessionState& s = *it->second;
  if (!ConstantTimeEquals(s.digest, digest)) return std::nullopt;
  if (now >= s.expires_us) return std::nullopt;
  if (now - s.last_seen_us.load(std::memory_order_relaxed) >= Micros(options_.session_idle)) {
    return std::nullopt;
  }
  auto user = users_.find(s.user_id);
  if (user == users_.end() || user->second.disabled) return std::nullopt;
  StoreMax(s.last_seen_us, now);
  const UserState& u = user->second;
  return Admitted{{u.name, u.role, u.pii}, Admitted::Via::kSession, s.id};
}

Status Authenticator::Refresh() {
  MIGSBYU_ASSIGN(auto lease, Connection());
  std::lock_guard write(write_mu_);
  return RefreshLocked(*lease);
}

Status Authenticator::RefreshLocked(pg::Connection& conn) {
  MIGSBYU_ASSIGN(Snapshot snapshot, LoadSnapshot(conn, NowMicros()));
  std::unordered_map<int64_t, UserState> users;
  for (auto& u : snapshot.users) {
    users.emplace(u.id, UserState{std::move(u.name), u.role, u.pii, u.disabled});
  }
  SessionMap sessions;
  for (auto& s : snapshot.sessions) {
    auto state = std::make_shared<SessionState>();
    state->id = s.id;
    state->user_id = s.user_id;
    state->digest = DigestFromHex(s.digest);
    state->expires_us = s.expires_us;
    state->last_seen_us = s.last_seen_us;
    state->written_us = s.last_seen_us;
    const DigestBytes key = state->digest;
    sessions.emplace(key, std::move(state));
  }
  TokenMap tokens;
  for (auto& t : snapshot.tokens) {
    auto state = std::make_shared<TokenState>();
    state->id = t.id;
    state->digest = DigestFromHex(t.digest);
    state->principal = {"token:" + t.name, t.role, t.pii};
    state->expires_us = t.expires_us;
    state->last_used_us = t.last_used_us.value_or(0);
    state->written_us = t.last_used_us.value_or(0);
    const DigestBytes key = state->digest;
    tokens.emplace(key, std::move(state));
  }
  std::unique_lock lock(mu_);
  // Activity this process saw and has not written back yet outlives the reload.
  for (auto& [digest, state] : sessions) {
    if (auto old = sessions_.find(digest); old != sessions_.end()) {
      StoreMax(state->last_seen_us, old->second->last_seen_us.load());
      StoreMax(state->written_us, old->second->written_us.load());
    }
  }
  for (auto& [digest, state] : tokens) {
    if (auto old = tokens_.find(digest); old != tokens_.end()) {
      StoreMax(state->last_used_us, old->second->last_used_us.load());
      StoreMax(state->written_us, old->second->written_us.load());
    }
  }
  users_.swap(users);
  sessions_.swap(sessions);
  tokens_.swap(tokens);
  generation_ = snapshot.generation;
  return OkStatus();
}

template <typename Fn>
auto Authenticator::WriteThrough(Fn&& fn) -> decltype(fn(std::declval<pg::Connection&>())) {
  MIGSBYU_ASSIGN(auto lease, Connection());
  auto result = fn(*lease);
  if (!result.ok()) return result;
  std::lock_guard write(write_mu_);
  if (auto refreshed = RefreshLocked(*lease); !refreshed.ok()) {
    // The change is committed; the poll will load it. Until then the cache lags, so say so.
    MIGSBYU_LOG_WARN("auth: reload after a change failed: {}", refreshed.error().ToString());
    return refreshed.error();
  }
  return result;
}

Result<Authenticator::SignedIn> Authenticator::SignIn(std::string_view user,
                                                      std::string_view password,
                                                      const std::string& peer) {
  MIGSBYU_TRY(limiter_.Admit(user, peer, NowMicros()));
  const std::string name(user);
  std::optional<LoginRecord> record;
  if (CheckName(name).ok()) {
    MIGSBYU_ASSIGN(auto lease, Connection());
    MIGSBYU_ASSIGN(record, FindLogin(*lease, name));
  }
  bool match = false;
  if (record && !record->user.disabled) {
    MIGSBYU_ASSIGN(match, hasher_.Verify(password, record->password_hash));
  } else {
    MIGSBYU_ASSIGN(match, hasher_.VerifyNobody(password));
  }
  if (!match) {
    limiter_.RecordFailure(user, NowMicros());
    return Error::Unauthenticated(kBadCredentials);
  }
  limiter_.RecordSuccess(user);
  SignedIn out;
  out.secret = NewSecret(SecretKind::kSession);
  const std::string digest = SecretDigest(out.secret);
  MIGSBYU_ASSIGN(out.session, WriteThrough([&](pg::Connection& c) {
                   return AddSession(c, record->user.id, digest, NowMicros(),
                                     Micros(options_.session_lifetime), peer);
                 }));
  out.principal = {record->user.name, record->user.role, record->user.pii};
  return out;
}

Status Authenticator::SignOut(std::string_view secret) {
  if (!IsSecretOf(secret, SecretKind::kSession)) return OkStatus();
  const std::string digest = SecretDigest(secret);
  {
    std::shared_lock lock(mu_);
    if (!sessions_.count(DigestFromHex(digest))) return OkStatus();
  }
  auto ended = WriteThrough(
      [&](pg::Connection& c) { return RevokeSessionWithDigest(c, digest, NowMicros()); });
  if (!ended.ok() && ended.error().code() != ErrorCode::kNotFound) return ended.error();
  return OkStatus();
}

Result<User> Authenticator::AddUser(const NewUser& user) {
  return WriteThrough([&](pg::Connection& c) { return auth::AddUser(c, hasher_, user); });
}

Result<User> Authenticator::ChangeUser(const std::string& name, const UserChange& change) {
  return WriteThrough(
      [&](pg::Connection& c) { return auth::ChangeUser(c, hasher_, name, change, NowMicros()); });
}

Result<std::vector<User>> Authenticator::Users() {
  MIGSBYU_ASSIGN(auto lease, Connection());
  return ListUsers(*lease);
}

Result<CreatedToken> Authenticator::AddToken(const NewToken& token) {
  return WriteThrough([&](pg::Connection& c) { return auth::AddToken(c, token, NowMicros()); });
}

Status Authenticator::RevokeToken(int64_t id) {
  return WriteThrough([&](pg::Connection& c) { return auth::RevokeToken(c, id, NowMicros()); });
}

Result<std::vector<Token>> Authenticator::Tokens(bool include_revoked) {
  MIGSBYU_TRY(WriteActivity());  // so that last_used_at is current
  MIGSBYU_ASSIGN(auto lease, Connection());
  return ListTokens(*lease, include_revoked);
}

Result<std::vector<Session>> Authenticator::Sessions() {
  MIGSBYU_TRY(WriteActivity());
  MIGSBYU_ASSIGN(auto lease, Connection());
  MIGSBYU_ASSIGN(auto all, ListSessions(*lease, NowMicros()));
  // Those still admitted: not idle either.
  std::vector<Session> live;
  const int64_t now = NowMicros();
  for (auto& s : all) {
    if (now - s.last_seen_us < Micros(options_.session_idle)) live.push_back(std::move(s));
  }
  return live;
}

Status Authenticator::RevokeSession(int64_t id) {
  return WriteThrough([&](pg::Connection& c) { return auth::RevokeSession(c, id, NowMicros()); });
}

Status Authenticator::WriteActivity() {
  std::vector<std::pair<int64_t, int64_t>> sessions;
  std::vector<std::pair<int64_t, int64_t>> tokens;
  {
    std::shared_lock lock(mu_);
    for (const auto& [digest, s] : sessions_) {
      if (int64_t seen = s->last_seen_us.load(); seen > s->written_us.load()) {
        sessions.emplace_back(s->id, seen);
      }
    }
    for (const auto& [digest, t] : tokens_) {
      if (int64_t used = t->last_used_us.load(); used > t->written_us.load()) {
        tokens.emplace_back(t->id, used);
      }
    }
  }
  if (sessions.empty() && tokens.empty()) return OkStatus();
  MIGSBYU_ASSIGN(auto lease, Connection());
  MIGSBYU_TRY(RecordActivity(*lease, sessions, tokens));
  std::shared_lock lock(mu_);
  for (const auto& [digest, s] : sessions_) {
    for (const auto& [id, seen] : sessions) {
      if (s->id == id) StoreMax(s->written_us, seen);
    }
  }
  for (const auto& [digest, t] : tokens_) {
    for (const auto& [id, used] : tokens) {
      if (t->id == id) StoreMax(t->written_us, used);
    }
  }
  return OkStatus();
}

void Authenticator::Poll(std::stop_token stop) {
  // A connection of its own: sign-ins and admin changes hold the pool's while they hash, and the
  // poll must not wait behind them.
  std::optional<pg::Connection> conn;
  std::mutex mu;
  std::condition_variable_any cv;
  auto next_activity = std::chrono::steady_clock::now() + options_.activity_interval;
  auto next_purge = std::chrono::steady_clock::now();
  bool failing = false;
  while (!stop.stop_requested()) {
    {
      std::unique_lock lock(mu);
      cv.wait_for(lock, stop, options_.poll_interval, [] { return false; });
    }
    if (stop.stop_requested()) break;
    Status polled = [&]() -> Status {
      if (!conn || conn->IsBroken()) {
        conn.reset();
        MIGSBYU_ASSIGN(auto opened, pg::Connection::Open(conninfo_));
        conn.emplace(std::move(opened));
      }
      MIGSBYU_ASSIGN(int64_t generation, CurrentGeneration(*conn));
      if (generation != generation_.load()) {
        std::lock_guard write(write_mu_);
        MIGSBYU_TRY(RefreshLocked(*conn));
      }
      return OkStatus();
    }();
    if (std::chrono::steady_clock::now() >= next_activity) {
      next_activity = std::chrono::steady_clock::now() + options_.activity_interval;
      if (polled.ok()) polled = WriteActivity();
    }
    if (polled.ok() && std::chrono::steady_clock::now() >= next_purge) {
      // Ended sessions are kept a day (for the record), then go: the table stays small.
      next_purge = std::chrono::steady_clock::now() + std::chrono::hours(1);
      auto purged = PurgeSessions(*conn, NowMicros() - int64_t{86400} * 1000000);
      if (!purged.ok()) polled = purged.error();
    }
    if (!polled.ok() && !failing) {
      MIGSBYU_LOG_WARN("auth: cannot read sign-in changes (retrying): {}",
                       polled.error().ToString());
    } else if (polled.ok() && failing) {
      MIGSBYU_LOG_INFO("auth: reading sign-in changes again");
    }
    failing = !polled.ok();
  }
}

}  // namespace migsbyu::auth
