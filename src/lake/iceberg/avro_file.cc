#include "lake/iceberg/avro_file.h"

#include <sys/random.h>

#include <cstring>
#include <random>

namespace migsbyu::iceberg {
namespace {

constexpr char kMagic[] = {'O', 'b', 'j', '\x01'};
constexpr size_t kSyncSize = 16;

std::string AvroMessage() {
  const char* message = avro_strerror();
  return message && *message ? message : "unknown avro-c error";
}

// Avro's variable-length zig-zag encoding of a long.
void PutLong(std::string& out, int64_t v) {
  uint64_t z = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  while (z >= 0x80) {
    out.push_back(static_cast<char>((z & 0x7F) | 0x80));
    z >>= 7;
  }
  out.push_back(static_cast<char>(z));
}

void PutBytes(std::string& out, std::string_view bytes) {
  PutLong(out, static_cast<int64_t>(bytes.size()));
  out.append(bytes);
}

bool GetLong(std::string_view bytes, size_t* offset, int64_t* v) {
  uint64_t z = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (*offset >= bytes.size()) return false;
    unsigned char b = static_cast<unsigned char>(bytes[(*offset)++]);
    z |= static_cast<uint64_t>(b & 0x7F) << shift;
    if (!(b & 0x80)) {
      *v = static_cast<int64_t>(z >> 1) ^ -static_cast<int64_t>(z & 1);
      return true;
    }
  }
  return false;
}

bool GetBytes(std::string_view bytes, size_t* offset, std::string* out) {
  int64_t n = 0;
  if (!GetLong(bytes, offset, &n) || n < 0 || static_cast<uint64_t>(n) > bytes.size() - *offset) {
    return false;
  }
  out->assign(bytes.substr(*offset, static_cast<size_t>(n)));
  *offset += static_cast<size_t>(n);
  return true;
}

std::string RandomSync() {
  std::string sync(kSyncSize, '\0');
  if (getrandom(sync.data(), sync.size(), 0) != static_cast<ssize_t>(sync.size())) {
    std::random_device rd;
    for (char& c : sync) c = static_cast<char>(rd());
  }
  return sync;
}

}  // namespace

// ---- AvroRecord ----

Result<AvroRecord> AvroRecord::Create(const std::string& schema_json) {
  AvroRecord r;
  if (avro_schema_from_json_length(schema_json.data(), schema_json.size(), &r.schema_)) {
    r.schema_ = nullptr;
    return Error::InvalidArgument("avro schema does not parse: " + AvroMessage());
  }
  r.iface_ = avro_generic_class_from_schema(r.schema_);
  if (!r.iface_ || avro_generic_value_new(r.iface_, &r.value_)) {
    return Error::Internal("avro: cannot make a value of the schema: " + AvroMessage());
  }
  r.has_value_ = true;
  return r;
}

AvroRecord::AvroRecord(AvroRecord&& other) noexcept
    : schema_(std::exchange(other.schema_, nullptr)),
      iface_(std::exchange(other.iface_, nullptr)),
      value_(other.value_),
      has_value_(std::exchange(other.has_value_, false)) {}

AvroRecord& AvroRecord::operator=(AvroRecord&& other) noexcept {
  if (this != &other) {
    Release();
    schema_ = std::exchange(other.schema_, nullptr);
    iface_ = std::exchange(other.iface_, nullptr);
    value_ = other.value_;
    has_value_ = std::exchange(other.has_value_, false);
  }
  return *this;
}

AvroRecord::~AvroRecord() { Release(); }

void AvroRecord::Release() {
  if (has_value_) avro_value_decref(&value_);
  if (iface_) avro_value_iface_decref(iface_);
  if (schema_) avro_schema_decref(schema_);
  has_value_ = false;
  iface_ = nullptr;
  schema_ = nullptr;
}

void AvroRecord::Reset() {
  if (has_value_) avro_value_reset(&value_);
}

// ---- AvroContainerWriter ----

Result<AvroContainerWriter> AvroContainerWriter::Create(
    std::string schema_json, std::vector<std::pair<std::string, std::string>> metadata) {
  for (const auto& [key, value] : metadata) {
    if (key.rfind("avro.", 0) == 0) {
      return Error::InvalidArgument("avro metadata key '" + key + "' is reserved");
    }
  }
  MIGSBYU_ASSIGN(AvroRecord record, AvroRecord::Create(schema_json));
  return AvroContainerWriter(std::move(schema_json), std::move(metadata), std::move(record));
}

AvroContainerWriter::AvroContainerWriter(std::string schema_json,
                                         std::vector<std::pair<std::string, std::string>> metadata,
                                         AvroRecord record)
    : schema_json_(std::move(schema_json)),
      metadata_(std::move(metadata)),
      record_(std::move(record)) {}

Status AvroContainerWriter::Append() {
  size_t size = 0;
  if (avro_value_sizeof(record(), &size)) {
    return Error::InvalidArgument("avro: record cannot be encoded: " + AvroMessage());
  }
  size_t at = block_.size();
  block_.resize(at + size);
  avro_writer_t writer = avro_writer_memory(block_.data() + at, static_cast<int64_t>(size));
  int rc = avro_value_write(writer, record());
  avro_writer_free(writer);
  if (rc) {
    block_.resize(at);
    return Error::InvalidArgument("avro: record cannot be encoded: " + AvroMessage());
  }
  ++count_;
  record_.Reset();
  return OkStatus();
}

std::string AvroContainerWriter::Finish() const {
  std::string out(kMagic, sizeof kMagic);
  PutLong(out, static_cast<int64_t>(metadata_.size() + 2));
  PutBytes(out, "avro.schema");
  PutBytes(out, schema_json_);
  PutBytes(out, "avro.codec");
  PutBytes(out, "null");
  for (const auto& [key, value] : metadata_) {
    PutBytes(out, key);
    PutBytes(out, value);
  }
  PutLong(out, 0);
  std::string sync = RandomSync();
  out += sync;
  if (count_ > 0) {
    PutLong(out, static_cast<int64_t>(count_));
    PutLong(out, static_cast<int64_t>(block_.size()));
    out += block_;
    out += sync;
  }
  return out;
}

// ---- AvroContainerReader ----

Result<AvroContainerReader> AvroContainerReader::Open(std::string bytes, std::string origin) {
  auto corrupt = [&](const std::string& what) {
    return Error::Corruption(origin + ": not an Avro container file: " + what);
  };
  if (bytes.size() < sizeof kMagic + kSyncSize ||
      std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    return corrupt("bad magic");
  }
  size_t offset = sizeof kMagic;
  std::map<std::string, std::string> metadata;
  for (;;) {
    int64_t count = 0;
    if (!GetLong(bytes, &offset, &count)) return corrupt("truncated metadata");
    if (count == 0) break;
    if (count < 0) {
      int64_t block_bytes = 0;
      if (!GetLong(bytes, &offset, &block_bytes)) return corrupt("truncated metadata");
      count = -count;
    }
    for (int64_t i = 0; i < count; ++i) {
      std::string key, value;
      if (!GetBytes(bytes, &offset, &key) || !GetBytes(bytes, &offset, &value)) {
        return corrupt("truncated metadata");
      }
      metadata[key] = std::move(value);
    }
  }
  if (bytes.size() - offset < kSyncSize) return corrupt("no sync marker");
  std::string sync = bytes.substr(offset, kSyncSize);
  offset += kSyncSize;
  auto codec = metadata.find("avro.codec");
  if (codec != metadata.end() && codec->second != "null") {
    return Error::Corruption(origin + ": Avro codec '" + codec->second + "' is not supported");
  }
  auto schema = metadata.find("avro.schema");
  if (schema == metadata.end()) return corrupt("no avro.schema");
  auto record = AvroRecord::Create(schema->second);
  if (!record.ok()) return Error::Corruption(origin + ": " + record.error().message());
  AvroContainerReader reader(std::move(bytes), std::move(origin), std::move(record).value());
  reader.metadata_ = std::move(metadata);
  reader.sync_ = std::move(sync);
  reader.offset_ = offset;
  return reader;
}

Status AvroContainerReader::OpenBlock() {
  int64_t count = 0, size = 0;
  if (!GetLong(bytes_, &offset_, &count) || !GetLong(bytes_, &offset_, &size) || count < 0 ||
      size < 0 || static_cast<uint64_t>(size) + kSyncSize > bytes_.size() - offset_) {
    return Error::Corruption(origin_ + ": truncated Avro block");
  }
  block_begin_ = offset_;
  block_end_ = offset_ + static_cast<size_t>(size);
  if (bytes_.compare(block_end_, kSyncSize, sync_) != 0) {
    return Error::Corruption(origin_ + ": Avro block sync marker differs from the header's");
  }
  offset_ = block_end_ + kSyncSize;
  block_left_ = count;
  block_reader_.reset(avro_reader_memory(bytes_.data() + block_begin_, size));
  return OkStatus();
}

Result<bool> AvroContainerReader::Next() {
  while (block_left_ == 0) {
    if (offset_ >= bytes_.size()) return false;
    MIGSBYU_TRY(OpenBlock());
  }
  record_.Reset();
  if (avro_value_read(block_reader_.get(), record())) {
    return Error::Corruption(origin_ + ": Avro record does not decode: " + AvroMessage());
  }
  --block_left_;
  return true;
}

}  // namespace migsbyu::iceberg
