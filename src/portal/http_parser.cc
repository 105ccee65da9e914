#include "portal/http_parser.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "common/ascii.h"

namespace migsbyu::portal::http {
namespace {

// tchar of RFC 9110 5.6.2: the characters of methods, header names and transfer codings.
constexpr std::array<bool, 256> kTokenChars = [] {
  std::array<bool, 256> table{};
  for (int c = '0'; c <= '9'; ++c) table[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) table[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) table[c] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) table[static_cast<unsigned char>(c)] = true;
  return table;
}();

bool IsToken(char c) { return kTokenChars[static_cast<unsigned char>(c)]; }

bool IsControl(char c) {
  auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

bool IsWhitespace(char c) { return c == ' ' || c == '\t'; }

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view TrimWhitespace(std::string_view s) {
  while (!s.empty() && IsWhitespace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsWhitespace(s.back())) s.remove_suffix(1);
  return s;
}

// Calls f with each element of a comma-separated list (RFC 9110 5.6.1), trimmed; empty elements
// are skipped, as the RFC asks of recipients.
template <typename F>
void ForEachListElement(std::string_view list, F&& f) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view element = TrimWhitespace(list.substr(0, comma));
    if (!element.empty()) f(element);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

// Client bytes as they may appear in an error detail, which is logged and sent back: quoted, at
// most 40 bytes, anything but printable ASCII escaped as \xNN.
std::string Quote(std::string_view s) {
  constexpr size_t kMaxQuoted = 40;
  std::string out = "'";
  for (char c : s.substr(0, kMaxQuoted)) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f && c != '\\' && c != '\'') {
      out.push_back(c);
    } else {
      constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xf]);
    }
  }
  out += s.size() > kMaxQuoted ? "'..." : "'";
  return out;
}

// One call of ParseRequest. Each step returns true to go on, or false when result_ holds the
// outcome (an error, or kIncomplete).
class RequestParser {
 public:
  RequestParser(std::string_view buffer, const Limits& limits)
      : buffer_(buffer),
        limits_(limits),
        head_window_(buffer.substr(0, std::min(buffer.size(), limits.max_head_bytes))) {}

  ParseResult Run() {
    if (ParseHead() && ApplyFraming() && ParseBody()) result_.status = ParseStatus::kComplete;
    return std::move(result_);
  }

 private:
  bool Fail(int status, std::string detail) {
    result_ = ParseResult{};
    result_.status = ParseStatus::kError;
    result_.error_status = status;
    result_.error_detail = std::move(detail);
    return false;
  }

  bool NeedMore() {
    result_.status = ParseStatus::kIncomplete;
    return false;
  }

  // The head's next line has no LF within the window.
  bool HeadLineUnfinished() {
    if (buffer_.size() > limits_.max_head_bytes) {
      return Fail(431,
                  "Request head larger than " + std::to_string(limits_.max_head_bytes) + " bytes");
    }
    return NeedMore();
  }

  // The next line of the head, without its CRLF or LF; false when no LF is in the window.
  bool NextHeadLine(std::string_view& line) {
    const char* start = head_window_.data() + pos_;
    const void* lf = std::memchr(start, '\n', head_window_.size() - pos_);
    if (lf == nullptr) return false;
    size_t length = static_cast<const char*>(lf) - start;
    line = head_window_.substr(pos_, length);
    pos_ += length + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return true;
  }

  bool ParseHead() {
    std::string_view line;
    // RFC 9112 2.2: empty lines before the request line are ignored.
    do {
      if (!NextHeadLine(line)) {
        // A CR at the end may be half of the line's CRLF, which the whole line will not contain.
        std::string_view partial = head_window_.substr(pos_);
        if (!partial.empty() && partial.back() == '\r') partial.remove_suffix(1);
        if (!ScanRequestLine(partial, /*complete=*/false)) return false;
        return HeadLineUnfinished();
      }
    } while (line.empty());
    if (!ScanRequestLine(line, /*complete=*/true)) return false;

    size_t header_count = 0;
    for (;;) {
      if (!NextHeadLine(line)) return HeadLineUnfinished();
      if (line.empty()) break;
      if (++header_count > limits_.max_headers) {
        return Fail(431, "More than " + std::to_string(limits_.max_headers) + " header fields");
      }
      if (!ParseHeaderLine(line)) return false;
    }
    head_bytes_ = pos_;
    return true;
  }

  // Checks a request line, whole or (complete == false) the part received so far, left to right,
  // so that a part is refused for the same reason as the whole line would be. Fills method,
  // target, path, query and minor_version from a whole line.
  bool ScanRequestLine(std::string_view line, bool complete) {
    size_t method_end = 0;
    while (method_end < line.size() && IsToken(line[method_end])) ++method_end;
    if (method_end == line.size()) {
      if (!complete) return true;
      return Fail(400, "Request line " + Quote(line) + " is not 'method target HTTP/1.1'");
    }
    if (method_end == 0 || line[method_end] != ' ') {
      return Fail(400, "Request line " + Quote(line) + " does not start with a method and a space");
    }
    const size_t target_start = method_end + 1;
    size_t target_end = target_start;
    while (target_end < line.size() && line[target_end] != ' ') {
      if (target_end - target_start >= limits_.max_target_bytes) {
        return Fail(414, "Request target longer than " + std::to_string(limits_.max_target_bytes) +
                             " bytes");
      }
      if (IsControl(line[target_end])) {
        return Fail(400, "Request target " + Quote(line.substr(target_start)) +
                             " contains a control character");
      }
      ++target_end;
    }
    if (target_end == target_start && target_end < line.size()) {
      return Fail(400, "Request line " + Quote(line) + " has two spaces after the method");
    }
    if (!complete) return true;
    if (target_end == line.size()) {
      return Fail(400, "Request line " + Quote(line) + " has no HTTP version");
    }

    std::string_view version = line.substr(target_end + 1);
    if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || !IsDigit(version[5]) ||
        version[6] != '.' || !IsDigit(version[7])) {
      return Fail(400, "Request line " + Quote(line) + " does not end in an HTTP version");
    }
    if (version[5] != '1' || (version[7] != '0' && version[7] != '1')) {
      return Fail(505, "HTTP version " + Quote(version) + " is not supported; use HTTP/1.1");
    }

    ParsedRequest& request = result_.request;
    request.minor_version = version[7] - '0';
    request.method.assign(line.substr(0, method_end));
    request.target.assign(line.substr(target_start, target_end - target_start));
    return ParseTarget(request.target);
  }

  bool ParseTarget(std::string_view target) {
    ParsedRequest& request = result_.request;
    std::string_view path_and_query;
    if (target.front() == '/') {
      path_and_query = target;
    } else if (target == "*") {
      if (request.method != "OPTIONS") {
        return Fail(400, "Request target '*' is only allowed with OPTIONS");
      }
      request.path = "*";
      return true;
    } else {
      // Absolute form (RFC 9112 3.2.2), which proxies send: only its path and query matter here.
      size_t scheme_end = target.find("://");
      std::string_view scheme = target.substr(0, scheme_end);
      if (scheme_end == std::string_view::npos ||
          !(EqualsIgnoreAsciiCase(scheme, "http") || EqualsIgnoreAsciiCase(scheme, "https"))) {
        return Fail(400, "Request target " + Quote(target) + " is not a path starting with '/'");
      }
      std::string_view rest = target.substr(scheme_end + 3);
      size_t authority_end = std::min(rest.find_first_of("/?"), rest.size());
      if (authority_end == 0) {
        return Fail(400, "Request target " + Quote(target) + " has no host");
      }
      path_and_query = rest.substr(authority_end);
    }

    size_t question = path_and_query.find('?');
    std::string_view raw_path = path_and_query.substr(0, question);
    if (question != std::string_view::npos) {
      request.query_string.assign(path_and_query.substr(question + 1));
    }
    if (raw_path.empty()) raw_path = "/";  // "http://host?x" asks for the root
    std::optional<std::string> path = PercentDecode(raw_path, /*plus_as_space=*/false);
    if (!path) {
      return Fail(400,
                  "Request path " + Quote(raw_path) + " has a '%' not followed by two hex digits");
    }
    if (path->find('\0') != std::string::npos) {
      return Fail(400, "Request path " + Quote(raw_path) + " decodes to a NUL byte");
    }
    request.path = std::move(*path);
    return ParseQuery(request.query_string);
  }

  // A NUL is refused in the query as in the path: values end up in C strings (libpq parameters),
  // where everything after it would silently vanish.
  bool ParseQuery(std::string_view query) {
    while (!query.empty()) {
      size_t amp = query.find('&');
      std::string_view piece = query.substr(0, amp);
      query.remove_prefix(amp == std::string_view::npos ? query.size() : amp + 1);
      if (piece.empty()) continue;
      size_t equals = piece.find('=');
      std::optional<std::string> key = PercentDecode(piece.substr(0, equals), true);
      std::optional<std::string> value = equals == std::string_view::npos
                                             ? std::optional<std::string>(std::string())
                                             : PercentDecode(piece.substr(equals + 1), true);
      if (!key || !value) {
        return Fail(
            400, "Query parameter " + Quote(piece) + " has a '%' not followed by two hex digits");
      }
      if (key->find('\0') != std::string::npos || value->find('\0') != std::string::npos) {
        return Fail(400, "Query parameter " + Quote(piece) + " decodes to a NUL byte");
      }
      result_.request.query.emplace(std::move(*key), std::move(*value));
    }
    return true;
  }

  bool ParseHeaderLine(std::string_view line) {
    if (IsWhitespace(line.front())) {
      return Fail(400, "Header line " + Quote(line) +
                           " starts with whitespace (obsolete line folding is not allowed)");
    }
    size_t name_end = 0;
    while (name_end < line.size() && IsToken(line[name_end])) ++name_end;
    if (name_end == line.size() || line[name_end] != ':') {
      if (name_end < line.size() && IsWhitespace(line[name_end])) {
        return Fail(400, "Header line " + Quote(line) + " has whitespace before its colon");
      }
      return Fail(400, "Header line " + Quote(line) + " is not 'name: value' with a token name");
    }
    if (name_end == 0) return Fail(400, "Header line " + Quote(line) + " has an empty name");
    std::string_view value = TrimWhitespace(line.substr(name_end + 1));
    for (char c : value) {
      if (IsControl(c) && c != '\t') {
        return Fail(400, "Header line " + Quote(line) + " has a control character in its value");
      }
    }

    std::string name(line.substr(0, name_end));
    for (char& c : name) c = AsciiToLower(c);
    if (name == "content-length") {
      if (!content_length_) {
        content_length_ = value;
      } else if (*content_length_ != value) {
        return Fail(400, "Content-Length " + Quote(*content_length_) + " and " + Quote(value) +
                             " disagree");
      }
    } else if (name == "transfer-encoding") {
      has_transfer_encoding_ = true;
      ForEachListElement(value, [&](std::string_view coding) {
        if (EqualsIgnoreAsciiCase(coding, "chunked")) {
          ++chunked_codings_;
        } else if (unsupported_coding_.empty()) {
          unsupported_coding_ = coding;
        }
      });
    } else if (name == "connection") {
      ForEachListElement(value, [&](std::string_view option) {
        if (EqualsIgnoreAsciiCase(option, "close")) connection_close_ = true;
        if (EqualsIgnoreAsciiCase(option, "keep-alive")) connection_keep_alive_ = true;
      });
    } else if (name == "expect") {
      if (EqualsIgnoreAsciiCase(value, "100-continue")) expect_continue_ = true;
    }
    result_.request.headers.emplace(std::move(name), std::string(value));
    return true;
  }

  // How the body is framed (RFC 9112 6.3), and the head's other per-request conclusions.
  bool ApplyFraming() {
    ParsedRequest& request = result_.request;
    if (has_transfer_encoding_) {
      if (request.minor_version == 0) {
        return Fail(400, "Transfer-Encoding is not allowed in an HTTP/1.0 request");
      }
      if (content_length_) {
        return Fail(400, "Content-Length and Transfer-Encoding are both present");
      }
      if (!unsupported_coding_.empty()) {
        return Fail(501, "Transfer coding " + Quote(unsupported_coding_) +
                             " is not supported; only chunked is");
      }
      if (chunked_codings_ != 1) {
        return Fail(400, "Transfer-Encoding must name chunked exactly once");
      }
      chunked_ = true;
    } else if (content_length_) {
      std::string_view digits = *content_length_;
      if (digits.empty()) return Fail(400, "Content-Length is empty");
      for (char c : digits) {
        if (!IsDigit(c)) return Fail(400, "Content-Length " + Quote(digits) + " is not a number");
        if (__builtin_mul_overflow(body_bytes_, size_t{10}, &body_bytes_) ||
            __builtin_add_overflow(body_bytes_, static_cast<size_t>(c - '0'), &body_bytes_)) {
          return Fail(400, "Content-Length " + Quote(digits) + " is too large a number");
        }
      }
      if (body_bytes_ > limits_.max_body_bytes) return BodyTooLarge();
    }
    request.keep_alive = request.minor_version == 1 ? !connection_close_
                                                    : connection_keep_alive_ && !connection_close_;
    result_.head_complete = true;
    result_.expects_continue = expect_continue_ && request.minor_version == 1;
    return true;
  }

  bool BodyTooLarge() {
    return Fail(413,
                "Request body larger than " + std::to_string(limits_.max_body_bytes) + " bytes");
  }

  bool ParseBody() {
    if (chunked_) {
      if (!WalkChunks(nullptr)) return false;
      result_.request.body.reserve(body_bytes_);
      WalkChunks(&result_.request.body);  // cannot fail: the same walk succeeded
      return true;
    }
    if (buffer_.size() - head_bytes_ < body_bytes_) return NeedMore();
    result_.request.body.assign(buffer_.substr(head_bytes_, body_bytes_));
    result_.consumed = head_bytes_ + body_bytes_;
    return true;
  }

  bool FramingTooLarge() {
    return Fail(413, "Chunked framing (sizes, extensions, trailers) larger than " +
                         std::to_string(limits_.max_head_bytes) + " bytes");
  }

  // Walks the chunked body after the head (RFC 9112 7.1), appending its data to `body` when given.
  // Sets body_bytes_ and, when the body is complete, consumed.
  bool WalkChunks(std::string* body) {
    size_t at = head_bytes_;
    size_t framing_bytes = 0;
    body_bytes_ = 0;
    // The framing read so far may not pass max_head_bytes: a line is read up to `end`, and
    // running out of bytes there is an error when more bytes are in the buffer.
    auto line_end = [&] {
      return at + std::min(buffer_.size() - at, limits_.max_head_bytes - framing_bytes);
    };
    auto line_unfinished = [&](size_t end) {
      return end < buffer_.size() ? FramingTooLarge() : NeedMore();
    };

    for (;;) {
      // chunk-size [ BWS ";" chunk-ext ] CRLF. Extensions are skipped, but must be printable.
      const size_t end = line_end();
      size_t i = at;
      size_t chunk_bytes = 0;
      for (int digit; i < end && (digit = HexValue(buffer_[i])) >= 0; ++i) {
        if (__builtin_mul_overflow(chunk_bytes, size_t{16}, &chunk_bytes) ||
            __builtin_add_overflow(chunk_bytes, static_cast<size_t>(digit), &chunk_bytes) ||
            chunk_bytes > limits_.max_body_bytes - body_bytes_) {
          return BodyTooLarge();
        }
      }
      if (i == end) return line_unfinished(end);
      if (i == at) {
        return Fail(400,
                    "Chunk size " + Quote(buffer_.substr(at, i + 1 - at)) + " is not a hex number");
      }
      const size_t size_end = i;
      while (i < end && IsWhitespace(buffer_[i])) ++i;
      if (i == end) return line_unfinished(end);
      if (buffer_[i] == ';') {
        while (i < end && buffer_[i] != '\r' && (!IsControl(buffer_[i]) || buffer_[i] == '\t')) ++i;
        if (i == end) return line_unfinished(end);
      } else if (i != size_end) {
        return Fail(400, "Chunk-size line " + Quote(buffer_.substr(at, i + 1 - at)) +
                             " has whitespace after the size without an extension");
      }
      if (buffer_[i] != '\r') {
        return Fail(400, "Chunk-size line " + Quote(buffer_.substr(at, i + 1 - at)) +
                             " has a stray character after the size");
      }
      if (++i == end) return line_unfinished(end);
      if (buffer_[i] != '\n') return Fail(400, "Chunk-size line does not end in CRLF");
      ++i;
      framing_bytes += i - at;
      at = i;

      if (chunk_bytes == 0) break;
      // The CRLF after the data counts as framing, so that tiny chunks stay bounded too.
      framing_bytes += 2;
      if (framing_bytes > limits_.max_head_bytes) return FramingTooLarge();
      body_bytes_ += chunk_bytes;
      const size_t available = buffer_.size() - at;
      if (available > chunk_bytes && buffer_[at + chunk_bytes] != '\r') {
        return Fail(400, "Chunk data is not followed by CRLF");
      }
      if (available > chunk_bytes + 1 && buffer_[at + chunk_bytes + 1] != '\n') {
        return Fail(400, "Chunk data is not followed by CRLF");
      }
      if (available < chunk_bytes + 2) return NeedMore();
      if (body != nullptr) body->append(buffer_.substr(at, chunk_bytes));
      at += chunk_bytes + 2;
    }

    // Trailer fields, then an empty line. They are checked like header lines, then dropped.
    for (;;) {
      const size_t end = line_end();
      const void* lf = std::memchr(buffer_.data() + at, '\n', end - at);
      if (lf == nullptr) return line_unfinished(end);
      const size_t lf_at = static_cast<const char*>(lf) - buffer_.data();
      if (lf_at == at || buffer_[lf_at - 1] != '\r') {
        return Fail(400, "Trailer line does not end in CRLF");
      }
      std::string_view line = buffer_.substr(at, lf_at - 1 - at);
      framing_bytes += lf_at + 1 - at;
      at = lf_at + 1;
      if (line.empty()) break;
      if (!ValidTrailerLine(line)) return false;
    }
    result_.consumed = at;
    return true;
  }

  bool ValidTrailerLine(std::string_view line) {
    size_t name_end = 0;
    while (name_end < line.size() && IsToken(line[name_end])) ++name_end;
    if (name_end == 0 || name_end == line.size() || line[name_end] != ':') {
      return Fail(400, "Trailer line " + Quote(line) + " is not 'name: value' with a token name");
    }
    for (char c : line.substr(name_end + 1)) {
      if (IsControl(c) && c != '\t') {
        return Fail(400, "Trailer line " + Quote(line) + " has a control character");
      }
    }
    return true;
  }

  const std::string_view buffer_;
  const Limits& limits_;
  const std::string_view head_window_;  // the bytes the head may occupy
  ParseResult result_;

  size_t pos_ = 0;         // the next unread byte of the head
  size_t head_bytes_ = 0;  // the whole head, with its empty line and any before the request line
  size_t body_bytes_ = 0;  // Content-Length, or the chunked data so far

  std::optional<std::string_view> content_length_;  // the first Content-Length
  bool has_transfer_encoding_ = false;
  int chunked_codings_ = 0;
  std::string_view unsupported_coding_;
  bool chunked_ = false;
  bool connection_close_ = false;
  bool connection_keep_alive_ = false;
  bool expect_continue_ = false;
};

}  // namespace

ParseResult ParseRequest(std::string_view buffer, const Limits& limits) {
  return RequestParser(buffer, limits).Run();
}

std::optional<std::string> PercentDecode(std::string_view s, bool plus_as_space) {
  size_t first = plus_as_space ? s.find_first_of("%+") : s.find('%');
  if (first == std::string_view::npos) return std::string(s);
  std::string out;
  out.reserve(s.size());
  out.append(s.substr(0, first));
  for (size_t i = first; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int high = HexValue(s[i + 1]);
      int low = HexValue(s[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else if (c == '+' && plus_as_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace migsbyu::portal::http
