#include "lake/deriver.h"

#include <condition_variable>
#include <mutex>

#include "common/log.h"

namespace migsbyu::lake {

std::unique_ptr<FactDeriver> FactDeriver::Start(DeriverOptions options) {
  options.writer.role = WriterRole::kDeriver;
  std::unique_ptr<FactDeriver> d(new FactDeriver(std::move(options)));
  d->thread_ = std::jthread([raw = d.get()](std::stop_token stop) { raw->Loop(stop); });
  return d;
}

FactDeriver::~FactDeriver() {
  thread_.request_stop();
  if (thread_.joinable()) thread_.join();
}

void FactDeriver::Loop(std::stop_token stop) {
  std::mutex mu;
  std::condition_variable_any wake;
  auto pause = [&](std::chrono::milliseconds d) {
    std::unique_lock lock(mu);
    wake.wait_for(lock, stop, d, [] { return false; });
  };
  const std::string path = LakeLockPath(options_.writer.dir, "deriver");
  while (!stop.stop_requested()) {
    auto lock = FileLock::Acquire(path, FileLock::Mode::kExclusive, "the deriver lock", stop,
                                  std::chrono::milliseconds(100));
    if (!lock.ok()) {
      if (lock.error().code() != ErrorCode::kCancelled) {
        spdlog::error("lake deriver: {}", lock.error().ToString());
        pause(std::chrono::seconds(1));
      }
      continue;
    }
    auto writer = LakeWriter::Open(options_.writer, nullptr);
    if (!writer.ok()) {
      spdlog::error("lake deriver: {}", writer.error().ToString());
      pause(std::chrono::seconds(1));
      continue;  // the lock is released and taken again: another process may do better
    }
    spdlog::info("lake: deriving the enrollment fact of {}", options_.writer.dir);
    active_ = true;
    while (!stop.stop_requested()) {
      auto derived = (*writer)->Derive();
      if (!derived.ok()) {
        spdlog::error("lake deriver: {}", derived.error().ToString());
        break;  // reopen: the writer restores its state from the lake
      }
      if (*derived) {
        ++publishes_;
        continue;
      }
      pause(options_.interval);
    }
    active_ = false;
    if (!stop.stop_requested()) pause(std::chrono::seconds(1));
  }
}

}  // namespace migsbyu::lake
