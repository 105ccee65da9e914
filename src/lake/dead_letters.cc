#include "lake/dead_letters.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/decimal.h"
#include "lake/catalog.h"
#include "lake/manifest.h"

namespace migsbyu::lake {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr const char* kFileName = "dead_letters.jsonl";

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

std::optional<std::string> Unhex(std::string_view hex) {
  if (hex.size() % 2) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi << 4 | lo);
  }
  return out;
}

Error IoError(const std::string& what, const std::string& path) {
  return Error::Internal("dead letters: cannot " + what + " " + path + ": " + std::strerror(errno));
}

json ToJson(const transport::DeadLetter& d) {
  bool truncated = false;
  auto raw = [&](const std::optional<std::string>& bytes) -> json {
    if (!bytes) return nullptr;
    if (bytes->size() > kMaxDeadLetterBytes) truncated = true;
    return Hex(std::string_view(*bytes).substr(0, kMaxDeadLetterBytes));
  };
  json j = {{"time_us", d.time_us}, {"source", d.source}, {"reason", d.reason}, {"table", d.table}};
  if (d.source == "kafka") {
    j["topic"] = d.topic;
    j["partition"] = d.partition;
    j["offset"] = d.offset;
  } else {
    j["lsn"] = d.lsn ? json(d.lsn->ToString()) : json(nullptr);
    j["commit_lsn"] = d.commit_lsn ? json(d.commit_lsn->ToString()) : json(nullptr);
    j["position"] = d.position;
  }
  j["key_hex"] = raw(d.key);
  j["value_hex"] = raw(d.value);
  j["value_text"] = d.value
                        ? json(d.value->substr(0, std::min(d.value->size(), kMaxDeadLetterBytes)))
                        : json(nullptr);
  j["truncated"] = truncated;
  return j;
}

std::optional<transport::DeadLetter> FromJson(const json& j) {
  if (!j.is_object()) return std::nullopt;
  transport::DeadLetter d;
  d.time_us = j.value("time_us", int64_t{0});
  d.source = j.value("source", "");
  d.reason = j.value("reason", "");
  d.table = j.value("table", "");
  d.topic = j.value("topic", "");
  d.partition = j.value("partition", int32_t{-1});
  d.offset = j.value("offset", int64_t{-1});
  d.position = j.value("position", uint64_t{0});
  auto lsn = [&](const char* field) -> std::optional<Lsn> {
    if (!j.contains(field) || !j[field].is_string()) return std::nullopt;
    return Lsn::Parse(j[field].get<std::string>());
  };
  d.lsn = lsn("lsn");
  d.commit_lsn = lsn("commit_lsn");
  auto bytes = [&](const char* field) -> std::optional<std::string> {
    if (!j.contains(field) || !j[field].is_string()) return std::nullopt;
    return Unhex(j[field].get<std::string>());
  };
  d.key = bytes("key_hex");
  d.value = bytes("value_hex");
  return d;
}

}  // namespace

std::string DeadLetterStore::IdentityOf(const transport::DeadLetter& d) {
  if (d.source == "kafka") {
    return "k/" + d.topic + "/" + std::to_string(d.partition) + "/" + std::to_string(d.offset);
  }
  return "p/" + (d.commit_lsn ? d.commit_lsn->ToString() : "") + "/" + std::to_string(d.position);
}

Result<std::unique_ptr<DeadLetterStore>> DeadLetterStore::Open(const std::string& lake_dir) {
  const fs::path dir = fs::path(lake_dir) / kDeadLetterDir;
  const std::string path = (dir / kFileName).string();
  std::unique_ptr<DeadLetterStore> store(new DeadLetterStore(dir.string(), path, UniqueFd()));
  std::error_code ec;
  if (!fs::exists(path, ec)) return store;  // created with the first letter
  MIGSBYU_TRY(store->OpenFile());
  // Keep the complete lines; a torn tail (a crash mid-append) is cut.
  std::string text;
  {
    std::ifstream in(path, std::ios::binary);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  size_t complete = text.rfind('\n');
  complete = complete == std::string::npos ? 0 : complete + 1;
  if (complete != text.size()) {
    if (::ftruncate(store->fd_.Get(), static_cast<off_t>(complete)) != 0) {
      return IoError("repair", path);
    }
    if (::fdatasync(store->fd_.Get()) != 0) return IoError("sync", path);
  }
  size_t start = 0;
  while (start < complete) {
    size_t end = text.find('\n', start);
    auto letter = FromJson(json::parse(text.substr(start, end - start), nullptr, false));
    if (letter && store->seen_.insert(IdentityOf(*letter)).second) ++store->count_;
    start = end + 1;
  }
  return store;
}

Status DeadLetterStore::OpenFile() {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) return Error::Internal("dead letters: cannot create " + dir_ + ": " + ec.message());
  fd_.Reset(::open(path_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!fd_) return IoError("open", path_);
  return SyncPath(dir_);
}

Status DeadLetterStore::Quarantine(const transport::DeadLetter& letter) {
  std::string identity = IdentityOf(letter);
  if (seen_.count(identity)) return OkStatus();
  if (!fd_) MIGSBYU_TRY(OpenFile());
  std::string line = ToJson(letter).dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  size_t done = 0;
  while (done < line.size()) {
    ssize_t n = ::write(fd_.Get(), line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return IoError("append to", path_);
    done += static_cast<size_t>(n);
  }
  if (::fdatasync(fd_.Get()) != 0) return IoError("sync", path_);
  seen_.insert(std::move(identity));
  ++count_;
  return OkStatus();
}

Result<std::vector<transport::DeadLetter>> ListDeadLetters(const std::string& lake_dir,
                                                           size_t limit) {
  const fs::path path = fs::path(lake_dir) / kDeadLetterDir / kFileName;
  std::deque<transport::DeadLetter> out;
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::vector<transport::DeadLetter>();
  for (std::string line; std::getline(in, line);) {
    if (in.eof()) break;  // no newline: torn
    auto letter = FromJson(json::parse(line, nullptr, false));
    if (!letter) continue;
    out.push_back(std::move(*letter));
    if (limit && out.size() > limit) out.pop_front();
  }
  return std::vector<transport::DeadLetter>(std::make_move_iterator(out.begin()),
                                            std::make_move_iterator(out.end()));
}

namespace {

Error Unstorable(std::string message) { return {ErrorCode::kValidation, std::move(message)}; }

// A numeric's text fits DECIMAL(precision, scale): [+-]digits[.digits], at most precision −
// scale integer digits (leading zeros aside).
bool FitsDecimal(std::string_view text, int precision, int scale) {
  auto d = ParseDecimal(text);
  if (!d.ok()) return false;
  const int digits = static_cast<int>(d->digits.size());
  const int integer_digits = d->digits == "0" ? 0 : std::max(0, digits - d->scale);
  return integer_digits <= precision - scale;
}

}  // namespace

Status CheckStorable(const events::ChangeEvent& change) {
  MIGSBYU_TRY(CheckStorableNames(*change.table));
  return CheckStorableValues(change);
}

Status CheckStorableNames(const events::TableSchema& table) {
  if (!IsPlainIdentifier(table.name)) {
    return Unstorable("lake: table name '" + table.name.substr(0, 80) +
                      "' is not an identifier ([A-Za-z_][A-Za-z0-9_]*, at most 63)");
  }
  for (const auto& c : table.columns) {
    if (!IsPlainIdentifier(c.name)) {
      return Unstorable("lake: column name '" + c.name.substr(0, 80) + "' of " + table.name +
                        " is not an identifier");
    }
  }
  return OkStatus();
}

Status CheckStorableValues(const events::ChangeEvent& change) {
  const events::TableSchema& table = *change.table;
  for (const auto* image : {&change.before, &change.after}) {
    if (!*image) continue;
    for (size_t i = 0; i < (*image)->size() && i < table.columns.size(); ++i) {
      const events::Value& v = (**image)[i];
      const events::Column& c = table.columns[i];
      if (v.state != events::Value::State::kPresent || c.type != events::ValueType::kNumeric) {
        continue;
      }
      auto decimal = DecimalOf(c);
      if (decimal && !FitsDecimal(v.text, decimal->first, decimal->second)) {
        return Unstorable("lake: " + table.name + "." + c.name + " value '" + v.text.substr(0, 80) +
                          "' does not fit " + DuckTypeOf(c));
      }
    }
  }
  return OkStatus();
}

}  // namespace migsbyu::lake
