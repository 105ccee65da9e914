// The lake's dead-letter dataset: changes and messages that capture could not decode or store
// (transport/dead_letter.h), kept beside the lake's tables so that capture goes on and nothing
// is lost silently. `migsbyu lake dead-letters` lists them; /metrics counts them.
//
// Layout (owned here; kept apart from the manifest's datasets on purpose, so that it neither
// depends on nor changes the table format):
//   <lake>/_dead_letters/dead_letters.jsonl   one JSON object per line, appended, fdatasync'd
//   {"time_us":…, "source":"kafka"|"postgres", "reason":"…",
//    "topic":"…", "partition":0, "offset":12,               (kafka)
//    "lsn":"0/16B3748", "commit_lsn":"0/16B3790", "position":3,   (postgres)
//    "table":"…", "key_hex":"…"|null, "value_hex":"…"|null, "value_text":"…"|null,
//    "truncated":false}
// Raw bytes are kept in hex (any bytes, up to kMaxDeadLetterBytes each, more is cut and
// "truncated" is true); value_text is the value as text (invalid UTF-8 replaced) for reading.
// DuckDB reads the file as it is: SELECT * FROM read_json_auto('<lake>/_dead_letters/*.jsonl').
// The file is created with the first letter (a lake without any has no such folder); a line torn
// by a crash is cut when the store opens.
//
// Also the check that a change is storable at all (CheckStorable), made before the writer takes
// it, so that refusing it leaves the lake's open transaction untouched.
//
// Threading: DeadLetterStore as transport::DeadLetterSink says (one writer thread; count() from
// any); ListDeadLetters and CheckStorable are free functions safe from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/identifier.h"
#include "common/result.h"
#include "common/unique_fd.h"
#include "events/change_event.h"
#include "transport/dead_letter.h"

namespace migsbyu::lake {

inline constexpr const char* kDeadLetterDir = "_dead_letters";
inline constexpr size_t kMaxDeadLetterBytes = 1 << 20;

class DeadLetterStore : public transport::DeadLetterSink {
 public:
  // Opens (creating) the dead letters of the lake at `lake_dir`; kInternal naming the path when
  // the file cannot be opened, read or repaired.
  static Result<std::unique_ptr<DeadLetterStore>> Open(const std::string& lake_dir);
  DeadLetterStore(const DeadLetterStore&) = delete;
  DeadLetterStore& operator=(const DeadLetterStore&) = delete;

  Status Quarantine(const transport::DeadLetter& letter) override;
  uint64_t count() const override { return count_.load(); }

 private:
  DeadLetterStore(std::string dir, std::string path, UniqueFd fd)
      : dir_(std::move(dir)), path_(std::move(path)), fd_(std::move(fd)) {}
  // Opens (creating, with its folder) the file for appending.
  Status OpenFile();
  // What makes a letter the same one again: its Kafka coordinates or its change's identity.
  static std::string IdentityOf(const transport::DeadLetter& letter);

  std::string dir_;
  std::string path_;
  UniqueFd fd_;  // opened with the first letter (or when the file exists)
  std::set<std::string> seen_;
  std::atomic<uint64_t> count_{0};
};

// The dead letters of the lake at `lake_dir`, oldest first, at most `limit` of the newest
// (0: all). An absent store is empty. Lines that do not parse are skipped.
Result<std::vector<transport::DeadLetter>> ListDeadLetters(const std::string& lake_dir,
                                                           size_t limit = 0);

// Whether the lake can store `change` as it is: the table and column names are identifiers
// ([A-Za-z_][A-Za-z0-9_]*, at most 63 characters: they become file and column names), and each
// value fits its column's lake type (a numeric of a DECIMAL(p,s) column is a finite decimal
// with at most p − s integer digits: not NaN or Infinity). kValidation naming the table, column
// and value otherwise.
Status CheckStorable(const events::ChangeEvent& change);
// Its two halves: the names (the same for every change of one schema object) and the values.
Status CheckStorableNames(const events::TableSchema& table);
Status CheckStorableValues(const events::ChangeEvent& change);

}  // namespace migsbyu::lake
