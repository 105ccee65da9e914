// RequestPolicy: what every request must satisfy before it is routed, on both listeners.
//
// The checks, in order, each with the status of its refusal:
//   1. Forwarded headers: only when the connection comes from a configured proxy (--behind-proxy)
//      are X-Forwarded-For (the client: the rightmost address that is not a proxy's),
//      X-Forwarded-Proto and X-Forwarded-Host believed; from anyone else they are ignored. A
//      proxy's malformed X-Forwarded-* is 400.
//   2. Host (400, 421): HTTP/1.1 requires exactly one Host (400 without, or with several). The
//      host (the target's authority for an absolute-form target, else Host, or a proxy's
//      X-Forwarded-Host) must be one this listener answers to: its bound address with its port;
//      for a loopback or wildcard bind also localhost, 127.0.0.1 and [::1]; and every --public-host
//      (NAME, matching NAME and NAME:<port>, or NAME:PORT, matching exactly). Anything else is 421
//      before routing: a page of another name that DNS rebinding pointed at this machine reaches
//      nothing. The port may be left out when it is the scheme's default (80, 443).
//   3. Origin (403): a request carrying Origin is refused unless the origin is the server's own
//      (scheme://host[:port] of this request, after 1. and 2.) or one of --cors-origin. Browsers
//      send Origin on every cross-origin request and on every same-origin one but GET and HEAD, so
//      a foreign page can neither write (a form or a text/plain POST needs no CORS preflight) nor
//      read through a victim's browser.
//   4. CORS: none by default. For an origin of --cors-origin, a preflight (OPTIONS with
//      Access-Control-Request-Method) is answered 204 with the allowed methods and headers, and
//      every answer carries Access-Control-Allow-Origin for it (response_writer.h). No
//      credentials are allowed cross-origin (no Access-Control-Allow-Credentials): a cross-origin
//      script uses a bearer token.
//   5. Content type (415): a request other than GET, HEAD and OPTIONS that carries a body, or
//      declares a Content-Type at all, must declare application/json (parameters such as charset
//      allowed). A body-less write (DELETE /students/{id}, POST /simulation/stop) needs none.
// Cost: a few lookups in the parsed headers and comparisons with short lists, per request.
//
// Threading: built once before the server starts; Check is const and thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "portal/http_parser.h"
#include "portal/refusals.h"
#include "portal/router.h"

namespace migsbyu::portal {

// What a listener is: how clients may name it.
struct ListenerIdentity {
  std::string host;      // as configured ("127.0.0.1", "localhost", "0.0.0.0", "::")
  std::string bound_ip;  // canonical
  int port = 0;
  bool loopback = false;
  bool tls = false;
};

struct PolicyOptions {
  std::vector<std::string> public_hosts;     // NAME or NAME:PORT
  std::vector<std::string> cors_origins;     // scheme://host[:port]
  std::vector<std::string> trusted_proxies;  // IP addresses
};

class RequestPolicy {
 public:
  // kInvalidArgument naming the setting when a public host, an origin or a proxy address is
  // malformed.
  static Result<RequestPolicy> Make(const PolicyOptions& options,
                                    const std::vector<ListenerIdentity>& listeners);

  struct Verdict {
    int status = 0;  // not 0: refuse with this status and `detail`
    std::string detail;
    Refusal kind = Refusal::kHost;  // of a refusal
    std::string peer;               // the client's address (a proxy's X-Forwarded-For, if trusted)
    std::string cors_origin;        // an allowed cross origin: answers carry it
    bool preflight = false;         // a CORS preflight to answer with PreflightResponse()
  };

  // The verdict on `request`, received on listener number `listener` (as given to Make) from
  // `socket_peer` (canonical).
  Verdict Check(const http::ParsedRequest& request, size_t listener,
                const std::string& socket_peer) const;

  // The answer to an admitted preflight: 204 with the allowed methods and headers.
  static Response PreflightResponse();

  // True if the connection comes from a configured proxy (its per-address limits do not apply).
  bool IsTrustedProxy(const std::string& socket_peer) const;

 private:
  struct Listener {
    std::vector<std::string> hosts;  // lower case, with and without the port where allowed
    bool tls = false;
  };
  std::vector<Listener> listeners_;
  std::vector<std::string> cors_origins_;  // normalized
  std::vector<std::string> proxies_;       // canonical
};

// "HTTPS://Example.org:443" -> "https://example.org"; nullopt if not scheme://host[:port] with
// scheme http or https.
std::optional<std::string> NormalizeOrigin(std::string_view origin);

}  // namespace migsbyu::portal
