// transport::FileSink: committed transactions as newline-delimited JSON in one file, durable on
// Flush (fdatasync), with exactly-once recovery after a crash.
//
// Format: one JSON object per line, three kinds, in commit order:
//   {"type":"begin","xid":731,"commit_lsn":"0/1A2B3C","commit_time_us":1732550000000000,
//    "snapshot":false}
//   {"type":"change","op":"u","schema":"public","table":"students","xid":731,
//    "commit_lsn":"0/1A2B3C","lsn":"0/1A2A00","position":0,"commit_time_us":...,
//    "changed_by":"registrar1","origin":"portal",
//    "before":{"id":"S1","gpa":"3.50",...},"after":{...}}
//   {"type":"commit","xid":731,"commit_lsn":"0/1A2B3C","end_lsn":"0/1A2B70",
//    "commit_time_us":...,"snapshot":false,"changes":1}
// op is r(ead, snapshot), c(reate), u(pdate), d(elete) or t(runcate); changed_by (a string or
// null) and origin say who made the change (common/actor.h); before/after are null when absent.
// Values are typed: bool → true/false, int2/4/8 → numbers, float8 → number (NaN and infinities as
// strings), numeric → exact decimal string, date → "YYYY-MM-DD", timestamp → "YYYY-MM-DD
// HH:MM:SS[.ffffff]", timestamptz → the same with "+00" (UTC), NULL → null, an unchanged TOAST
// value the decoder could not fill → {"unchanged_toast":true}, anything else → its PostgreSQL text
// form as a string.
//
// Recovery: Open() finds the last complete commit line, truncates any torn or uncommitted tail
// after it, and reports its end_lsn as ResumeLsn(). A transaction begun again (after a failed
// or unflushed one) first drops the uncommitted lines. So after any crash the file holds every
// transaction once, whole.
//
// Memory: lines are buffered up to 1 MiB, then written; a transaction of any size streams.
// Errors: a failed write or fdatasync is returned by the call that made it (Begin, Apply and
// Commit write when the buffer is full, Flush always). The destructor writes what is still
// buffered, without syncing (recovery drops it unless a commit line made it); it can only log a
// failure, so call Flush first to get every error as a value.
// Threading: one thread (REQUIRES: external synchronization), as the Sink contract says.
#pragma once

#include <memory>
#include <string>

#include "common/unique_fd.h"
#include "transport/sink.h"

namespace migsbyu::transport {

class FileSink : public Sink {
 public:
  // Opens (creating if absent) the file at `path` and recovers it as described above.
  // kInternal naming the path when it cannot be opened, read or truncated.
  static Result<std::unique_ptr<FileSink>> Open(const std::string& path);
  ~FileSink() override;
  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;

  Status Begin(const events::TransactionInfo& tx) override;
  Status Apply(const events::ChangeEvent& change) override;
  Status Commit(const events::TransactionInfo& tx) override;
  // Writes the buffer and fdatasyncs; returns the end_lsn of the last committed transaction.
  // kInternal naming the path and the failed call (write, fdatasync) with errno's text.
  Result<Lsn> Flush() override;
  std::optional<Lsn> ResumeLsn() override { return resume_; }

 private:
  FileSink(std::string path, UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}
  Status Recover();
  Status WriteBuffer();
  Status MaybeWrite() { return buffer_.size() >= kBufferBytes ? WriteBuffer() : OkStatus(); }
  Error IoError(const std::string& what) const;

  static constexpr size_t kBufferBytes = 1 << 20;

  std::string path_;
  UniqueFd fd_;
  std::string buffer_;
  uint64_t written_ = 0;           // bytes in the file
  uint64_t committed_offset_ = 0;  // file offset just after the last commit line
  uint64_t changes_ = 0;           // in the open transaction
  Lsn committed_end_;
  std::optional<Lsn> resume_;
};

}  // namespace migsbyu::transport
