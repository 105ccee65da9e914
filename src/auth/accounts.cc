#include "auth/accounts.h"

#include <cstdlib>

#include "auth/secret.h"

namespace migsbyu::auth {
namespace {

// A timestamptz column as microseconds since the epoch, and back from a bigint parameter: exact,
// where to_timestamp(double) would round.
#define MIGSBYU_US(column) "(extract(epoch FROM " column ") * 1000000)::bigint"
#define MIGSBYU_AT(param) "(timestamptz 'epoch' + " param "::bigint * interval '1 microsecond')"

constexpr const char* kUserColumns =
    "u.id, u.name, u.role, u.pii, u.disabled, " MIGSBYU_US("u.created_at");
constexpr int kUserWidth = 6;

constexpr const char* kSessionColumns = "s.id, s.digest, s.user_id, u.name, " MIGSBYU_US(
    "s.created_at") ", " MIGSBYU_US("s.last_seen_at") ", " MIGSBYU_US("s.expires_at") ", s.peer";

constexpr const char* kTokenColumns =
    "t.id, t.name, t.digest, t.role, t.pii, t.created_by, " MIGSBYU_US(
        "t.created_at") ", " MIGSBYU_US("t.expires_at") ", " MIGSBYU_US("t.revoked_at") ", " MIGSBYU_US("t.last_used_at");

int64_t Int(std::string_view text) { return std::strtoll(std::string(text).c_str(), nullptr, 10); }

std::optional<int64_t> OptionalInt(const pg::PgResult& r, int row, int col) {
  if (r.IsNull(row, col)) return std::nullopt;
  return Int(r.Get(row, col));
}

portal::Role RoleAt(const pg::PgResult& r, int row, int col) {
  // The table's CHECK admits only the four names.
  return portal::ParseRole(r.Get(row, col)).value_or(portal::Role::kViewer);
}

User UserAt(const pg::PgResult& r, int row, int col = 0) {
  User u;
  u.id = Int(r.Get(row, col));
  u.name = std::string(r.Get(row, col + 1));
  u.role = RoleAt(r, row, col + 2);
  u.pii = r.Get(row, col + 3) == "t";
  u.disabled = r.Get(row, col + 4) == "t";
  u.created_us = Int(r.Get(row, col + 5));
  return u;
}

Session SessionAt(const pg::PgResult& r, int row) {
  Session s;
  s.id = Int(r.Get(row, 0));
  s.digest = std::string(r.Get(row, 1));
  s.user_id = Int(r.Get(row, 2));
  s.user = std::string(r.Get(row, 3));
  s.created_us = Int(r.Get(row, 4));
  s.last_seen_us = Int(r.Get(row, 5));
  s.expires_us = Int(r.Get(row, 6));
  s.peer = std::string(r.Get(row, 7));
  return s;
}

Token TokenAt(const pg::PgResult& r, int row) {
  Token t;
  t.id = Int(r.Get(row, 0));
  t.name = std::string(r.Get(row, 1));
  t.digest = std::string(r.Get(row, 2));
  t.role = RoleAt(r, row, 3);
  t.pii = r.Get(row, 4) == "t";
  t.created_by = std::string(r.Get(row, 5));
  t.created_us = Int(r.Get(row, 6));
  t.expires_us = OptionalInt(r, row, 7);
  t.revoked_us = OptionalInt(r, row, 8);
  t.last_used_us = OptionalInt(r, row, 9);
  return t;
}

std::optional<std::string> Text(const std::optional<bool>& b) {
  if (!b) return std::nullopt;
  return *b ? "true" : "false";
}

// "{1,2,3}": a bigint[] parameter.
std::string IntArray(const std::vector<std::pair<int64_t, int64_t>>& pairs, bool first) {
  std::string out = "{";
  for (const auto& p : pairs) {
    if (out.size() > 1) out += ",";
    out += std::to_string(first ? p.first : p.second);
  }
  return out + "}";
}

// BEGIN ... COMMIT, rolled back when it goes out of scope uncommitted.
class Transaction {
 public:
  static Result<Transaction> Begin(pg::Connection& conn, const char* begin = "BEGIN") {
    MIGSBYU_TRY(conn.Exec(begin));
    return Transaction(conn);
  }
  Transaction(Transaction&& o) noexcept : conn_(o.conn_) { o.conn_ = nullptr; }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction() {
    if (conn_ != nullptr) (void)conn_->Exec("ROLLBACK");
  }
  Status Commit() {
    pg::Connection* conn = conn_;
    conn_ = nullptr;
    MIGSBYU_TRY(conn->Exec("COMMIT"));
    return OkStatus();
  }

 private:
  explicit Transaction(pg::Connection& conn) : conn_(&conn) {}
  pg::Connection* conn_;
};

}  // namespace

bool DefaultPii(portal::Role role) {
  return role == portal::Role::kAdmin || role == portal::Role::kRegistrar;
}

Status CheckName(std::string_view name, const std::string& field) {
  auto plain = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  bool ok = !name.empty() && name.size() <= 64 && plain(name.front());
  for (char c : name) ok = ok && (plain(c) || c == '.' || c == '_' || c == '-');
  if (!ok) {
    return Error::Validation(
        {{field, "1 to 64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit"}});
  }
  return OkStatus();
}

Result<portal::Role> RoleNamed(std::string_view name, const std::string& field) {
  auto role = portal::ParseRole(name);
  if (!role) return Error::Validation({{field, "one of viewer, analyst, registrar, admin"}});
  return *role;
}

Result<User> AddUser(pg::Connection& conn, PasswordHasher& hasher, const NewUser& user) {
  MIGSBYU_TRY(CheckName(user.name));
  MIGSBYU_TRY(CheckPasswordRules(user.password));
  MIGSBYU_ASSIGN(std::string hash, hasher.Hash(user.password));
  auto r = conn.ExecPrepared(
      std::string("WITH u AS (INSERT INTO migsbyu_auth.users (name, role, pii, password_hash) "
                  "VALUES ($1, $2, $3, $4) RETURNING *) SELECT ") +
          kUserColumns + " FROM u",
      {user.name, std::string(portal::RoleName(user.role)),
       Text(user.pii.value_or(DefaultPii(user.role))), hash});
  if (!r.ok()) {
    if (r.error().code() == ErrorCode::kAlreadyExists) {
      return Error::AlreadyExists("user '" + user.name + "' already exists");
    }
    return r.error();
  }
  return UserAt(*r, 0);
}

Result<User> ChangeUser(pg::Connection& conn, PasswordHasher& hasher, const std::string& name,
                        const UserChange& change, int64_t now_us) {
  std::optional<std::string> hash;
  if (change.password) {
    MIGSBYU_TRY(CheckPasswordRules(*change.password));
    MIGSBYU_ASSIGN(hash, hasher.Hash(*change.password));
  }
  MIGSBYU_ASSIGN(auto tx, Transaction::Begin(conn));
  // Changes to users are serialized, so that two admins demoting each other cannot both pass
  // the check below.
  MIGSBYU_TRY(conn.Exec("LOCK TABLE migsbyu_auth.users IN SHARE ROW EXCLUSIVE MODE"));
  MIGSBYU_ASSIGN(auto before, conn.ExecPrepared("SELECT role, disabled FROM migsbyu_auth.users "
                                                "WHERE name = $1",
                                                {name}));
  std::optional<std::string> role;
  if (change.role) role = std::string(portal::RoleName(*change.role));
  MIGSBYU_ASSIGN(
      auto updated,
      conn.ExecPrepared(
          std::string(
              "WITH u AS (UPDATE migsbyu_auth.users SET role = coalesce($2, role), "
              "pii = coalesce($3::boolean, pii), disabled = coalesce($4::boolean, disabled), "
              "password_hash = coalesce($5::text, password_hash), password_changed_at = "
              "CASE WHEN $5::text IS NULL THEN password_changed_at ELSE now() END "
              "WHERE name = $1 RETURNING *) SELECT ") +
              kUserColumns + " FROM u",
          {name, role, Text(change.pii), Text(change.disabled), hash}));
  if (updated.rows() == 0) return Error::NotFound("no user '" + name + "'");
  User user = UserAt(updated, 0);
  const bool was_admin =
      before.rows() == 1 && before.Get(0, 0) == "admin" && before.Get(0, 1) == "f";
  const bool is_admin = user.role == portal::Role::kAdmin && !user.disabled;
  if (was_admin && !is_admin) {
    MIGSBYU_ASSIGN(auto admins, conn.ExecPrepared("SELECT count(*) FROM migsbyu_auth.users "
                                                  "WHERE role = 'admin' AND NOT disabled",
                                                  {}));
    if (Int(admins.Get(0, 0)) == 0) {
      return Error::Conflict("at least one enabled admin must remain; '" + name + "' is the last");
    }
  }
  if (hash || change.disabled.value_or(false)) {
    MIGSBYU_TRY(conn.ExecPrepared("UPDATE migsbyu_auth.sessions SET revoked_at = " MIGSBYU_AT(
                                      "$2") " WHERE user_id = $1 AND revoked_at IS NULL",
                                  {std::to_string(user.id), std::to_string(now_us)}));
  }
  MIGSBYU_TRY(tx.Commit());
  return user;
}

Result<std::vector<User>> ListUsers(pg::Connection& conn) {
  MIGSBYU_ASSIGN(auto r, conn.ExecPrepared(std::string("SELECT ") + kUserColumns +
                                               " FROM migsbyu_auth.users u ORDER BY u.name",
                                           {}));
  std::vector<User> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(UserAt(r, i));
  return out;
}

Result<bool> AnyUser(pg::Connection& conn) {
  MIGSBYU_ASSIGN(auto r, conn.ExecPrepared("SELECT EXISTS (SELECT 1 FROM migsbyu_auth.users)", {}));
  return r.Get(0, 0) == "t";
}

Result<std::optional<LoginRecord>> FindLogin(pg::Connection& conn, const std::string& name) {
  MIGSBYU_ASSIGN(auto r, conn.ExecPrepared(std::string("SELECT ") + kUserColumns +
                                               ", u.password_hash FROM migsbyu_auth.users u "
                                               "WHERE u.name = $1",
                                           {name}));
  if (r.rows() == 0) return std::optional<LoginRecord>();
  return std::optional<LoginRecord>(LoginRecord{UserAt(r, 0), std::string(r.Get(0, kUserWidth))});
}

Result<Session> AddSession(pg::Connection& conn, int64_t user_id, const std::string& digest,
                           int64_t now_us, int64_t lifetime_us, const std::string& peer) {
  MIGSBYU_ASSIGN(
      auto r,
      conn.ExecPrepared(
          std::string("WITH s AS (INSERT INTO migsbyu_auth.sessions (digest, user_id, created_at, "
                      "last_seen_at, expires_at, peer) VALUES ($1, $2, " MIGSBYU_AT(
                          "$3") ", " MIGSBYU_AT("$3") ", " MIGSBYU_AT("$4") ", $5) RETURNING *) "
                                                                            "SELECT ") +
              kSessionColumns + " FROM s JOIN migsbyu_auth.users u ON u.id = s.user_id",
          {digest, std::to_string(user_id), std::to_string(now_us),
           std::to_string(now_us + lifetime_us), peer}));
  if (r.rows() == 0) return Error::NotFound("no user with id " + std::to_string(user_id));
  return SessionAt(r, 0);
}

Status RevokeSession(pg::Connection& conn, int64_t id, int64_t now_us) {
  MIGSBYU_ASSIGN(auto r,
                 conn.ExecPrepared("UPDATE migsbyu_auth.sessions SET revoked_at = " MIGSBYU_AT(
                                       "$2") " WHERE id = $1 AND revoked_at IS NULL",
                                   {std::to_string(id), std::to_string(now_us)}));
  if (r.AffectedRows() == 0) return Error::NotFound("no live session " + std::to_string(id));
  return OkStatus();
}

Status RevokeSessionWithDigest(pg::Connection& conn, const std::string& digest, int64_t now_us) {
  MIGSBYU_ASSIGN(auto r,
                 conn.ExecPrepared("UPDATE migsbyu_auth.sessions SET revoked_at = " MIGSBYU_AT(
                                       "$2") " WHERE digest = $1 AND revoked_at IS NULL",
                                   {digest, std::to_string(now_us)}));
  if (r.AffectedRows() == 0) return Error::NotFound("no live session with that secret");
  return OkStatus();
}

Result<std::vector<Session>> ListSessions(pg::Connection& conn, int64_t now_us) {
  MIGSBYU_ASSIGN(
      auto r, conn.ExecPrepared(
                  std::string("SELECT ") + kSessionColumns +
                      " FROM migsbyu_auth.sessions s JOIN migsbyu_auth.users u ON "
                      "u.id = s.user_id WHERE s.revoked_at IS NULL AND s.expires_at > " MIGSBYU_AT(
                          "$1") " ORDER BY s.id DESC",
                  {std::to_string(now_us)}));
  std::vector<Session> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(SessionAt(r, i));
  return out;
}

Result<int64_t> PurgeSessions(pg::Connection& conn, int64_t before_us) {
  const std::string ended =
      " FROM migsbyu_auth.sessions WHERE coalesce(revoked_at, expires_at) < " MIGSBYU_AT("$1");
  // Checked first: the DELETE would move the generation (and reload every cache) even when it
  // deletes nothing.
  MIGSBYU_ASSIGN(auto any, conn.ExecPrepared("SELECT EXISTS (SELECT 1" + ended + ")",
                                             {std::to_string(before_us)}));
  if (any.Get(0, 0) != "t") return int64_t{0};
  MIGSBYU_ASSIGN(auto deleted, conn.ExecPrepared("DELETE" + ended, {std::to_string(before_us)}));
  return deleted.AffectedRows();
}

Status RecordActivity(pg::Connection& conn,
                      const std::vector<std::pair<int64_t, int64_t>>& sessions,
                      const std::vector<std::pair<int64_t, int64_t>>& tokens) {
  if (!sessions.empty()) {
    MIGSBYU_TRY(conn.ExecPrepared(
        "UPDATE migsbyu_auth.sessions s SET last_seen_at = greatest(s.last_seen_at, " MIGSBYU_AT(
            "v.t") ") FROM unnest($1::bigint[], $2::bigint[]) AS v(id, t) WHERE s.id = v.id",
        {IntArray(sessions, true), IntArray(sessions, false)}));
  }
  if (!tokens.empty()) {
    MIGSBYU_TRY(conn.ExecPrepared(
        "UPDATE migsbyu_auth.tokens t SET last_used_at = greatest(t.last_used_at, " MIGSBYU_AT(
            "v.t") ") FROM unnest($1::bigint[], $2::bigint[]) AS v(id, t) WHERE t.id = v.id",
        {IntArray(tokens, true), IntArray(tokens, false)}));
  }
  return OkStatus();
}

Result<CreatedToken> AddToken(pg::Connection& conn, const NewToken& token, int64_t now_us) {
  MIGSBYU_TRY(CheckName(token.name));
  if (token.expires_us && *token.expires_us <= now_us) {
    return Error::Validation({{"expires_in_days", "must lie in the future"}});
  }
  CreatedToken out;
  out.secret = NewSecret(SecretKind::kToken);
  std::optional<std::string> expires;
  if (token.expires_us) expires = std::to_string(*token.expires_us);
  auto r = conn.ExecPrepared(
      std::string("WITH t AS (INSERT INTO migsbyu_auth.tokens (name, digest, role, pii, "
                  "created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, " MIGSBYU_AT(
                      "$6") ", " MIGSBYU_AT("$7") ") RETURNING *) SELECT ") +
          kTokenColumns + " FROM t",
      {token.name, SecretDigest(out.secret), std::string(portal::RoleName(token.role)),
       Text(token.pii.value_or(DefaultPii(token.role))), token.created_by, std::to_string(now_us),
       expires});
  if (!r.ok()) {
    if (r.error().code() == ErrorCode::kAlreadyExists) {
      return Error::AlreadyExists("a token named '" + token.name +
                                  "' already exists; revoke it first");
    }
    return r.error();
  }
  out.token = TokenAt(*r, 0);
  return out;
}

Status RevokeToken(pg::Connection& conn, int64_t id, int64_t now_us) {
  MIGSBYU_ASSIGN(auto r,
                 conn.ExecPrepared("UPDATE migsbyu_auth.tokens SET revoked_at = " MIGSBYU_AT(
                                       "$2") " WHERE id = $1 AND revoked_at IS NULL",
                                   {std::to_string(id), std::to_string(now_us)}));
  if (r.AffectedRows() == 0) return Error::NotFound("no live token " + std::to_string(id));
  return OkStatus();
}

Status RevokeTokenNamed(pg::Connection& conn, const std::string& name, int64_t now_us) {
  MIGSBYU_ASSIGN(auto r,
                 conn.ExecPrepared("UPDATE migsbyu_auth.tokens SET revoked_at = " MIGSBYU_AT(
                                       "$2") " WHERE name = $1 AND revoked_at IS NULL",
                                   {name, std::to_string(now_us)}));
  if (r.AffectedRows() == 0) return Error::NotFound("no live token named '" + name + "'");
  return OkStatus();
}

Result<std::vector<Token>> ListTokens(pg::Connection& conn, bool include_revoked) {
  MIGSBYU_ASSIGN(auto r, conn.ExecPrepared(std::string("SELECT ") + kTokenColumns +
                                               " FROM migsbyu_auth.tokens t WHERE $1::boolean OR "
                                               "t.revoked_at IS NULL ORDER BY t.id DESC",
                                           {Text(include_revoked)}));
  std::vector<Token> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(TokenAt(r, i));
  return out;
}

Result<Snapshot> LoadSnapshot(pg::Connection& conn, int64_t now_us) {
  // One snapshot for the generation and the rows, so that a change committed in between is
  // either wholly in it (with its generation) or not at all (and the next poll sees it).
  MIGSBYU_ASSIGN(auto tx,
                 Transaction::Begin(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
  Snapshot s;
  MIGSBYU_ASSIGN(s.generation, CurrentGeneration(conn));
  MIGSBYU_ASSIGN(s.users, ListUsers(conn));
  MIGSBYU_ASSIGN(s.sessions, ListSessions(conn, now_us));
  MIGSBYU_ASSIGN(s.tokens, ListTokens(conn, false));
  MIGSBYU_TRY(tx.Commit());
  return s;
}

Result<int64_t> CurrentGeneration(pg::Connection& conn) {
  MIGSBYU_ASSIGN(auto r, conn.ExecPrepared("SELECT value FROM migsbyu_auth.generation", {}));
  if (r.rows() != 1) return Error::Internal("migsbyu_auth.generation has no row: not migrated?");
  return Int(r.Get(0, 0));
}

}  // namespace migsbyu::auth
