// Response writing: how the portal's server turns a Response into the bytes of HTTP/1.1.
//
// Every response the server sends, a route's, an error the HTTP layer makes itself or the head of
// an event stream, is written here, so that what every response carries is decided in one place.
//
// Threading: pure functions over their arguments (HttpDate caches per thread); any thread.
#pragma once

#include <string>
#include <string_view>

#include "portal/router.h"

namespace migsbyu::portal {

// "Not Found" for 404; "Status" for a code it does not know.
const char* ReasonPhrase(int status);

// The current second as an HTTP date ("Sat, 28 Nov 2026 06:34:13 GMT"), cached per thread.
const std::string& HttpDate();

// {"detail": detail} with `status`: the errors the HTTP layer makes itself.
Response ErrorResponse(int status, const std::string& detail);

// How one response is framed on its connection.
struct Framing {
  bool head = false;       // answering HEAD: the headers of GET, no body
  bool keep_alive = true;  // false: "Connection: close"
  int minor_version = 1;   // HTTP/1.0 keep-alive is announced
};

// Appends the status line, the headers and (unless framing.head) the body of `response` to `out`.
void AppendResponse(const Response& response, const Framing& framing, std::string* out);

// One server-sent event: "event: <event>\n" (when not empty), one "data: " line per line of
// `data`, and the empty line that ends it.
std::string SseEvent(std::string_view event, std::string_view data);

// `data` as one chunk of a chunked body ("<hex size>\r\n<data>\r\n").
std::string Chunk(std::string_view data);

}  // namespace migsbyu::portal
