// Response writing: how the portal's server turns a Response into the bytes of HTTP/1.1.
//
// Every response the server sends, a route's, an error the HTTP layer makes itself, a static
// file's or the head of an event stream, is written here, so that what every response carries is
// decided in one place:
//   - X-Content-Type-Options: nosniff, X-Frame-Options: DENY, Referrer-Policy: no-referrer,
//     Cross-Origin-Resource-Policy: same-origin;
//   - Content-Security-Policy: for HTML (the UI, /docs) kPagePolicy, scripts, styles, images and
//     connections from this origin only, no inline script or style, no framing; for anything
//     else kApiPolicy, which allows nothing at all (a JSON answer opened as a page runs nothing);
//   - Cache-Control: no-store on answers of the route table that set no Cache-Control of their
//     own: they carry personal data (static files set theirs);
//   - Strict-Transport-Security under TLS;
//   - Access-Control-Allow-Origin (with Vary: Origin) only for an origin of the CORS allow-list.
// As the last line of defence against response splitting, a header whose name is not a token,
// whose value holds a control character (CR, LF, NUL, ...; a tab is allowed), or that the writer
// sets itself (Content-Length, Transfer-Encoding, Connection, Date, Content-Type) is refused: the
// response becomes a 500, and the header is logged (escaped).
//
// Threading: pure functions over their arguments (HttpDate caches per thread); any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "portal/router.h"

namespace migsbyu::portal {

inline constexpr std::string_view kPagePolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
inline constexpr std::string_view kApiPolicy =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

// "Not Found" for 404; "Status" for a code it does not know.
const char* ReasonPhrase(int status);

// The current second as an HTTP date ("Sat, 28 Nov 2026 06:34:13 GMT"), cached per thread.
const std::string& HttpDate();

// {"detail": detail} with `status`: the errors the HTTP layer makes itself.
Response ErrorResponse(int status, const std::string& detail);

// How one response is framed on its connection, and what it carries besides its own headers.
struct Framing {
  bool head = false;             // answering HEAD: the headers of GET, no body
  bool keep_alive = true;        // false: "Connection: close"
  int minor_version = 1;         // HTTP/1.0 keep-alive is announced
  bool route_table = true;       // an answer of the route table: Cache-Control: no-store by default
  bool tls = false;              // Strict-Transport-Security
  std::string_view cors_origin;  // an allowed cross origin: Access-Control-Allow-Origin
  // The body's length when the server streams it after `response.body` (a static file); the
  // length of `response.body` otherwise.
  std::optional<uint64_t> content_length;
};

// True if `name` is a token and `value` holds no control character but tabs.
bool IsSafeHeader(std::string_view name, std::string_view value);

// Appends the status line, the headers and (unless framing.head) the body of `response` to
// `out`. False if a header of `response` was refused (see above): a 500 was appended instead.
bool AppendResponse(const Response& response, const Framing& framing, std::string* out);

// The head of an event stream (200, text/event-stream, chunked for HTTP/1.1, Connection: close).
void AppendStreamHead(const Framing& framing, std::string* out);

// One server-sent event: "event: <event>\n" (when not empty), one "data: " line per line of
// `data`, and the empty line that ends it.
std::string SseEvent(std::string_view event, std::string_view data);

// `data` as one chunk of a chunked body ("<hex size>\r\n<data>\r\n").
std::string Chunk(std::string_view data);

// The last chunk of a chunked body.
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

}  // namespace migsbyu::portal
