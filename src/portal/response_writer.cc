#include "portal/response_writer.h"

#include <cstdio>
#include <ctime>

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

void AppendResponse(const Response& r, const Framing& framing, std::string* out) {
  out->reserve(out->size() + 256 + r.body.size());
  out->append("HTTP/1.1 ").append(std::to_string(r.status)).append(" ");
  out->append(ReasonPhrase(r.status)).append("\r\nDate: ").append(HttpDate());
  out->append("\r\nContent-Type: ").append(r.content_type);
  out->append("\r\nContent-Length: ").append(std::to_string(r.body.size())).append("\r\n");
  for (const auto& [name, value] : r.headers) {
    out->append(name).append(": ").append(value).append("\r\n");
  }
  if (!framing.keep_alive) {
    out->append("Connection: close\r\n");
  } else if (framing.minor_version == 0) {
    out->append("Connection: keep-alive\r\n");
  }
  out->append("\r\n");
  if (!framing.head) out->append(r.body);
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
