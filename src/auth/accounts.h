// auth accounts: the sign-in tables in PostgreSQL (users, sessions, tokens in the private schema
// migsbyu_auth; oltp/migrations.cc, migration 2) and every change made to them, by the portal's
// admin routes and by `migsbyu user` / `migsbyu token` alike, so both apply the same rules.
//
// Users have a name (^[a-z0-9][a-z0-9._-]{0,63}$), a role, the pii grant (may see address and
// date of birth unmasked) and an Argon2id password hash that never leaves this file's SQL except
// to be verified. Sessions and tokens are stored as the digests of their secrets (secret.h); a
// token's secret is returned once, by AddToken, and never again. Times are microseconds since the
// Unix epoch, given by the caller (its clock), so tests can move time.
//
// Rules kept here: a name is taken once; a live token's name is unique (a revoked one's may be
// reused); at least one enabled admin always remains (a change that would leave none is
// kConflict); a new password or disabling a user revokes that user's sessions.
//
// Threading: every function uses only the caller's connection (REQUIRES: not shared while the
// call runs). Functions that change several rows do so in one transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/password.h"
#include "common/result.h"
#include "pg/connection.h"
#include "portal/router.h"

namespace migsbyu::auth {

struct User {
  int64_t id = 0;
  std::string name;
  portal::Role role = portal::Role::kViewer;
  bool pii = false;
  bool disabled = false;
  int64_t created_us = 0;
};

struct Session {
  int64_t id = 0;  // what admins see and revoke by; not the secret
  std::string digest;
  int64_t user_id = 0;
  std::string user;  // the user's name
  int64_t created_us = 0;
  int64_t last_seen_us = 0;  // as last written back (the serving process knows a later one)
  int64_t expires_us = 0;    // the absolute end, whatever the activity
  std::string peer;          // the client address that signed in
};

struct Token {
  int64_t id = 0;
  std::string name;
  std::string digest;
  portal::Role role = portal::Role::kViewer;
  bool pii = false;
  std::string created_by;
  int64_t created_us = 0;
  std::optional<int64_t> expires_us;
  std::optional<int64_t> revoked_us;
  std::optional<int64_t> last_used_us;
};

// The pii grant a role gets unless told otherwise: admin and registrar keep records and need the
// personal fields; analyst and viewer work on aggregates and listings and do not.
bool DefaultPii(portal::Role role);

// A user or token name: 1 to 64 of a-z 0-9 . _ -, starting with a letter or digit. kValidation on
// `field` otherwise.
Status CheckName(std::string_view name, const std::string& field = "name");

// "admin" -> Role; kValidation on `field` naming the four roles otherwise.
Result<portal::Role> RoleNamed(std::string_view name, const std::string& field = "role");

struct NewUser {
  std::string name;
  portal::Role role = portal::Role::kViewer;
  std::optional<bool> pii;  // default: DefaultPii(role)
  std::string password;     // checked against CheckPasswordRules
};
// kValidation (name, password), kAlreadyExists when the name is taken.
Result<User> AddUser(pg::Connection& conn, PasswordHasher& hasher, const NewUser& user);

struct UserChange {
  std::optional<portal::Role> role;
  std::optional<bool> pii;
  std::optional<bool> disabled;
  std::optional<std::string> password;
};
// Applies the given changes to the user `name`. kNotFound; kValidation for a bad password;
// kConflict when no enabled admin would remain. `now_us` stamps the sessions it revokes.
Result<User> ChangeUser(pg::Connection& conn, PasswordHasher& hasher, const std::string& name,
                        const UserChange& change, int64_t now_us);

Result<std::vector<User>> ListUsers(pg::Connection& conn);
Result<bool> AnyUser(pg::Connection& conn);

// For sign-in only: the user named `name` and their stored hash, or nullopt if there is none.
struct LoginRecord {
  User user;
  std::string password_hash;
};
Result<std::optional<LoginRecord>> FindLogin(pg::Connection& conn, const std::string& name);

// A session of `user_id` whose secret has `digest`, ending at now + lifetime.
Result<Session> AddSession(pg::Connection& conn, int64_t user_id, const std::string& digest,
                           int64_t now_us, int64_t lifetime_us, const std::string& peer);
// kNotFound unless the session exists and is not revoked yet.
Status RevokeSession(pg::Connection& conn, int64_t id, int64_t now_us);
Status RevokeSessionWithDigest(pg::Connection& conn, const std::string& digest, int64_t now_us);
// Sessions neither revoked nor past their absolute end at `now_us`, newest first.
Result<std::vector<Session>> ListSessions(pg::Connection& conn, int64_t now_us);

// Deletes the sessions that ended (revoked, or past their absolute end) before `before_us`; the
// number deleted. Nothing is written when there is nothing to delete.
Result<int64_t> PurgeSessions(pg::Connection& conn, int64_t before_us);

// Writes the last-seen times of sessions and last-used times of tokens ((id, time) pairs); never
// moves a time back.
Status RecordActivity(pg::Connection& conn,
                      const std::vector<std::pair<int64_t, int64_t>>& sessions,
                      const std::vector<std::pair<int64_t, int64_t>>& tokens);

struct NewToken {
  std::string name;
  portal::Role role = portal::Role::kViewer;
  std::optional<bool> pii;  // default: DefaultPii(role)
  std::optional<int64_t> expires_us;
  std::string created_by;  // the admin, or "shell:<unix user>"
};
struct CreatedToken {
  Token token;
  std::string secret;  // shown once; only its digest is stored
};
// kValidation (name), kAlreadyExists when a live token has that name.
Result<CreatedToken> AddToken(pg::Connection& conn, const NewToken& token, int64_t now_us);
// kNotFound unless a live (not revoked) token has that id / name.
Status RevokeToken(pg::Connection& conn, int64_t id, int64_t now_us);
Status RevokeTokenNamed(pg::Connection& conn, const std::string& name, int64_t now_us);
// Every token, newest first; revoked ones too when `include_revoked`.
Result<std::vector<Token>> ListTokens(pg::Connection& conn, bool include_revoked);

// Everything a serving process needs to admit requests, read in one snapshot: the generation
// (migrations.cc: it moves with every change that can refuse a credential), every user, the
// sessions not revoked and not past their absolute end, the tokens not revoked.
struct Snapshot {
  int64_t generation = 0;
  std::vector<User> users;
  std::vector<Session> sessions;
  std::vector<Token> tokens;
};
Result<Snapshot> LoadSnapshot(pg::Connection& conn, int64_t now_us);
Result<int64_t> CurrentGeneration(pg::Connection& conn);

}  // namespace migsbyu::auth
