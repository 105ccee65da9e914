// The sign-in routes, registered on the portal's Router (served at these paths on the API address
// and under /api on the web address).
//
//   POST   /auth/login     public  {"user", "password"} -> 200 Me + "expires_at",
//                                  "idle_timeout_seconds", and Set-Cookie: migsbyu_session=...;
//                                  Path=/; Max-Age=<lifetime>; HttpOnly; SameSite=Strict
//                                  (; Secure under TLS). 401 {"detail": "Invalid user name or
//                                  password"} for any wrong user or password; 429 with
//                                  Retry-After when rate-limited; 422 for a malformed body.
//   POST   /auth/logout    public  ends the cookie's session (if any) and clears the cookie:
//                                  {"ok": true}
//   GET    /auth/me        read    Me: {"user", "role", "pii", "permissions": [...], "via":
//                                  "session" | "token" | "open" (--no-auth)}
//   GET    /auth/users     admin   [User]: {"name", "role", "pii", "disabled", "created_at"}
//   POST   /auth/users     admin   {"name", "role", "password", "pii"?} -> User; 409 if taken
//   PATCH  /auth/users/{name} admin {"role"?, "pii"?, "disabled"?, "password"?} -> User; 409
//                                  when no enabled admin would remain
//   GET    /auth/tokens    admin   [Token]: {"id", "name", "role", "pii", "created_by",
//                                  "created_at", "expires_at", "revoked_at", "last_used_at"};
//                                  ?include_revoked=true lists revoked ones too
//   POST   /auth/tokens    admin   {"name", "role", "pii"?, "expires_in_days"?} -> Token +
//                                  "token": the secret, shown this once
//   DELETE /auth/tokens/{id} admin revokes: {"ok": true}; 404 unless live
//   GET    /auth/sessions  admin   [Session]: {"id", "user", "created_at", "last_seen_at",
//                                  "expires_at", "peer"}: the sessions still admitted
//   DELETE /auth/sessions/{id} admin revokes: {"ok": true}; 404 unless live
// Instants are ISO-8601 in UTC with microseconds; bodies are validated like the REST API's (400
// malformed JSON, 422 one entry per field, unknown fields refused). Also registers the OpenAPI
// security schemes "session" (the cookie) and "bearer".
//
// Threading: handlers run on the server's workers (they may block on the database and Argon2).
#pragma once

#include "auth/authenticator.h"
#include "portal/router.h"

namespace migsbyu::auth {

struct AuthRoutesOptions {
  bool open = false;           // --no-auth: /auth/me says "via": "open"
  bool secure_cookie = false;  // TLS: cookies say Secure
};

// REQUIRES: `auth` outlives the router's use.
void RegisterAuthRoutes(portal::Router& router, Authenticator& auth, AuthRoutesOptions options);

}  // namespace migsbyu::auth
