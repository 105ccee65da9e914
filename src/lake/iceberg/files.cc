#include "lake/iceberg/files.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <random>

#include "common/unique_fd.h"

namespace migsbyu::iceberg {
namespace {

namespace fs = std::filesystem;

std::string Errno(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

void RandomBytes(void* out, size_t n) {
  if (getrandom(out, n, 0) == static_cast<ssize_t>(n)) return;
  static thread_local std::mt19937_64 fallback{std::random_device{}()};
  auto* bytes = static_cast<unsigned char*>(out);
  for (size_t i = 0; i < n; ++i) bytes[i] = static_cast<unsigned char>(fallback());
}

Status WriteAll(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::Internal(Errno("cannot write", path));
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return OkStatus();
}

}  // namespace

std::string FileUri(std::string_view path) { return "file://" + std::string(path); }

Result<std::string> LocalPath(std::string_view uri) {
  std::string_view path = uri;
  if (path.rfind("file://", 0) == 0) {
    path.remove_prefix(7);
  } else if (path.rfind("file:", 0) == 0) {
    path.remove_prefix(5);
  }
  if (path.empty() || path.front() != '/') {
    return Error::InvalidArgument(std::string("not a local file location: ").append(uri));
  }
  return std::string(path);
}

Status ValidateTableDirectory(std::string_view dir) {
  if (dir.empty() || dir.front() != '/') {
    return Error::InvalidArgument("table directory '" + std::string(dir) + "' is not absolute");
  }
  for (char c : dir) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F || c == ' ' || c == '%' || c == '?' || c == '#' || c == '"' ||
        c == '\'' || c == '\\') {
      return Error::InvalidArgument("table directory '" + std::string(dir) +
                                    "' holds a character that file URIs give a meaning");
    }
  }
  return OkStatus();
}

Status WriteNewFile(const std::string& path, std::string_view bytes) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd) {
    if (errno == EEXIST) return Error::AlreadyExists(path + " exists");
    return Error::Internal(Errno("cannot create", path));
  }
  MIGSBYU_TRY(WriteAll(fd.Get(), bytes, path));
  if (::fsync(fd.Get()) != 0) return Error::Internal(Errno("fsync failed for", path));
  return OkStatus();
}

Result<std::string> ReadWholeFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return Error::NotFound(path + " does not exist");
    return Error::Internal(Errno("cannot open", path));
  }
  std::string out;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd.Get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::Internal(Errno("cannot read", path));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Status SyncPath(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Error::Internal(Errno("cannot open for fsync", path));
  if (::fsync(fd.Get()) != 0) return Error::Internal(Errno("fsync failed for", path));
  return OkStatus();
}

Status LinkExclusive(const std::string& source, const std::string& target) {
  if (::link(source.c_str(), target.c_str()) == 0) return OkStatus();
  if (errno == EEXIST) return Error::AlreadyExists(target + " exists");
  return Error::Internal(Errno("cannot link " + source + " to", target));
}

Status ReplaceFileAtomically(const std::string& path, std::string_view bytes) {
  fs::path p(path);
  std::string name = p.filename().string();
  name.insert(name.begin(), '.');
  name.append(".").append(NewUuid()).append(".tmp");
  std::string tmp = (p.parent_path() / name).string();
  MIGSBYU_TRY(WriteNewFile(tmp, bytes));
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status failed = Error::Internal(Errno("cannot rename " + tmp + " to", path));
    ::unlink(tmp.c_str());
    return failed;
  }
  return SyncPath(p.parent_path().string());
}

Status RemoveFile(const std::string& path) {
  if (::unlink(path.c_str()) == 0 || errno == ENOENT) return OkStatus();
  return Error::Internal(Errno("cannot remove", path));
}

std::vector<std::string> ListFiles(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_regular_file(ec)) names.push_back(entry.path().filename().string());
  }
  return names;
}

Result<int64_t> ModifiedMs(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Error::NotFound(path + " does not exist");
    return Error::Internal(Errno("cannot stat", path));
  }
  return int64_t{st.st_mtim.tv_sec} * 1000 + st.st_mtim.tv_nsec / 1000000;
}

std::string NewUuid() {
  unsigned char b[16];
  RandomBytes(b, sizeof b);
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0xF]);
  }
  return out;
}

int64_t RandomId() {
  for (;;) {
    uint64_t v = 0;
    RandomBytes(&v, sizeof v);
    auto id = static_cast<int64_t>(v & 0x7FFFFFFFFFFFFFFFULL);
    if (id != 0) return id;
  }
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace migsbyu::iceberg
