// cdc slot continuity: what a replication slot can still deliver, compared with what the sink
// holds (docs/CDC.md "Slot continuity").
//
// A logical slot streams from its confirmed_flush_lsn, whatever position the client asks for.
// The connector only ever confirms what its sink made durable, so for a sink that records every
// acknowledged position (transport::Sink::RecordsPositions) confirmed_flush_lsn ≤ the sink's
// resume LSN always holds. When it does not — the slot is gone (dropped by hand, a failover to a
// replica without it), invalidated (wal_status 'lost': max_slot_wal_keep_size removed its WAL),
// or has confirmed beyond the sink (recreated, or read by someone else) — changes after the
// sink's position can no longer be delivered, and carrying on would leave the sink silently
// disagreeing with the database. CheckSlotContinuity says so, with a message naming the slot,
// both LSNs and the recovery option.
//
// Threading: ReadSlot uses the caller's connection only; the rest are pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/lsn.h"
#include "common/result.h"
#include "pg/connection.h"

namespace migsbyu::cdc {

// A row of pg_replication_slots, with the WAL the slot retains.
struct SlotInfo {
  bool exists = false;
  bool ours = true;                      // same database, plugin pgoutput
  std::string wal_status;                // reserved, extended, unreserved, lost; empty when unknown
  Lsn confirmed_flush_lsn;               // zero when NULL
  Lsn restart_lsn;                       // zero when NULL (an invalidated slot)
  std::optional<int64_t> safe_wal_size;  // bytes that may still be written before it is at risk
  uint64_t retained_bytes = 0;           // pg_current_wal_lsn() − restart_lsn
};

// Reads slot `slot` (exists = false when there is none). Errors are the server's.
Result<SlotInfo> ReadSlot(pg::Connection& conn, const std::string& slot);

enum class SlotVerdict : uint8_t {
  kUsable,  // the slot delivers everything after the sink's position (or the sink holds nothing)
  kMissing,
  kLost,   // wal_status 'lost'
  kAhead,  // confirmed_flush_lsn beyond what the sink holds
};

struct SlotCheck {
  SlotVerdict verdict = SlotVerdict::kUsable;
  std::string message;  // empty when usable: what is wrong, both LSNs, how to recover
};

// Compares `slot`'s state with `resume`, what the sink holds (nullopt or zero: nothing, so a new
// snapshot follows and any slot state is usable). `sink_records_positions`: the sink's resume
// LSN covers every acknowledged position, so a slot ahead of it has lost changes (for other
// sinks an idle slot's acknowledgement legitimately passes it, and only kMissing and kLost are
// detected).
SlotCheck CheckSlotContinuity(const std::string& slot, const SlotInfo& info,
                              std::optional<Lsn> resume, bool sink_records_positions);

// Whether WAL retention puts the slot at risk soon: wal_status 'unreserved', or a safe WAL size
// below `warn_safe_bytes`.
bool SlotRetentionAtRisk(const SlotInfo& info, int64_t warn_safe_bytes);

// What to do when CheckSlotContinuity finds the slot unusable (--on-slot-loss).
enum class SlotLossPolicy : uint8_t {
  kStop,        // stop with the check's message (the default)
  kResnapshot,  // drop and recreate the slot, then take a reconciling snapshot
};

// "stop" or "resnapshot"; kInvalidArgument naming the text otherwise.
Result<SlotLossPolicy> ParseSlotLossPolicy(std::string_view text);

}  // namespace migsbyu::cdc
