#include "transport/file/file_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "common/log.h"

namespace migsbyu::transport {

namespace {

constexpr std::string_view kCommitPrefix = "{\"type\":\"commit\"";

void AppendEscaped(std::string* out, std::string_view s) {
  out->push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out->append(buf);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

void AppendValue(std::string* out, events::ValueType type, const events::Value& v) {
  using events::ValueType;
  if (v.state == events::Value::State::kNull) {
    out->append("null");
    return;
  }
  if (v.state == events::Value::State::kUnchangedToast) {
    out->append("{\"unchanged_toast\":true}");
    return;
  }
  switch (type) {
    case ValueType::kBool:
      out->append(v.integer ? "true" : "false");
      return;
    case ValueType::kInt16:
    case ValueType::kInt32:
    case ValueType::kInt64:
      out->append(std::to_string(v.integer));
      return;
    case ValueType::kFloat64:
      if (!std::isfinite(v.real)) {
        AppendEscaped(out, std::isnan(v.real) ? "NaN" : (v.real > 0 ? "Infinity" : "-Infinity"));
      } else {
        out->append(events::ValueToText(type, v));
      }
      return;
    case ValueType::kNumeric:
    case ValueType::kText:
      AppendEscaped(out, v.text);
      return;
    case ValueType::kDate:
    case ValueType::kTimestamp:
    case ValueType::kTimestampTz:
      AppendEscaped(out, events::ValueToText(type, v));
      return;
  }
}

void AppendRow(std::string* out, const events::TableSchema& table,
               const std::optional<events::Row>& row) {
  if (!row) {
    out->append("null");
    return;
  }
  out->push_back('{');
  for (size_t i = 0; i < row->size() && i < table.columns.size(); ++i) {
    if (i) out->push_back(',');
    AppendEscaped(out, table.columns[i].name);
    out->push_back(':');
    AppendValue(out, table.columns[i].type, (*row)[i]);
  }
  out->push_back('}');
}

void AppendField(std::string* out, std::string_view name, std::string_view raw_value) {
  out->push_back(',');
  out->push_back('"');
  out->append(name);
  out->append("\":");
  out->append(raw_value);
}

void AppendLsn(std::string* out, std::string_view name, Lsn lsn) {
  AppendField(out, name, "\"" + lsn.ToString() + "\"");
}

}  // namespace

Error FileSink::IoError(const std::string& what) const {
  return Error::Internal("file sink " + path_ + ": " + what + ": " + std::strerror(errno));
}

Result<std::unique_ptr<FileSink>> FileSink::Open(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd) return Error::Internal("file sink " + path + ": cannot open: " + std::strerror(errno));
  std::unique_ptr<FileSink> sink(new FileSink(path, std::move(fd)));
  MIGSBYU_TRY(sink->Recover());
  return sink;
}

FileSink::~FileSink() {
  if (buffer_.empty()) return;
  const size_t unwritten = buffer_.size();
  Status written = WriteBuffer();
  if (!written.ok()) {
    MIGSBYU_LOG_ERROR(
        "{} at close: {} buffered bytes not written (recovery keeps the file up "
        "to its last complete commit line)",
        written.error().message(), unwritten);
  }
}

Status FileSink::Recover() {
  struct stat st;
  if (fstat(fd_.Get(), &st) != 0) return IoError("stat");
  uint64_t size = static_cast<uint64_t>(st.st_size);
  // Walk complete lines backwards from the end until a commit line.
  constexpr uint64_t kBlock = 1 << 16;
  std::string window;  // file bytes [window_start, size)
  uint64_t window_start = size;
  auto byte_at = [&](uint64_t pos, char* out) -> Status {
    while (pos < window_start) {
      uint64_t start = window_start > kBlock ? window_start - kBlock : 0;
      std::string block(window_start - start, '\0');
      ssize_t n = pread(fd_.Get(), block.data(), block.size(), static_cast<off_t>(start));
      if (n != static_cast<ssize_t>(block.size())) return IoError("read during recovery");
      window.insert(0, block);
      window_start = start;
    }
    *out = window[pos - window_start];
    return OkStatus();
  };
  uint64_t end = size;  // exclusive end of the candidate region; lines end at '\n' before it
  // Drop a torn last line (no terminating newline).
  while (end > 0) {
    char c;
    MIGSBYU_TRY(byte_at(end - 1, &c));
    if (c == '\n') break;
    --end;
  }
  uint64_t keep = 0;
  while (end > 0) {
    // The line is [start, end - 1) with '\n' at end - 1.
    uint64_t start = end - 1;
    while (start > 0) {
      char c;
      MIGSBYU_TRY(byte_at(start - 1, &c));
      if (c == '\n') break;
      --start;
    }
    std::string line(end - 1 - start, '\0');
    if (pread(fd_.Get(), line.data(), line.size(), static_cast<off_t>(start)) !=
        static_cast<ssize_t>(line.size())) {
      return IoError("read during recovery");
    }
    if (std::string_view(line).starts_with(kCommitPrefix)) {
      auto json = nlohmann::json::parse(line, nullptr, false);
      if (!json.is_discarded() && json.contains("end_lsn") && json["end_lsn"].is_string()) {
        if (auto lsn = Lsn::Parse(json["end_lsn"].get<std::string>())) {
          resume_ = *lsn;
          committed_end_ = *lsn;
          keep = end;
          break;
        }
      }
      return Error::Corruption("file sink " + path_ + ": unreadable commit line at offset " +
                               std::to_string(start));
    }
    end = start;
    window.resize(end - window_start);  // memory: only the bytes before the next candidate
  }
  if (keep != size && ftruncate(fd_.Get(), static_cast<off_t>(keep)) != 0) {
    return IoError("truncate");
  }
  if (keep != size && fdatasync(fd_.Get()) != 0) return IoError("fdatasync");
  written_ = keep;
  committed_offset_ = keep;
  return OkStatus();
}

Status FileSink::WriteBuffer() {
  size_t done = 0;
  while (done < buffer_.size()) {
    ssize_t n = pwrite(fd_.Get(), buffer_.data() + done, buffer_.size() - done,
                       static_cast<off_t>(written_ + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("write");
    }
    done += static_cast<size_t>(n);
  }
  written_ += buffer_.size();
  buffer_.clear();
  return OkStatus();
}

Status FileSink::Begin(const events::TransactionInfo& tx) {
  if (written_ + buffer_.size() != committed_offset_) {
    // A transaction was begun and never committed: drop its lines.
    if (committed_offset_ >= written_) {
      buffer_.resize(committed_offset_ - written_);
    } else {
      buffer_.clear();
      if (ftruncate(fd_.Get(), static_cast<off_t>(committed_offset_)) != 0) {
        return IoError("truncate");
      }
      written_ = committed_offset_;
    }
  }
  changes_ = 0;
  buffer_.append("{\"type\":\"begin\"");
  AppendField(&buffer_, "xid", std::to_string(tx.xid));
  AppendLsn(&buffer_, "commit_lsn", tx.commit_lsn);
  AppendField(&buffer_, "commit_time_us", std::to_string(tx.commit_time_us));
  AppendField(&buffer_, "snapshot", tx.snapshot ? "true" : "false");
  buffer_.append("}\n");
  return MaybeWrite();
}

Status FileSink::Apply(const events::ChangeEvent& e) {
  buffer_.append("{\"type\":\"change\",\"op\":\"");
  buffer_.push_back(static_cast<char>(e.op));
  buffer_.append("\",\"schema\":");
  AppendEscaped(&buffer_, e.table->schema);
  buffer_.append(",\"table\":");
  AppendEscaped(&buffer_, e.table->name);
  AppendField(&buffer_, "xid", std::to_string(e.xid));
  AppendLsn(&buffer_, "commit_lsn", e.commit_lsn);
  AppendLsn(&buffer_, "lsn", e.lsn);
  AppendField(&buffer_, "position", std::to_string(e.position));
  AppendField(&buffer_, "commit_time_us", std::to_string(e.commit_time_us));
  buffer_.append(",\"changed_by\":");
  if (e.actor.user) {
    AppendEscaped(&buffer_, *e.actor.user);
  } else {
    buffer_.append("null");
  }
  buffer_.append(",\"origin\":");
  AppendEscaped(&buffer_, e.actor.origin);
  buffer_.append(",\"before\":");
  AppendRow(&buffer_, *e.table, e.before);
  buffer_.append(",\"after\":");
  AppendRow(&buffer_, *e.table, e.after);
  buffer_.append("}\n");
  ++changes_;
  return MaybeWrite();
}

Status FileSink::Commit(const events::TransactionInfo& tx) {
  buffer_.append(kCommitPrefix);
  AppendField(&buffer_, "xid", std::to_string(tx.xid));
  AppendLsn(&buffer_, "commit_lsn", tx.commit_lsn);
  AppendLsn(&buffer_, "end_lsn", tx.end_lsn);
  AppendField(&buffer_, "commit_time_us", std::to_string(tx.commit_time_us));
  AppendField(&buffer_, "snapshot", tx.snapshot ? "true" : "false");
  AppendField(&buffer_, "changes", std::to_string(changes_));
  buffer_.append("}\n");
  committed_offset_ = written_ + buffer_.size();
  committed_end_ = tx.end_lsn;
  return MaybeWrite();
}

Result<Lsn> FileSink::Flush() {
  MIGSBYU_TRY(WriteBuffer());
  if (fdatasync(fd_.Get()) != 0) return IoError("fdatasync");
  return committed_end_;
}

}  // namespace migsbyu::transport
