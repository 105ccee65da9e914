// cdc::TransactionSpool: the chunks of one streamed in-progress transaction (pgoutput protocol
// 2), kept in an unlinked temporary file until the transaction commits or aborts, so a
// transaction of any size costs bounded memory.
//
// Format (private to this file's lifetime): records of u32 subxid, u64 LSN, u32 length, bytes,
// native byte order. A subtransaction abort is remembered in memory (a set of subxids) and its
// records are skipped on replay; the file is never rewritten.
//
// Threading: one thread. Move-only; the file disappears when the spool is destroyed.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>

#include "common/lsn.h"
#include "common/result.h"

namespace migsbyu::cdc {

class TransactionSpool {
 public:
  // Creates an empty spool in `dir` (empty: TMPDIR or /tmp). kInternal naming the folder when
  // the file cannot be created.
  static Result<std::unique_ptr<TransactionSpool>> Create(const std::string& dir, uint32_t xid);
  ~TransactionSpool();
  TransactionSpool(const TransactionSpool&) = delete;
  TransactionSpool& operator=(const TransactionSpool&) = delete;

  // Appends one message of (sub)transaction `subxid` received at `lsn`.
  Status Append(uint32_t subxid, Lsn lsn, std::string_view message);

  // Forgets every row message of `subxid` (a rolled-back subtransaction); its Relation and Type
  // messages still replay.
  void AbortSubtransaction(uint32_t subxid) { aborted_.insert(subxid); }

  // Calls `visit` for each message not aborted, in the order appended. Stops at the first
  // error `visit` returns. May be called once.
  Status Replay(const std::function<Status(Lsn, std::string_view)>& visit);

  uint32_t xid() const { return xid_; }
  uint64_t bytes() const { return bytes_; }

 private:
  TransactionSpool(std::FILE* file, uint32_t xid) : file_(file), xid_(xid) {}

  std::FILE* file_;
  uint32_t xid_;
  uint64_t bytes_ = 0;
  std::unordered_set<uint32_t> aborted_;
};

}  // namespace migsbyu::cdc
