#include "portal/static_files.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "portal/response_writer.h"

namespace migsbyu::portal {
namespace {

namespace fs = std::filesystem;

const char* MimeType(const fs::path& file) {
  static const std::map<std::string, const char*> types = {
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
  auto it = types.find(file.extension().string());
  return it == types.end() ? "application/octet-stream" : it->second;
}

bool ReadFile(const fs::path& file, std::string* out) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return false;
  std::ostringstream buf;
  buf << in.rdbuf();
  *out = std::move(buf).str();
  return true;
}

// A path is served from the folder only if none of its segments climbs out of it.
bool IsSafeRelativePath(std::string_view path) {
  if (path.find('\0') != std::string_view::npos || path.find('\\') != std::string_view::npos) {
    return false;
  }
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    auto segment = path.substr(start, end - start);
    if (segment == ".." || segment == ".") return false;
    start = end + 1;
  }
  return true;
}

}  // namespace

Response StaticFiles::Serve(std::string_view method, std::string_view path) const {
  if (method != "GET" && method != "HEAD") return ErrorResponse(405, "Method Not Allowed");
  if (!IsSafeRelativePath(path)) return ErrorResponse(404, "Not Found");
  const fs::path root(root_);
  const bool asset = path.starts_with("/assets/");
  fs::path file = root / fs::path(path.substr(1));
  std::error_code ec;
  if (path.size() <= 1 || !fs::is_regular_file(file, ec)) {
    // Missing assets stay missing; a client-side route gets the page.
    if (asset) return ErrorResponse(404, "Not Found");
    file = root / "index.html";
  }
  Response out;
  if (!ReadFile(file, &out.body)) {
    return ErrorResponse(
        404, "The web front-end is not built: no " + file.string() + " (run `make web`)");
  }
  out.content_type = MimeType(file);
  out.headers.emplace_back("Cache-Control",
                           asset ? "public, max-age=31536000, immutable" : "no-cache");
  return out;
}

}  // namespace migsbyu::portal
