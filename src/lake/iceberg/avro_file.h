// Avro object container files (Avro 1.11 specification, "Object Container Files") for Iceberg's
// manifests and manifest lists, with the datums encoded and decoded by the Avro C library.
//
// Why the container framing is ours: Iceberg needs two things avro-c's datafile writer cannot
// give. The header must carry key-value metadata of our own (a manifest's "schema",
// "partition-spec", "content", ...), and the schema stored in the header must keep Iceberg's
// "field-id" / "element-id" attributes and "logicalType": "map", which avro-c's schema parser
// drops (its avro_schema_to_json prints only what it models). So the writer stores the schema
// text it was given, verbatim, and uses avro-c only to encode each record against the same
// schema parsed; the reader decodes records with avro-c against the header's schema. Files made
// here are also read by avro-c's own container reader (avro_file_reader), which the tests use.
//
// Layout written: "Obj" 0x01; the metadata as an Avro map<bytes> (one block; "avro.schema" =
// the schema JSON, "avro.codec" = "null", then the caller's pairs); a 16-byte random sync
// marker; one data block (record count, byte size, the records, the sync marker). Readers accept
// any number of blocks, codec "null" only.
//
// Threading: a writer or reader is used by one thread at a time; distinct ones are independent.
#pragma once

#include <avro.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"

namespace migsbyu::iceberg {

// Owns one avro-c generic value of a parsed schema (schema, class and value, released together).
class AvroRecord {
 public:
  // kInvalidArgument with avro-c's message when `schema_json` does not parse.
  static Result<AvroRecord> Create(const std::string& schema_json);
  AvroRecord(AvroRecord&& other) noexcept;
  AvroRecord& operator=(AvroRecord&& other) noexcept;
  AvroRecord(const AvroRecord&) = delete;
  AvroRecord& operator=(const AvroRecord&) = delete;
  ~AvroRecord();

  avro_value_t* value() { return &value_; }
  // Empties the value for the next record (arrays emptied, unions unset).
  void Reset();

 private:
  AvroRecord() = default;
  void Release();
  avro_schema_t schema_ = nullptr;
  avro_value_iface_t* iface_ = nullptr;
  avro_value_t value_{};
  bool has_value_ = false;
};

class AvroContainerWriter {
 public:
  // `schema_json` (a record schema) is stored in the header as given; `metadata` pairs follow
  // avro.schema and avro.codec in the header. Keys starting "avro." are refused.
  static Result<AvroContainerWriter> Create(
      std::string schema_json, std::vector<std::pair<std::string, std::string>> metadata);

  // The record the next Append encodes; fill it through avro-c's value API.
  avro_value_t* record() { return record_.value(); }
  // Encodes record() after the records appended so far, then resets it. kInvalidArgument with
  // avro-c's message when the value is incomplete (a union without a branch, ...).
  Status Append();
  size_t count() const { return count_; }
  // The whole file's bytes.
  std::string Finish() const;

 private:
  AvroContainerWriter(std::string schema_json,
                      std::vector<std::pair<std::string, std::string>> metadata, AvroRecord record);
  std::string schema_json_;
  std::vector<std::pair<std::string, std::string>> metadata_;
  AvroRecord record_;
  std::string block_;
  size_t count_ = 0;
};

class AvroContainerReader {
 public:
  // Reads the header of `bytes` (the whole file). kCorruption naming `origin` for a file that is
  // not an Avro container, a codec other than "null", or a schema avro-c cannot parse.
  static Result<AvroContainerReader> Open(std::string bytes, std::string origin);
  AvroContainerReader(AvroContainerReader&&) noexcept = default;
  AvroContainerReader& operator=(AvroContainerReader&&) noexcept = default;

  // Header metadata, "avro.schema" included (the schema text as the writer stored it).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // Decodes the next record into record(); false after the last. kCorruption when a block is
  // truncated, its sync marker differs or a record does not decode.
  Result<bool> Next();
  avro_value_t* record() { return record_.value(); }

 private:
  AvroContainerReader(std::string bytes, std::string origin, AvroRecord record)
      : bytes_(std::move(bytes)), origin_(std::move(origin)), record_(std::move(record)) {}
  Status OpenBlock();

  std::string bytes_;
  std::string origin_;
  AvroRecord record_;
  std::map<std::string, std::string> metadata_;
  std::string sync_;
  size_t offset_ = 0;       // next unread byte of bytes_ (after the current block)
  size_t block_begin_ = 0;  // the current block's records
  size_t block_end_ = 0;
  int64_t block_left_ = 0;  // records of the current block not read yet
  std::unique_ptr<std::remove_pointer_t<avro_reader_t>, void (*)(avro_reader_t)> block_reader_{
      nullptr, avro_reader_free};
};

}  // namespace migsbyu::iceberg
