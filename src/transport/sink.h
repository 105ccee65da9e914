// Sink: where the connector hands committed transactions (file, Kafka, the lake).
//
// Protocol, all from the connector's one thread (REQUIRES: external synchronization):
//   Begin(tx), Apply(change) for each change in order, Commit(tx) — once per transaction, in
//   commit order; a transaction may be large, so a sink must not need it whole in memory.
//   Flush() makes everything committed so far durable and returns the end_lsn up to which the
//   sink is durable; only that LSN is ever confirmed to PostgreSQL, so a crash loses nothing.
//   ResumeLsn() is the position the sink itself recorded as durable (the lake keeps it in its
//   own commit log): the connector skips transactions whose end_lsn ≤ it, so a replay after a
//   crash duplicates nothing.
// An error from any call stops the connector, which reconnects and replays from the last
// flushed LSN; sinks must therefore accept a transaction again after a failed or unflushed one.
#pragma once

#include <optional>

#include "common/lsn.h"
#include "common/result.h"
#include "events/change_event.h"

namespace migsbyu::transport {

class Sink {
 public:
  virtual ~Sink() = default;

  virtual Status Begin(const events::TransactionInfo& tx) = 0;
  virtual Status Apply(const events::ChangeEvent& change) = 0;
  virtual Status Commit(const events::TransactionInfo& tx) = 0;

  // Durable up to the returned LSN (the end_lsn of the last durable transaction).
  virtual Result<Lsn> Flush() = 0;

  // What the sink recorded as durable before this process started, if it keeps such a record.
  virtual std::optional<Lsn> ResumeLsn() { return std::nullopt; }

  // Whether the sink records positions (RecordPosition), so that ResumeLsn() covers everything
  // the connector ever acknowledged to PostgreSQL. Only then can the connector tell, at start,
  // that the slot moved past what the sink holds (docs/CDC.md "Slot continuity").
  virtual bool RecordsPositions() const { return false; }

  // Called between transactions when the stream reached `end_lsn` with nothing more for this
  // sink (an idle slot, whose position the connector wants to acknowledge). A sink that
  // RecordsPositions() makes it durable with the next Flush(), which then returns at least
  // `end_lsn`; the default ignores it. REQUIRES: no open transaction.
  virtual Status RecordPosition(Lsn end_lsn) {
    (void)end_lsn;
    return OkStatus();
  }

  // The incremental snapshot progress last stored durably with a transaction
  // (TransactionInfo::snapshot_progress), so that a restart resumes at the next chunk; nullopt
  // when the sink keeps none (the snapshot then starts again with the process).
  virtual std::optional<std::string> SnapshotProgress() { return std::nullopt; }
};

}  // namespace migsbyu::transport
