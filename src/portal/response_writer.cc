#include "portal/response_writer.h"

#include <cstdio>
#include <ctime>

#include "common/ascii.h"
#include "common/log.h"

namespace migsbyu::portal {

const char* ReasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 416:
      return "Range Not Satisfiable";
    case 421:
      return "Misdirected Request";
    case 422:
      return "Unprocessable Entity";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Status";
  }
}

const std::string& HttpDate() {
  thread_local time_t cached_second = 0;
  thread_local std::string cached;
  time_t now = ::time(nullptr);
  if (now != cached_second) {
    cached_second = now;
    tm t{};
    ::gmtime_r(&now, &t);
    char buf[64];
    size_t n = ::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &t);
    cached.assign(buf, n);
  }
  return cached;
}

Response ErrorResponse(int status, const std::string& detail) {
  return Response::Json({{"detail", detail}}, status);
}

namespace {

constexpr std::string_view kAlways =
    "X-Content-Type-Options: nosniff\r\nX-Frame-Options: DENY\r\n"
    "Referrer-Policy: no-referrer\r\nCross-Origin-Resource-Policy: same-origin\r\n";

bool IsTokenChar(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

// The headers the writer owns: a route setting one would send it twice.
bool IsWritersOwn(std::string_view name) {
  for (std::string_view own :
       {"content-length", "transfer-encoding", "connection", "date", "content-type"}) {
    if (EqualsIgnoreAsciiCase(name, own)) return true;
  }
  return false;
}

std::string Escaped(std::string_view s) {
  std::string out;
  for (unsigned char c : s.substr(0, 200)) {
    if (c < 0x20 || c == 0x7f || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// What every response carries (see the header), after its own headers.
void AppendCommonHeaders(const Framing& framing, bool html, std::string* out) {
  out->append(kAlways);
  out->append("Content-Security-Policy: ").append(html ? kPagePolicy : kApiPolicy).append("\r\n");
  if (framing.tls) out->append("Strict-Transport-Security: max-age=31536000\r\n");
  if (!framing.cors_origin.empty()) {
    out->append("Access-Control-Allow-Origin: ").append(framing.cors_origin);
    out->append("\r\nVary: Origin\r\nAccess-Control-Expose-Headers: X-Total-Count, Location\r\n");
  }
}

void AppendConnection(const Framing& framing, std::string* out) {
  if (!framing.keep_alive) {
    out->append("Connection: close\r\n");
  } else if (framing.minor_version == 0) {
    out->append("Connection: keep-alive\r\n");
  }
}

}  // namespace

bool IsSafeHeader(std::string_view name, std::string_view value) {
  if (name.empty()) return false;
  for (unsigned char c : name) {
    if (!IsTokenChar(c)) return false;
  }
  for (unsigned char c : value) {
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

bool AppendResponse(const Response& r, const Framing& framing, std::string* out) {
  bool cache_control = false;
  for (const auto& [name, value] : r.headers) {
    if (!IsSafeHeader(name, value) || IsWritersOwn(name)) {
      MIGSBYU_LOG_ERROR("portal: a {} response's header '{}: {}' is refused; answering 500",
                        r.status, Escaped(name), Escaped(value));
      AppendResponse(ErrorResponse(500, "Internal Server Error"), framing, out);
      return false;
    }
    cache_control = cache_control || EqualsIgnoreAsciiCase(name, "cache-control");
  }
  if (!IsSafeHeader("Content-Type", r.content_type)) {
    MIGSBYU_LOG_ERROR("portal: a {} response's Content-Type '{}' is refused; answering 500",
                      r.status, Escaped(r.content_type));
    AppendResponse(ErrorResponse(500, "Internal Server Error"), framing, out);
    return false;
  }
  const uint64_t length = framing.content_length.value_or(r.body.size());
  out->reserve(out->size() + 640 + r.body.size());
  out->append("HTTP/1.1 ").append(std::to_string(r.status)).append(" ");
  out->append(ReasonPhrase(r.status)).append("\r\nDate: ").append(HttpDate());
  out->append("\r\nContent-Type: ").append(r.content_type).append("\r\n");
  // A 204 has no body, and must not say it has one.
  if (r.status != 204)
    out->append("Content-Length: ").append(std::to_string(length)).append("\r\n");
  for (const auto& [name, value] : r.headers) {
    out->append(name).append(": ").append(value).append("\r\n");
  }
  if (framing.route_table && !cache_control) out->append("Cache-Control: no-store\r\n");
  AppendCommonHeaders(framing, r.content_type.starts_with("text/html"), out);
  AppendConnection(framing, out);
  out->append("\r\n");
  if (!framing.head && r.status != 204) out->append(r.body);
  return true;
}

void AppendStreamHead(const Framing& framing, std::string* out) {
  out->append("HTTP/1.1 200 OK\r\nDate: ").append(HttpDate());
  out->append(
      "\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\nX-Accel-Buffering: "
      "no\r\n");
  AppendCommonHeaders(framing, /*html=*/false, out);
  if (framing.minor_version >= 1) out->append("Transfer-Encoding: chunked\r\n");
  out->append("Connection: close\r\n\r\n");
}

std::string SseEvent(std::string_view event, std::string_view data) {
  std::string message;
  if (!event.empty()) message.append("event: ").append(event).append("\n");
  // A data field may not hold a newline: each line is its own data: field.
  size_t start = 0;
  while (true) {
    size_t nl = data.find('\n', start);
    message.append("data: ").append(data.substr(start, nl - start)).append("\n");
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  message.append("\n");
  return message;
}

std::string Chunk(std::string_view data) {
  char size[32];
  int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  std::string out;
  out.reserve(static_cast<size_t>(n) + data.size() + 2);
  out.append(size, static_cast<size_t>(n)).append(data).append("\r\n");
  return out;
}

}  // namespace migsbyu::portal
