#include "auth/gate.h"

#include <arpa/inet.h>

#include "portal/server.h"

namespace migsbyu::auth {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

portal::Response Refusal(int status, std::string detail) {
  return portal::Response::Json({{"detail", std::move(detail)}}, status);
}

std::string RolesHolding(portal::Permission permission) {
  std::string out;
  for (auto role : {portal::Role::kViewer, portal::Role::kAnalyst, portal::Role::kRegistrar,
                    portal::Role::kAdmin}) {
    if (!portal::RoleHolds(role, permission)) continue;
    out += (out.empty() ? "" : ", ") + std::string(portal::RoleName(role));
  }
  return out;
}

}  // namespace

std::optional<std::string_view> BearerToken(const portal::Request& request) {
  auto it = request.headers.find("authorization");
  if (it == request.headers.end()) return std::nullopt;
  std::string_view value = Trim(it->second);
  // The scheme's name is case-insensitive (RFC 9110, 11.1).
  std::string scheme(value.substr(0, value.find(' ')));
  for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme != "bearer" || scheme.size() == value.size()) return std::string_view();
  return Trim(value.substr(scheme.size()));
}

std::optional<std::string_view> SessionCookie(const portal::Request& request) {
  auto [begin, end] = request.headers.equal_range("cookie");
  for (auto it = begin; it != end; ++it) {
    std::string_view rest = it->second;
    while (!rest.empty()) {
      auto semi = rest.find(';');
      std::string_view pair = Trim(rest.substr(0, semi));
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      auto eq = pair.find('=');
      if (eq == std::string_view::npos || Trim(pair.substr(0, eq)) != kSessionCookie) continue;
      std::string_view value = Trim(pair.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      if (!value.empty()) return value;
    }
  }
  return std::nullopt;
}

std::string SessionCookieValue(std::string_view secret, int64_t max_age_seconds, bool secure) {
  return std::string(kSessionCookie) + "=" + std::string(secret) +
         "; Path=/; Max-Age=" + std::to_string(max_age_seconds) + "; HttpOnly; SameSite=Strict" +
         (secure ? "; Secure" : "");
}

std::string ClearedSessionCookie(bool secure) { return SessionCookieValue("", 0, secure); }

std::optional<Admitted> SignInGate::Identify(const portal::Request& request,
                                             bool* presented) const {
  *presented = false;
  if (auto token = BearerToken(request)) {
    *presented = true;
    return auth_.WithToken(*token);
  }
  if (auto cookie = SessionCookie(request)) {
    *presented = true;
    return auth_.WithSession(*cookie);
  }
  return std::nullopt;
}

portal::Gate::Admission SignInGate::Admit(const portal::Request& request,
                                          portal::Permission permission) const {
  bool presented = false;
  auto admitted = Identify(request, &presented);
  if (permission == portal::Permission::kPublic) {
    return {admitted ? std::optional(admitted->principal) : std::nullopt, std::nullopt};
  }
  if (!admitted) {
    portal::Response r =
        Refusal(401,
                "Not signed in: sign in (POST /auth/login) or send Authorization: Bearer <token>; "
                "a session or token that has ended or was revoked no longer counts");
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"migsbyu\"");
    if (presented && !BearerToken(request)) {
      r.headers.emplace_back("Set-Cookie", ClearedSessionCookie(secure_));
    }
    return {std::nullopt, std::move(r)};
  }
  const portal::Principal& who = admitted->principal;
  if (!portal::RoleHolds(who.role, permission)) {
    return {std::nullopt,
            Refusal(403, "Forbidden: this needs the " +
                             std::string(portal::PermissionName(permission)) +
                             " permission (roles: " + RolesHolding(permission) + "); " + who.user +
                             " has the " + std::string(portal::RoleName(who.role)) + " role")};
  }
  return {who, std::nullopt};
}

portal::Principal LocalPrincipal() { return {"local", portal::Role::kAdmin, true}; }

portal::Gate::Admission OpenGate::Admit(const portal::Request&, portal::Permission) const {
  return {LocalPrincipal(), std::nullopt};
}

Status CheckLoopbackOnly(const std::vector<std::string>& addresses) {
  for (const auto& address : addresses) {
    if (address.empty()) continue;
    MIGSBYU_ASSIGN(auto host_port, portal::ParseAddress(address));
    const std::string& host = host_port.first;
    in_addr v4{};
    in6_addr v6{};
    bool loopback = host == "localhost";
    if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) {
      loopback = (ntohl(v4.s_addr) >> 24) == 127;
    } else if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
      loopback = IN6_IS_ADDR_LOOPBACK(&v6);
    }
    if (!loopback) {
      return Error::InvalidArgument("--no-auth is allowed only on loopback addresses, and " +
                                    address + " is not one");
    }
  }
  return OkStatus();
}

}  // namespace migsbyu::auth
