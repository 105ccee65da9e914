#include "portal/static_files.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <unordered_map>

#include "common/log.h"
#include "portal/http_parser.h"
#include "portal/response_writer.h"

namespace migsbyu::portal {
namespace {

constexpr std::string_view kAssets = "assets";

const char* MimeType(std::string_view name) {
  static const std::unordered_map<std::string_view, const char*> types = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},
      {".webp", "image/webp"},
      {".ico", "image/x-icon"},
      {".woff", "font/woff"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
      {".wasm", "application/wasm"},
  };
  auto dot = name.rfind('.');
  if (dot == std::string_view::npos) return "application/octet-stream";
  auto it = types.find(name.substr(dot));
  return it == types.end() ? "application/octet-stream" : it->second;
}

bool ContainsEncoded(std::string_view raw, std::string_view escape) {
  for (size_t at = raw.find('%'); at != std::string_view::npos; at = raw.find('%', at + 1)) {
    if (raw.size() - at >= 3 &&
        std::toupper(static_cast<unsigned char>(raw[at + 1])) == escape[1] &&
        std::toupper(static_cast<unsigned char>(raw[at + 2])) == escape[2]) {
      return true;
    }
  }
  return false;
}

bool IsControl(unsigned char c) { return c < 0x20 || c == 0x7f; }

// errno of a failed open as the error OpenBeneath documents.
Error OpenError(int error, const std::vector<std::string>& names) {
  std::string path;
  for (const auto& n : names) path += "/" + n;
  std::string what = "cannot open " + path + " in the web root: " + std::strerror(error);
  switch (error) {
    case ENOENT:
    case ENOTDIR:
      return Error::NotFound(std::move(what));
    case EXDEV:
    case ELOOP:
    case EACCES:
    case EPERM:
      return Error::PermissionDenied(std::move(what));
    default:
      return Error::Unavailable(std::move(what));
  }
}

// The descriptor, or -errno.
int OpenWithOpenat2(int root, const std::vector<std::string>& names) {
  std::string relative;
  for (const auto& n : names) {
    if (!relative.empty()) relative += '/';
    relative += n;
  }
  open_how how{};
  how.flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  long fd = ::syscall(SYS_openat2, root, relative.c_str(), &how, sizeof how);
  return fd < 0 ? -errno : static_cast<int>(fd);
}

// The descriptor, or -errno.
int OpenWithNoFollowWalk(int root, const std::vector<std::string>& names) {
  UniqueFd dir;
  int at = root;
  for (size_t i = 0; i < names.size(); ++i) {
    const bool last = i + 1 == names.size();
    const int flags =
        O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | (last ? O_NONBLOCK : O_DIRECTORY);
    UniqueFd next(::openat(at, names[i].c_str(), flags));
    if (!next) {
      const int error = errno;
      // O_DIRECTORY meeting a link says ENOTDIR: it is a link it may not follow.
      struct stat st {};
      if (error == ENOTDIR && ::fstatat(at, names[i].c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
          S_ISLNK(st.st_mode)) {
        return -ELOOP;
      }
      return -error;
    }
    if (last) return next.Release();
    dir = std::move(next);
    at = dir.Get();
  }
  return -ENOENT;
}

StaticFile Refusal(int status, const std::string& detail) {
  StaticFile out;
  out.response = ErrorResponse(status, detail);
  out.size = out.response.body.size();
  return out;
}

constexpr std::string_view kNotBuilt = "The web front-end is not built (run `make web`)";

}  // namespace

std::optional<StaticFiles::Segments> StaticFiles::CheckPath(std::string_view raw) {
  if (raw.empty() || raw.front() != '/') return std::nullopt;
  if (raw.find('\\') != std::string_view::npos || ContainsEncoded(raw, "%2F") ||
      ContainsEncoded(raw, "%5C") || ContainsEncoded(raw, "%00")) {
    return std::nullopt;
  }
  Segments out;
  raw.remove_prefix(1);
  if (raw.empty()) {
    out.trailing_slash = true;  // "/": the page
    return out;
  }
  while (true) {
    const size_t slash = raw.find('/');
    const std::string_view segment = raw.substr(0, slash);
    if (segment.empty()) return std::nullopt;  // "//" somewhere
    std::optional<std::string> name = http::PercentDecode(segment, /*plus_as_space=*/false);
    if (!name || name->empty() || name->front() == '.') return std::nullopt;
    for (unsigned char c : *name) {
      if (IsControl(c) || c == '/' || c == '\\') return std::nullopt;
    }
    out.names.push_back(std::move(*name));
    if (slash == std::string_view::npos) break;
    raw.remove_prefix(slash + 1);
    if (raw.empty()) {
      out.trailing_slash = true;
      break;
    }
  }
  return out;
}

Result<UniqueFd> StaticFiles::OpenBeneath(int root, const std::vector<std::string>& names,
                                          Resolution resolution) {
  if (names.empty()) return OpenError(ENOENT, names);
  for (const auto& name : names) {
    // CheckPath never gives these; the walk would follow them.
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos) {
      return OpenError(EXDEV, names);
    }
  }
  int fd = -ENOSYS;
  if (resolution != Resolution::kNoFollow) fd = OpenWithOpenat2(root, names);
  if (fd == -ENOSYS && resolution != Resolution::kBeneath) fd = OpenWithNoFollowWalk(root, names);
  if (fd < 0) return OpenError(-fd, names);
  return UniqueFd(fd);
}

StaticFile StaticFiles::Serve(std::string_view method, std::string_view raw_path) const {
  if (method != "GET" && method != "HEAD") return Refusal(405, "Method Not Allowed");
  std::optional<Segments> path = CheckPath(raw_path);
  if (!path) return Refusal(404, "Not Found");
  const bool asset = !path->names.empty() && path->names.front() == kAssets;

  UniqueFd root(::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return Refusal(404, std::string(kNotBuilt));
  std::string name;
  UniqueFd file;
  struct stat st {};
  if (!path->trailing_slash) {
    auto opened = OpenBeneath(root.Get(), path->names);
    if (opened.ok()) {
      if (::fstat(opened->Get(), &st) != 0) return Refusal(503, "The file could not be read");
      // A directory names no file (the page, below); a FIFO, a socket or a device is refused.
      if (S_ISREG(st.st_mode)) {
        file = std::move(opened).value();
        name = path->names.back();
      } else if (!S_ISDIR(st.st_mode)) {
        return Refusal(404, "Not Found");
      }
    } else if (opened.error().code() == ErrorCode::kUnavailable) {
      MIGSBYU_LOG_WARN("portal: {}", opened.error().message());
      return Refusal(503, "The file could not be read");
    } else if (opened.error().code() != ErrorCode::kNotFound) {
      return Refusal(404, "Not Found");  // would leave the root, or may not be read
    }
  }
  if (!file) {
    // Missing assets stay missing; a client-side route gets the page.
    if (asset) return Refusal(404, "Not Found");
    auto index = OpenBeneath(root.Get(), {"index.html"});
    if (!index.ok() || ::fstat(index->Get(), &st) != 0 || !S_ISREG(st.st_mode)) {
      return Refusal(404, std::string(kNotBuilt));
    }
    file = std::move(index).value();
    name = "index.html";
  }

  StaticFile out;
  out.size = static_cast<uint64_t>(st.st_size);
  out.response.content_type = MimeType(name);
  out.response.headers.emplace_back("Cache-Control",
                                    asset ? "public, max-age=31536000, immutable" : "no-cache");
  if (method == "HEAD") return out;
  const size_t first = static_cast<size_t>(std::min<uint64_t>(out.size, kFirstChunk));
  std::string& body = out.response.body;
  body.resize(first);
  size_t got = 0;
  while (got < first) {
    ssize_t n = ::pread(file.Get(), body.data() + got, first - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      MIGSBYU_LOG_WARN("portal: cannot read {} in the web root {}: {}", name, root_,
                       std::strerror(errno));
      return Refusal(503, "The file could not be read");
    }
    if (n == 0) break;  // shorter than it was: serve what is there
    got += static_cast<size_t>(n);
  }
  body.resize(got);
  if (got < first) {
    out.size = got;
  } else if (out.size > got) {
    out.file = std::move(file);
    out.offset = got;
  }
  return out;
}

}  // namespace migsbyu::portal
