// Static files: the built web front-end, served from one folder (the web root) on the web address.
//
// A request gets a file only when its path names a regular file inside the root. The path is
// checked as the client sent it, before any percent-decoding, and refused (404) when:
//   - it does not start with '/', or holds an empty segment ("//etc/passwd", "/a//b"; one
//     trailing slash is allowed and names no file);
//   - it holds a backslash, or an encoded slash, backslash or NUL (%2F, %5C, %00, any case);
//   - a segment decodes to "." or "..", or to anything starting with '.' (no hidden files), or
//     to a control character; or a '%' is not followed by two hex digits.
// The decoded segments are then opened beneath the root's descriptor with openat2 and
// RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS: a symbolic link may lead elsewhere inside the root,
// never out of it, and /proc's magic links are never followed. Where the kernel has no openat2
// the segments are walked one by one with O_NOFOLLOW: no symbolic link is followed at all. Only a
// regular file is served (a FIFO or a device is opened non-blocking and refused).
//
// A valid path that names no file (a client-side route: "/students/S1") gets index.html, except
// under /assets/, where a missing file stays 404; a path refused above is 404 too, never the page.
// Files under /assets/ carry Vite's content hashes in their names and are cached for a year
// (immutable); everything else is "no-cache".
//
// A file is never read whole: the answer carries its first bytes (at most kFirstChunk), and when
// more remain, the descriptor, from which the server sends the rest as the client takes it. A
// file that cannot be opened is 404; one that cannot be read is 503; neither is a 500, and
// neither names a path of the server's in its answer.
//
// Threading: Serve is const and thread-safe; it touches the file system, so it runs on a worker.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "portal/router.h"

namespace migsbyu::portal {

// A static file's answer.
struct StaticFile {
  // Status, type and headers; the body holds the file's first bytes (or the error's JSON).
  Response response;
  // Set when bytes remain after the body: the server streams [offset, size) from it.
  UniqueFd file;
  uint64_t offset = 0;
  // The Content-Length to announce: the file's size (for an error, the body's size).
  uint64_t size = 0;
};

class StaticFiles {
 public:
  // Bytes read with the answer; the rest of a file is streamed in pieces of this size.
  static constexpr size_t kFirstChunk = 128 * 1024;

  // `root` is opened on each request, so that the front-end can be built (or rebuilt) while the
  // server runs.
  explicit StaticFiles(std::string root) : root_(std::move(root)) {}

  // The answer to `method` for `raw_path`, the path of the request target as sent (no query).
  // GET and HEAD only (405 otherwise); for HEAD the body is empty and `size` is the file's.
  StaticFile Serve(std::string_view method, std::string_view raw_path) const;

  // The decoded segments of `raw_path` after the checks above; nullopt if it is refused.
  // `trailing_slash` says whether the path ended in '/' (it then names no file).
  struct Segments {
    std::vector<std::string> names;
    bool trailing_slash = false;
  };
  static std::optional<Segments> CheckPath(std::string_view raw_path);

  // How OpenBeneath resolves: openat2 (symbolic links inside the root allowed), or the walk with
  // O_NOFOLLOW (none allowed), for kernels without openat2. kAuto tries the first, then the
  // second when the kernel does not know openat2.
  enum class Resolution { kAuto, kBeneath, kNoFollow };

  // Opens `names` below the directory `root` for reading (O_NONBLOCK, close-on-exec).
  // kNotFound: no such file (ENOENT, ENOTDIR). kPermissionDenied: the path would leave the root or
  // follow a link it may not (EXDEV, ELOOP), or the file may not be read (EACCES, EPERM).
  // kUnavailable: any other failure (out of descriptors, an I/O error), naming errno.
  static Result<UniqueFd> OpenBeneath(int root, const std::vector<std::string>& names,
                                      Resolution resolution = Resolution::kAuto);

 private:
  std::string root_;
};

}  // namespace migsbyu::portal
