// Static files: the built web front-end, served from a folder on the web address.
//
// A request path names a file under the folder as it is; any other path that is not a file (a
// client-side route) gets index.html. Files under /assets/ carry Vite's content hashes in their
// names and are cached for a year (immutable); index.html is never cached.
//
// Threading: Serve is const and thread-safe; it reads the file system (a worker's job).
#pragma once

#include <string>
#include <string_view>

#include "portal/router.h"

namespace migsbyu::portal {

class StaticFiles {
 public:
  explicit StaticFiles(std::string root) : root_(std::move(root)) {}

  // The answer to `method` (GET or HEAD, else 405) for `path` (percent-decoded).
  Response Serve(std::string_view method, std::string_view path) const;

 private:
  std::string root_;
};

}  // namespace migsbyu::portal
