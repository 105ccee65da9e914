#include "cdc/spool.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "common/unique_fd.h"

namespace migsbyu::cdc {

namespace {
constexpr size_t kBufferBytes = 1 << 20;

struct RecordHeader {
  uint32_t subxid;
  uint64_t lsn;
  uint32_t length;
};
}  // namespace

Result<std::unique_ptr<TransactionSpool>> TransactionSpool::Create(const std::string& dir,
                                                                   uint32_t xid) {
  std::string folder = dir;
  if (folder.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    folder = tmp && *tmp ? tmp : "/tmp";
  }
  std::string path = folder + "/migsbyu-spool-" + std::to_string(xid) + "-XXXXXX";
  std::vector<char> name(path.begin(), path.end());
  name.push_back('\0');
  UniqueFd fd(mkstemp(name.data()));
  if (!fd) {
    return Error::Internal("cannot create spool file in " + folder + ": " + std::strerror(errno));
  }
  unlink(name.data());
  std::FILE* f = fdopen(fd.Get(), "w+b");
  if (f == nullptr) {
    return Error::Internal("cannot open spool file in " + folder + ": " + std::strerror(errno));
  }
  fd.Release();  // the FILE owns it now
  std::setvbuf(f, nullptr, _IOFBF, kBufferBytes);
  return std::unique_ptr<TransactionSpool>(new TransactionSpool(f, xid));
}

TransactionSpool::~TransactionSpool() { std::fclose(file_); }

Status TransactionSpool::Append(uint32_t subxid, Lsn lsn, std::string_view message) {
  RecordHeader h{subxid, lsn.value(), static_cast<uint32_t>(message.size())};
  if (std::fwrite(&h, sizeof h, 1, file_) != 1 ||
      std::fwrite(message.data(), 1, message.size(), file_) != message.size()) {
    return Error::Internal("spool of transaction " + std::to_string(xid_) +
                           ": write failed: " + std::strerror(errno));
  }
  bytes_ += sizeof h + message.size();
  return OkStatus();
}

Status TransactionSpool::Replay(const std::function<Status(Lsn, std::string_view)>& visit) {
  auto fail = [&](const char* what) {
    return Error::Internal("spool of transaction " + std::to_string(xid_) + ": " + what);
  };
  if (std::fflush(file_) != 0 || std::fseek(file_, 0, SEEK_SET) != 0) return fail("rewind failed");
  std::string message;
  uint64_t read = 0;
  while (read < bytes_) {
    RecordHeader h;
    if (std::fread(&h, sizeof h, 1, file_) != 1) return fail("short read of a record header");
    message.resize(h.length);
    if (h.length && std::fread(message.data(), 1, h.length, file_) != h.length) {
      return fail("short read of a record");
    }
    read += sizeof h + h.length;
    // A rolled-back subtransaction's rows vanish, but a schema it described still holds for
    // the rest of the transaction (pgoutput sends each relation once per streamed transaction).
    bool describes_schema = !message.empty() && (message[0] == 'R' || message[0] == 'Y');
    if (aborted_.count(h.subxid) && !describes_schema) continue;
    MIGSBYU_TRY(visit(Lsn(h.lsn), message));
  }
  return OkStatus();
}

}  // namespace migsbyu::cdc
