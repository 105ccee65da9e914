#include "lake/lake_sink.h"

#include "common/log.h"
#include "lake/dead_letters.h"

namespace migsbyu::lake {

Result<std::unique_ptr<LakeSink>> LakeSink::Open(LakeSinkOptions options,
                                                 std::shared_ptr<Lake> lake) {
  MIGSBYU_ASSIGN(auto writer, LakeWriter::Open(options.writer, std::move(lake)));
  return std::unique_ptr<LakeSink>(new LakeSink(std::move(options), std::move(writer)));
}

LakeSink::LakeSink(LakeSinkOptions options, std::unique_ptr<LakeWriter> writer)
    : options_(std::move(options)), writer_(std::move(writer)) {
  timer_ = std::jthread([this](std::stop_token stop) { TimerLoop(stop); });
}

LakeSink::~LakeSink() {
  timer_.request_stop();
  wake_.notify_all();
  if (timer_.joinable()) timer_.join();
  std::lock_guard lock(mu_);
  auto published = writer_->Publish();
  if (!published.ok())
    spdlog::error("lake: final publish failed: {}", published.error().ToString());
}

void LakeSink::TimerLoop(std::stop_token stop) {
  std::unique_lock lock(mu_);
  while (!stop.stop_requested()) {
    wake_.wait_for(lock, stop, options_.commit_interval / 2, [] { return false; });
    if (stop.stop_requested()) break;
    if (writer_->InTransaction()) continue;
    Status s = PublishIfDue();
    if (!s.ok()) {
      spdlog::error("lake: background publish failed: {}", s.error().ToString());
      timer_error_ = s.error();
    }
  }
}

Status LakeSink::PublishIfDue() {
  auto oldest = writer_->OldestUnpublished();
  if (!oldest || std::chrono::steady_clock::now() - *oldest < options_.commit_interval) {
    return OkStatus();
  }
  MIGSBYU_ASSIGN(bool published, writer_->Publish());
  (void)published;
  return OkStatus();
}

Status LakeSink::Begin(const events::TransactionInfo& tx) {
  std::lock_guard lock(mu_);
  if (timer_error_) {
    Error e = *timer_error_;
    timer_error_.reset();
    return e;
  }
  if (!writer_->InTransaction()) MIGSBYU_TRY(PublishIfDue());
  return writer_->Begin(tx);
}

Status LakeSink::Apply(const events::ChangeEvent& change) {
  // Checked before the writer takes it, so that a refusal leaves the transaction as it was.
  if (change.table.get() != names_checked_) {
    MIGSBYU_TRY(CheckStorableNames(*change.table));
    names_checked_ = change.table.get();
    names_checked_schema_ = change.table;
  }
  MIGSBYU_TRY(CheckStorableValues(change));
  std::lock_guard lock(mu_);
  return writer_->Apply(change);
}

Status LakeSink::Commit(const events::TransactionInfo& tx) {
  std::lock_guard lock(mu_);
  MIGSBYU_TRY(writer_->Commit(tx));
  return PublishIfDue();
}

Result<Lsn> LakeSink::Flush() {
  std::lock_guard lock(mu_);
  MIGSBYU_ASSIGN(bool published, writer_->Publish());
  (void)published;
  return writer_->published().end_lsn;
}

std::optional<Lsn> LakeSink::ResumeLsn() {
  std::lock_guard lock(mu_);
  if (writer_->published().version == 0) return std::nullopt;
  return writer_->published().end_lsn;
}

std::optional<std::string> LakeSink::SnapshotProgress() {
  std::lock_guard lock(mu_);
  return writer_->published().snapshot_progress;
}

Status LakeSink::RecordPosition(Lsn end_lsn) {
  std::lock_guard lock(mu_);
  if (writer_->InTransaction()) {
    return Error::InvalidArgument("lake: position " + end_lsn.ToString() +
                                  " recorded inside a transaction");
  }
  // Publishing first makes published() the last stored transaction, whose commit LSN and time
  // the position commit keeps (the status and freshness report them).
  MIGSBYU_ASSIGN(bool published, writer_->Publish());
  (void)published;
  if (end_lsn <= writer_->published().end_lsn) return OkStatus();
  events::TransactionInfo tx;
  tx.commit_lsn = writer_->published().commit_lsn;
  tx.commit_time_us = writer_->published().commit_time_us;
  tx.end_lsn = end_lsn;
  MIGSBYU_TRY(writer_->Begin(tx));
  return writer_->Commit(tx);
}

Status LakeSink::AcquireTable(const std::string& table, std::stop_token stop) {
  std::lock_guard lock(mu_);
  return writer_->AcquireTable(table, stop);
}

Status LakeSink::ReleaseTable(const std::string& table) {
  std::lock_guard lock(mu_);
  return writer_->ReleaseTable(table);
}

void LakeSink::MarkCaughtUp(const std::string& table, uint64_t lsn) {
  std::lock_guard lock(mu_);
  writer_->MarkCaughtUp(table, lsn);
}

}  // namespace migsbyu::lake
