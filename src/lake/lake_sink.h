// LakeSink: the transport::Sink that feeds the lake (LakeWriter) from the connector or from a
// Kafka consumer, with group commit: committed transactions are published together, at the
// latest `commit_interval` after the first of them committed (checked at every Begin/Commit,
// and by a timer thread when the stream is idle), so a change is visible to readers within
// about commit_interval plus the write time, while a busy stream makes few, larger files.
//
// Threading: the Sink methods are called from one thread (the connector's); the timer thread
// and those methods share the writer under a mutex. Thread-safe to destroy after the caller
// stopped calling; the destructor publishes what is committed.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "lake/lake.h"
#include "lake/writer.h"
#include "transport/sink.h"

namespace migsbyu::lake {

struct LakeSinkOptions {
  WriterOptions writer;
  std::chrono::milliseconds commit_interval{50};
};

class LakeSink : public transport::Sink {
 public:
  // Opens the writer on options.writer.dir; `lake` (may be null) is the read side to publish to.
  static Result<std::unique_ptr<LakeSink>> Open(LakeSinkOptions options,
                                                std::shared_ptr<Lake> lake);
  ~LakeSink() override;
  LakeSink(const LakeSink&) = delete;
  LakeSink& operator=(const LakeSink&) = delete;

  Status Begin(const events::TransactionInfo& tx) override;
  // kValidation (lake/dead_letters.h CheckStorable) for a change the lake cannot store, before
  // anything of it is taken: the transaction goes on without it.
  Status Apply(const events::ChangeEvent& change) override;
  Status Commit(const events::TransactionInfo& tx) override;
  // Publishes everything committed; returns the lake's durable end_lsn.
  Result<Lsn> Flush() override;
  // The end_lsn of the latest manifest, or nullopt for an empty lake.
  std::optional<Lsn> ResumeLsn() override;
  // The lake records an idle position as a commit without changes that advances its end_lsn
  // (the last transaction's commit LSN and time are kept), published with the next Flush.
  bool RecordsPositions() const override { return true; }
  Status RecordPosition(Lsn end_lsn) override;
  // The snapshot progress of the latest manifest (LakeWriter stores it with each chunk).
  std::optional<std::string> SnapshotProgress() override;

  // Ownership of tables, for a writer with role kTableOwner (LakeWriter::AcquireTable and
  // friends); called from the same thread as the Sink methods, between transactions.
  Status AcquireTable(const std::string& table, std::stop_token stop = {});
  Status ReleaseTable(const std::string& table);
  void MarkCaughtUp(const std::string& table, uint64_t lsn);

 private:
  LakeSink(LakeSinkOptions options, std::unique_ptr<LakeWriter> writer);
  // REQUIRES: mu_ held. Publishes when the oldest unpublished commit is due.
  Status PublishIfDue();
  void TimerLoop(std::stop_token stop);

  const LakeSinkOptions options_;
  // The schema whose names CheckStorableNames last accepted (kept alive, so the pointer is not
  // reused by another schema).
  const events::TableSchema* names_checked_ = nullptr;
  std::shared_ptr<const events::TableSchema> names_checked_schema_;
  std::mutex mu_;
  std::unique_ptr<LakeWriter> writer_;
  std::optional<Error> timer_error_;
  std::condition_variable_any wake_;
  std::jthread timer_;
};

}  // namespace migsbyu::lake
