// FactDeriver: the enrollment fact of a lake that several `migsbyu lake consume` processes
// write (docs/LAKE.md "Several writers"). Every process runs one; the one that holds
// <lake>/_locks/deriver.lock derives, the others wait for the lock (a killed holder releases
// it, and the next one restores the fact's state from the lake and carries on).
//
// The deriver reads the change logs the table owners published and feeds them, in
// (commit_lsn, position) order, through the SCD builder (LakeWriter role kDeriver): its own
// copy of the dimensions gives each fact row the keys of the versions current at that change,
// the same keys the owners assigned, and it publishes only the fact and its per-table "derived"
// marks. It derives only up to the point where every known table is complete
// (LakeWriter::SafePoint), so it never runs ahead of a lagging table.
//
// Threading: Start() runs the loop on a thread of its own; the destructor stops and joins it.
// The accessors are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "lake/writer.h"

namespace migsbyu::lake {

struct DeriverOptions {
  WriterOptions writer;  // dir, tracked columns, DuckDB threads; the role is set to kDeriver
  std::chrono::milliseconds interval{100};  // how often the latest manifest is looked at
};

class FactDeriver {
 public:
  static std::unique_ptr<FactDeriver> Start(DeriverOptions options);
  ~FactDeriver();
  FactDeriver(const FactDeriver&) = delete;
  FactDeriver& operator=(const FactDeriver&) = delete;

  // Whether this process holds the deriver role now.
  bool active() const { return active_.load(); }
  // Manifests this process published as the deriver.
  uint64_t publishes() const { return publishes_.load(); }

 private:
  explicit FactDeriver(DeriverOptions options) : options_(std::move(options)) {}
  void Loop(std::stop_token stop);

  DeriverOptions options_;
  std::atomic<bool> active_{false};
  std::atomic<uint64_t> publishes_{0};
  std::jthread thread_;
};

}  // namespace migsbyu::lake
