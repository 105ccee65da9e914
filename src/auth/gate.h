// The portal::Gate implementations `migsbyu serve` installs, and how a request carries its
// credentials.
//
// Credentials, in this order:
//   - `Authorization: Bearer mgt_...`: a token (scripts). Any other Authorization value is a bad
//     credential, not an absent one;
//   - the cookie `migsbyu_session=mgs_...`: a browser session (set by POST /auth/login,
//     HttpOnly; SameSite=Strict; Path=/; Secure under TLS).
// SignInGate admits a request to a route whose permission its principal's role holds
// (portal::RoleHolds). Otherwise it answers, before the route runs (so it cannot say whether a
// record exists):
//   401 {"detail": "Not signed in: ..."} with WWW-Authenticate: Bearer, when there is no
//       credential or it is malformed, unknown, revoked or expired (one message for all: the
//       answer does not tell a guessed token from an expired one); a dead session cookie is
//       cleared;
//   403 {"detail": "Forbidden: ..."} naming the permission and the role, when the role lacks it.
// Public routes are admitted with or without a credential (with its principal when it is valid).
//
// OpenGate is `migsbyu serve --no-auth`: every request acts as LocalPrincipal(), user "local"
// with the admin role and the pii grant, so the prototype's client works without credentials.
// `serve` allows it only when both addresses are loopback.
//
// Threading: Admit is called on the event loops concurrently; it never blocks.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/authenticator.h"
#include "portal/router.h"

namespace migsbyu::auth {

inline constexpr std::string_view kSessionCookie = "migsbyu_session";

// The bearer token of `request`: nullopt without an Authorization header, "" when the header is
// not a bearer token.
std::optional<std::string_view> BearerToken(const portal::Request& request);
// The value of the session cookie, if the request carries one.
std::optional<std::string_view> SessionCookie(const portal::Request& request);

// Set-Cookie values: the session's (expiring with it) and the one that clears it.
std::string SessionCookieValue(std::string_view secret, int64_t max_age_seconds, bool secure);
std::string ClearedSessionCookie(bool secure);

class SignInGate : public portal::Gate {
 public:
  // `secure_cookie`: the server speaks TLS (or sits behind a TLS proxy); cookies it clears say
  // Secure. REQUIRES: `auth` outlives the gate.
  SignInGate(Authenticator& auth, bool secure_cookie) : auth_(auth), secure_(secure_cookie) {}
  Admission Admit(const portal::Request& request, portal::Permission permission) const override;

  // Who the request's credential admits, if anyone (no permission check).
  std::optional<Admitted> Identify(const portal::Request& request, bool* presented) const;

 private:
  Authenticator& auth_;
  const bool secure_;
};

// The principal of every request under --no-auth.
portal::Principal LocalPrincipal();

class OpenGate : public portal::Gate {
 public:
  Admission Admit(const portal::Request& request, portal::Permission permission) const override;
};

// OkStatus if every "host:port" of `addresses` (empty ones skipped) is a loopback address
// (127.0.0.0/8, ::1, localhost), where only this machine's users can reach an OpenGate;
// kInvalidArgument naming the first that is not.
Status CheckLoopbackOnly(const std::vector<std::string>& addresses);

}  // namespace migsbyu::auth
