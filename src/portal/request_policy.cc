#include "portal/request_policy.h"

#include <algorithm>
#include <charconv>

#include "portal/listener.h"

namespace migsbyu::portal {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// For a message: what the client sent, cut short (the parser has refused control characters).
std::string Quoted(std::string_view s) {
  return "'" + std::string(s.substr(0, 100)) + (s.size() > 100 ? "…'" : "'");
}

bool IsPort(std::string_view s) {
  int port = -1;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), port);
  return !s.empty() && ec == std::errc() && end == s.data() + s.size() && port >= 0 &&
         port <= 65535;
}

// Splits "name", "name:port", "[v6]" or "[v6]:port"; false if malformed. `name` keeps brackets.
bool SplitHostPort(std::string_view authority, std::string_view* name, std::string_view* port) {
  *port = {};
  if (authority.starts_with('[')) {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return false;
    *name = authority.substr(0, close + 1);
    std::string_view rest = authority.substr(close + 1);
    if (rest.empty()) return true;
    if (rest.front() != ':') return false;
    *port = rest.substr(1);
    return IsPort(*port);
  }
  const size_t colon = authority.rfind(':');
  *name = authority.substr(0, colon);
  if (colon != std::string_view::npos) {
    *port = authority.substr(colon + 1);
    if (!IsPort(*port)) return false;
  }
  return !name->empty();
}

// A host name or an IPv4 address (letters, digits, '-', '.'), or a bracketed IPv6 address.
bool IsHostName(std::string_view name) {
  if (name.starts_with('[')) return CanonicalIp(name).has_value();
  if (name.empty() || name.size() > 253) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.';
  });
}

// "127.0.0.1" -> "127.0.0.1", "::1" -> "[::1]": as a host appears in Host.
std::string AsHostName(const std::string& host) {
  if (host.find(':') != std::string::npos) return "[" + host + "]";
  return host;
}

bool IsWildcard(const std::string& ip) { return ip == "0.0.0.0" || ip == "::"; }

const std::string* FirstHeader(const http::ParsedRequest& r, const char* name, size_t* count) {
  auto [first, last] = r.headers.equal_range(name);
  *count = static_cast<size_t>(std::distance(first, last));
  return first == last ? nullptr : &first->second;
}

// The authority of an absolute-form target ("http://host:port/path"), or nullopt.
std::optional<std::string_view> TargetAuthority(std::string_view target) {
  if (target.starts_with('/') || target == "*") return std::nullopt;
  const size_t scheme_end = target.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  std::string_view rest = target.substr(scheme_end + 3);
  return rest.substr(0, std::min(rest.find_first_of("/?"), rest.size()));
}

bool IsJson(std::string_view content_type) {
  std::string_view media = Trim(content_type.substr(0, content_type.find(';')));
  constexpr std::string_view kJson = "application/json";
  return media.size() == kJson.size() &&
         std::equal(media.begin(), media.end(), kJson.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == b;
         });
}

}  // namespace

std::optional<std::string> NormalizeOrigin(std::string_view origin) {
  const std::string lower = Lower(Trim(origin));
  std::string_view s = lower;
  std::string_view scheme;
  if (s.starts_with("http://")) {
    scheme = "http";
  } else if (s.starts_with("https://")) {
    scheme = "https";
  } else {
    return std::nullopt;
  }
  std::string_view authority = s.substr(scheme.size() + 3);
  std::string_view name, port;
  if (authority.find_first_of("/?#@") != std::string_view::npos ||
      !SplitHostPort(authority, &name, &port) || !IsHostName(name)) {
    return std::nullopt;
  }
  std::string out = std::string(scheme) + "://" + std::string(name);
  const bool default_port =
      (scheme == "http" && port == "80") || (scheme == "https" && port == "443");
  if (!port.empty() && !default_port) out += ":" + std::string(port);
  return out;
}

Result<RequestPolicy> RequestPolicy::Make(const PolicyOptions& options,
                                          const std::vector<ListenerIdentity>& listeners) {
  RequestPolicy policy;
  for (const auto& proxy : options.trusted_proxies) {
    auto ip = CanonicalIp(proxy);
    if (!ip) return Error::InvalidArgument("--behind-proxy '" + proxy + "' is not an IP address");
    policy.proxies_.push_back(*ip);
  }
  for (const auto& origin : options.cors_origins) {
    auto normal = NormalizeOrigin(origin);
    if (!normal) {
      return Error::InvalidArgument("--cors-origin '" + origin +
                                    "' is not scheme://host[:port] with http or https");
    }
    policy.cors_origins_.push_back(*normal);
  }
  for (const auto& l : listeners) {
    Listener out;
    out.tls = l.tls;
    const std::string port = std::to_string(l.port);
    const bool default_port = l.port == (l.tls ? 443 : 80);
    auto add = [&](const std::string& name) {
      out.hosts.push_back(Lower(name) + ":" + port);
      if (default_port) out.hosts.push_back(Lower(name));
    };
    std::vector<std::string> names;
    if (!l.host.empty() && !IsWildcard(l.host)) add(AsHostName(l.host));
    if (!IsWildcard(l.bound_ip)) add(AsHostName(l.bound_ip));
    if (l.loopback || IsWildcard(l.bound_ip)) {
      for (const char* name : {"localhost", "127.0.0.1", "[::1]"}) add(name);
    }
    for (const auto& h : options.public_hosts) {
      std::string_view name, host_port;
      if (!SplitHostPort(h, &name, &host_port) || !IsHostName(name)) {
        return Error::InvalidArgument("--public-host '" + h + "' is not NAME or NAME:PORT");
      }
      if (host_port.empty()) {
        out.hosts.push_back(Lower(name));
        out.hosts.push_back(Lower(name) + ":" + port);
      } else {
        out.hosts.push_back(Lower(h));
      }
    }
    std::sort(out.hosts.begin(), out.hosts.end());
    out.hosts.erase(std::unique(out.hosts.begin(), out.hosts.end()), out.hosts.end());
    policy.listeners_.push_back(std::move(out));
  }
  return policy;
}

bool RequestPolicy::IsTrustedProxy(const std::string& socket_peer) const {
  return std::find(proxies_.begin(), proxies_.end(), socket_peer) != proxies_.end();
}

RequestPolicy::Verdict RequestPolicy::Check(const http::ParsedRequest& request, size_t listener,
                                            const std::string& socket_peer) const {
  Verdict v;
  auto refuse = [&v](int status, std::string detail, Refusal kind = Refusal::kHost) -> Verdict& {
    v.status = status;
    v.kind = kind;
    v.detail = std::move(detail);
    return v;
  };
  const Listener& l = listeners_[listener];
  v.peer = socket_peer;
  bool tls = l.tls;
  size_t count = 0;

  // 1. What a trusted proxy says.
  const std::string* forwarded_host = nullptr;
  if (!proxies_.empty() && IsTrustedProxy(socket_peer)) {
    if (const std::string* xff = FirstHeader(request, "x-forwarded-for", &count)) {
      // "client, proxy1, proxy2": the rightmost address that is not a proxy's is the client.
      std::string_view list = *xff;
      std::string client;
      while (!list.empty()) {
        const size_t comma = list.rfind(',');
        std::string_view item =
            Trim(comma == std::string_view::npos ? list : list.substr(comma + 1));
        list = comma == std::string_view::npos ? std::string_view() : list.substr(0, comma);
        auto ip = CanonicalIp(item);
        if (!ip)
          return refuse(400, "X-Forwarded-For " + Quoted(*xff) + " is not a list of addresses",
                        Refusal::kForwarded);
        client = *ip;
        if (!IsTrustedProxy(client)) break;
      }
      if (!client.empty()) v.peer = client;
    }
    if (const std::string* proto = FirstHeader(request, "x-forwarded-proto", &count)) {
      const std::string p = Lower(Trim(*proto));
      if (p != "http" && p != "https") {
        return refuse(400, "X-Forwarded-Proto " + Quoted(*proto) + " is not http or https",
                      Refusal::kForwarded);
      }
      tls = p == "https";
    }
    forwarded_host = FirstHeader(request, "x-forwarded-host", &count);
  }

  // 2. Host.
  const std::string* host_header = FirstHeader(request, "host", &count);
  if (count > 1) return refuse(400, "Several Host headers");
  if (host_header == nullptr && request.minor_version == 1) {
    return refuse(400, "An HTTP/1.1 request needs a Host header");
  }
  std::optional<std::string> host;
  if (forwarded_host != nullptr) {
    host = Lower(Trim(std::string_view(*forwarded_host).substr(0, forwarded_host->find(','))));
  } else if (auto authority = TargetAuthority(request.target)) {
    host = Lower(*authority);
  } else if (host_header != nullptr) {
    host = Lower(*host_header);
  }
  if (host && !std::binary_search(l.hosts.begin(), l.hosts.end(), *host)) {
    return refuse(421, "Host " + Quoted(*host) +
                           " is not a name of this server (a --public-host may add it)");
  }

  // 3, 4. Origin and CORS.
  const std::string* origin = FirstHeader(request, "origin", &count);
  if (count > 1) return refuse(400, "Several Origin headers", Refusal::kOrigin);
  if (origin != nullptr) {
    auto normal = NormalizeOrigin(*origin);
    const bool allowed_cross = normal && std::find(cors_origins_.begin(), cors_origins_.end(),
                                                   *normal) != cors_origins_.end();
    const bool own =
        normal && host && NormalizeOrigin((tls ? "https://" : "http://") + *host) == normal;
    if (!allowed_cross && !own) {
      return refuse(
          403,
          "Origin " + Quoted(*origin) + " may not call this server (a --cors-origin may allow it)",
          Refusal::kOrigin);
    }
    if (allowed_cross && !own) v.cors_origin = *origin;
    if (request.method == "OPTIONS" && request.headers.contains("access-control-request-method")) {
      v.preflight = true;
      return v;
    }
  }

  // 5. Content type.
  const std::string& m = request.method;
  if (m != "GET" && m != "HEAD" && m != "OPTIONS") {
    const std::string* type = FirstHeader(request, "content-type", &count);
    if (count > 1) return refuse(400, "Several Content-Type headers", Refusal::kContentType);
    if ((type != nullptr || !request.body.empty()) && (type == nullptr || !IsJson(*type))) {
      return refuse(415,
                    "Content-Type must be application/json" +
                        (type ? " (got " + Quoted(*type) + ")" : std::string()),
                    Refusal::kContentType);
    }
  }
  return v;
}

Response RequestPolicy::PreflightResponse() {
  Response r;
  r.status = 204;
  r.content_type = "text/plain; charset=utf-8";
  r.headers = {{"Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, PATCH, DELETE"},
               {"Access-Control-Allow-Headers", "Content-Type, Authorization"},
               {"Access-Control-Max-Age", "600"}};
  return r;
}

}  // namespace migsbyu::portal
