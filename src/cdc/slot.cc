#include "cdc/slot.h"

namespace migsbyu::cdc {

Result<SlotInfo> ReadSlot(pg::Connection& conn, const std::string& slot) {
  MIGSBYU_ASSIGN(
      auto r, conn.ExecParams("SELECT database = current_database() AND plugin = 'pgoutput', "
                              "       wal_status, confirmed_flush_lsn, restart_lsn, safe_wal_size, "
                              "       pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint "
                              "FROM pg_replication_slots WHERE slot_name = $1",
                              {slot}));
  SlotInfo info;
  if (r.rows() == 0) {
    info.exists = false;
    return info;
  }
  info.exists = true;
  info.ours = r.Get(0, 0) == "t";
  if (!r.IsNull(0, 1)) info.wal_status = std::string(r.Get(0, 1));
  auto lsn = [&](int col) {
    if (r.IsNull(0, col)) return Lsn();
    return Lsn::Parse(r.Get(0, col)).value_or(Lsn());
  };
  info.confirmed_flush_lsn = lsn(2);
  info.restart_lsn = lsn(3);
  if (!r.IsNull(0, 4)) info.safe_wal_size = std::stoll(std::string(r.Get(0, 4)));
  if (!r.IsNull(0, 5)) {
    int64_t retained = std::stoll(std::string(r.Get(0, 5)));
    info.retained_bytes = retained > 0 ? static_cast<uint64_t>(retained) : 0;
  }
  return info;
}

SlotCheck CheckSlotContinuity(const std::string& slot, const SlotInfo& info,
                              std::optional<Lsn> resume, bool sink_records_positions) {
  SlotCheck check;
  if (!resume || resume->IsZero()) return check;
  const std::string held = resume->ToString();
  std::string what;
  if (!info.exists) {
    check.verdict = SlotVerdict::kMissing;
    what = "replication slot '" + slot + "' is missing (the sink holds changes up to " + held +
           "; the slot's confirmed_flush_lsn: none)";
  } else if (info.wal_status == "lost") {
    check.verdict = SlotVerdict::kLost;
    what = "replication slot '" + slot +
           "' was invalidated: wal_status 'lost', the server removed WAL it still needed "
           "(max_slot_wal_keep_size) (the sink holds changes up to " +
           held + "; the slot's confirmed_flush_lsn: " + info.confirmed_flush_lsn.ToString() + ")";
  } else if (sink_records_positions && info.confirmed_flush_lsn > *resume) {
    check.verdict = SlotVerdict::kAhead;
    what = "replication slot '" + slot + "' has confirmed_flush_lsn " +
           info.confirmed_flush_lsn.ToString() + ", past what the sink holds (" + held +
           "): it was recreated or read by another client";
  } else {
    return check;
  }
  check.message = what + "; changes after " + held +
                  " cannot be delivered and the sink would silently disagree with the database. "
                  "To recover, start again with --on-slot-loss=resnapshot: the slot is created "
                  "anew and a reconciling snapshot brings the sink to the database's state.";
  return check;
}

bool SlotRetentionAtRisk(const SlotInfo& info, int64_t warn_safe_bytes) {
  if (!info.exists) return false;
  if (info.wal_status == "unreserved" || info.wal_status == "lost") return true;
  return info.safe_wal_size && *info.safe_wal_size < warn_safe_bytes;
}

Result<SlotLossPolicy> ParseSlotLossPolicy(std::string_view text) {
  if (text == "stop") return SlotLossPolicy::kStop;
  if (text == "resnapshot") return SlotLossPolicy::kResnapshot;
  return Error::InvalidArgument("--on-slot-loss '" + std::string(text) +
                                "' (use stop or resnapshot)");
}

}  // namespace migsbyu::cdc
