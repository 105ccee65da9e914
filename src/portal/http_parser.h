// HTTP/1.1 request parser: turns the bytes a connection has received so far into one request.
//
// The portal's epoll server keeps each connection's unread bytes in a buffer and calls
// ParseRequest after every read. The parser keeps no state between calls: it parses the buffer
// from its first byte each time, and tells the caller whether a whole request is there
// (kComplete, with how many bytes it took), more bytes are needed (kIncomplete), or the bytes can
// never become a valid request (kError, with the status to answer before closing). Pipelined
// requests are served one at a time: the caller drops `consumed` bytes and calls again.
//
// Framing follows RFC 9112, strictly where leniency lets two parsers disagree about where a
// request ends (request smuggling): Content-Length together with Transfer-Encoding, several
// different Content-Lengths, obsolete line folding, a space before a header's colon and
// transfer codings other than a lone "chunked" are all refused. The head's lines may end in a bare
// LF; the chunked body's framing may not (every chunk-size line, chunk and trailer ends in CRLF).
// An HTTP/1.0 request with Transfer-Encoding is refused: RFC 9112 calls its framing faulty.
//
// Limits bound what one request can make the server hold, and are checked as soon as the bytes
// that break them arrive, not when the request ends, so that a client cannot make the server
// buffer more than a limit's worth before it is refused:
//   - the head (any empty lines before the request line, the request line, the header lines and
//     the empty line that ends them) is at most max_head_bytes, else 431;
//   - the request target is at most max_target_bytes, else 414;
//   - at most max_headers header lines, else 431;
//   - the body (after de-chunking) is at most max_body_bytes, else 413. A Content-Length above it
//     is refused when the head is complete; a chunked body as soon as a chunk-size shows it;
//   - a chunked body's framing (chunk-size lines with their extensions, the trailer lines) is at
//     most max_head_bytes, else 413, so that tiny chunks or endless extensions stay bounded.
//
// Cost: one pass over the head; a chunked body's framing is walked on each call but its data is
// skipped, and the body is copied once, when the request is complete.
//
// Threading: pure functions over their arguments; safe to call from any number of threads.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace migsbyu::portal::http {

struct Limits {
  size_t max_head_bytes = 64 * 1024;   // request line + headers + blank line
  size_t max_target_bytes = 8 * 1024;  // the request target
  size_t max_body_bytes = 1 << 20;     // after de-chunking
  size_t max_headers = 100;
};

struct ParsedRequest {
  std::string method;        // as sent, e.g. "GET" (tokens only)
  std::string target;        // raw request target, e.g. "/students/?q=a%20b"
  std::string path;          // percent-decoded path (no query); starts with '/' ("*" for OPTIONS *)
  std::string query_string;  // raw, without '?'
  // Decoded (%XX, and '+' as a space), in the order sent; "a" alone gives ("a", ""), empty pieces
  // ("a&&b") are skipped.
  std::multimap<std::string, std::string> query;
  // Names lower-cased, values with surrounding spaces and tabs trimmed, in the order sent.
  std::multimap<std::string, std::string> headers;
  int minor_version = 1;  // HTTP/1.0 or HTTP/1.1
  // HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with "Connection: keep-alive" (and no
  // close). Connection is read as a comma-separated, case-insensitive token list.
  bool keep_alive = true;
  std::string body;  // Content-Length bytes, or the de-chunked body (trailers discarded)
};

enum class ParseStatus { kIncomplete, kComplete, kError };

struct ParseResult {
  ParseStatus status = ParseStatus::kIncomplete;
  size_t consumed = 0;  // kComplete: bytes of this request (the next pipelined request starts here)
  ParsedRequest request;  // kComplete: the request. kIncomplete with head_complete: all but body
  bool head_complete = false;  // the head is parsed (for kIncomplete: the body is still arriving)
  // head_complete, HTTP/1.1 and "Expect: 100-continue" (case-insensitive). The caller answers
  // "100 Continue" while the body is still missing; HTTP/1.0 clients do not know 100.
  bool expects_continue = false;
  int error_status = 0;      // kError: 400, 413, 414, 431, 501 or 505
  std::string error_detail;  // kError: one sentence, e.g. "Request body larger than 1048576 bytes"
};

// Parses the first request in `buffer`, the bytes a connection has received so far.
//
// kIncomplete: `buffer` is a valid beginning of a request; call again with the same bytes and more
// (nothing is consumed). When head_complete is set, `request` holds everything but the body.
// kComplete: `request` is the whole request and `consumed` its length in bytes, including any
// empty lines before its request line; the bytes after it belong to the next request.
// kError: no continuation of `buffer` is a valid request; answer error_status with error_detail
// and close the connection. Any bytes of the client's that the detail quotes are escaped and cut
// short, so it is safe to log and to send back.
//
// Stateless and deterministic: the result depends only on `buffer` and `limits`. A buffer whose
// prefix was refused is refused too, with the same status, and every proper prefix of a complete
// request is incomplete.
ParseResult ParseRequest(std::string_view buffer, const Limits& limits);

// Decodes %XX escapes (hex digits in either case), and '+' as a space when plus_as_space is set
// (query strings). Returns nullopt when a '%' is not followed by two hex digits. Decoded bytes are
// not checked: "%00" gives a NUL.
std::optional<std::string> PercentDecode(std::string_view s, bool plus_as_space);

}  // namespace migsbyu::portal::http
