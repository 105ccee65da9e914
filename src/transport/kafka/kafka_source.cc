#include "transport/kafka/kafka_source.h"

#include <algorithm>
#include <limits>
#include <regex>

#include "common/log.h"

namespace migsbyu::kafka {

namespace {

// How many handed-on transaction ids are remembered (to ignore a replayed END record).
constexpr size_t kHandedIds = 10000;

}  // namespace

Result<TransactionMode> ParseTransactionMode(std::string_view name) {
  if (name == "auto") return TransactionMode::kAuto;
  if (name == "exact") return TransactionMode::kExact;
  if (name == "partition") return TransactionMode::kPartition;
  return Error::InvalidArgument("kafka source: unknown transaction mode '" + std::string(name) +
                                "' (expected auto, exact or partition)");
}

KafkaSource::KafkaSource(KafkaSourceOptions options) : options_(std::move(options)) {}

std::shared_ptr<const events::TableSchema> KafkaSource::Intern(
    std::shared_ptr<events::TableSchema> table, const std::string& topic, bool key_known) {
  auto& cached = schemas_[topic];
  auto same_column = [&](const events::Column& a, const events::Column& b) {
    return a.name == b.name && a.type == b.type && a.type_oid == b.type_oid &&
           a.type_modifier == b.type_modifier && (!key_known || a.key == b.key);
  };
  if (cached && cached->schema == table->schema && cached->name == table->name &&
      std::equal(cached->columns.begin(), cached->columns.end(), table->columns.begin(),
                 table->columns.end(), same_column)) {
    return cached;  // a keyless message (a truncate) keeps the key columns known so far
  }
  cached = std::move(table);
  return cached;
}

Status KafkaSource::CloseOpenTx(transport::Sink& sink) {
  if (!open_tx_) return OkStatus();
  events::TransactionInfo info = open_tx_->info;
  open_tx_.reset();
  return sink.Commit(info);
}

Status KafkaSource::FlushAndCommit(transport::Sink& sink) {
  MIGSBYU_TRY(CloseOpenTx(sink));
  changes_since_flush_ = 0;
  if (pending_offsets_.empty()) return OkStatus();
  MIGSBYU_TRY(sink.Flush());
  ++flushes_;
  // A partition's offset stops at its oldest message still buffered (whole transactions): that
  // one and what follows are read again after a restart.
  std::map<Partition, int64_t> offsets = pending_offsets_;
  for (auto& [p, next] : offsets) {
    if (auto h = held_.find(p); h != held_.end() && !h->second.empty()) {
      next = std::min(next, h->second.begin()->first);
    }
  }
  if (Status committed = consumer_->CommitOffsets(offsets); !committed.ok()) {
    // Not fatal (e.g. a rebalance in progress): the offsets are retried at the next flush, and
    // whatever a new owner redelivers meanwhile carries identities the lake already stored.
    MIGSBYU_LOG_WARN("kafka source: {}; retrying at the next flush", committed.error().message());
    return OkStatus();
  }
  for (auto it = pending_offsets_.begin(); it != pending_offsets_.end();) {
    auto h = held_.find(it->first);
    it = h == held_.end() || h->second.empty() ? pending_offsets_.erase(it) : std::next(it);
  }
  return OkStatus();
}

void KafkaSource::UpdateMode() {
  const bool whole = options_.transactions != TransactionMode::kPartition &&
                     assigned_set_.count({transaction_topic_, 0}) > 0;
  if (whole != whole_.load()) {
    whole_ = whole;
    MIGSBYU_LOG_INFO("kafka source: transactions: {}",
                     whole ? "whole, in commit order (reading " + transaction_topic_ + ")"
                           : "per partition (" + transaction_topic_ + " not read)");
  }
}

bool KafkaSource::Subscribed(const std::string& collection) {
  auto [it, added] = subscribed_.try_emplace(collection, false);
  if (!added) return it->second;
  if (options_.topics.empty()) return it->second = true;  // every topic of the prefix
  const std::string topic = options_.topic_prefix + "." + collection;
  for (const auto& t : options_.topics) {
    if (t == topic) return it->second = true;
    if (!t.empty() && t[0] == '^') {
      try {
        if (std::regex_search(topic, std::regex(t))) return it->second = true;
      } catch (const std::regex_error&) {
        // librdkafka's own regular expressions may differ: such a topic does not count.
      }
    }
  }
  return false;
}

bool KafkaSource::HoldsTopic(const std::string& topic) const {
  auto it = assigned_set_.lower_bound({topic, std::numeric_limits<int32_t>::min()});
  return it != assigned_set_.end() && it->first == topic;
}

bool KafkaSource::Complete(const PendingTx& tx) {
  if (!tx.end) return false;
  for (const auto& c : tx.end->collections) {
    // Only what this member reads counts: in a group, other members read the other topics.
    if (!Subscribed(c.data_collection) ||
        !HoldsTopic(options_.topic_prefix + "." + c.data_collection)) {
      continue;
    }
    auto seen = tx.seen.find(c.data_collection);
    if ((seen == tx.seen.end() ? 0 : seen->second) < c.event_count) return false;
  }
  return true;
}

Status KafkaSource::ApplyChange(const events::ChangeEvent& change, const Message& m,
                                transport::Sink& sink) {
  Status applied = sink.Apply(change);
  if (!applied.ok() && applied.error().code() == ErrorCode::kValidation && options_.dead_letters) {
    return Quarantine(m, applied.error());
  }
  MIGSBYU_TRY(applied);
  ++changes_;
  ++changes_since_flush_;
  return OkStatus();
}

Status KafkaSource::HandOn(const std::string& id, HandKind kind, transport::Sink& sink) {
  PendingTx& tx = pending_txs_[id];
  MIGSBYU_TRY(CloseOpenTx(sink));
  if (!tx.changes.empty()) {
    const events::TransactionInfo info = tx.changes.begin()->second.decoded.tx;
    MIGSBYU_TRY(sink.Begin(info));
    for (auto& [position, b] : tx.changes) {
      const Partition p{b.message.topic, b.message.partition};
      MIGSBYU_TRY(ApplyChange(b.decoded.change, b.message, sink));
      Identity ident{b.decoded.change.commit_lsn, b.decoded.change.position};
      if (auto hw = high_water_.find(p); hw == high_water_.end() || hw->second < ident) {
        high_water_[p] = ident;
      }
      auto& held = held_[p];
      if (auto o = held.find(b.message.offset); o != held.end() && --o->second == 0) held.erase(o);
    }
    MIGSBYU_TRY(sink.Commit(info));
    buffered_ -= tx.changes.size();
    if (kind == HandKind::kLate) late_ += tx.changes.size();
    if (kind == HandKind::kWhole) {
      handed_max_ = std::max(handed_max_.value_or(Lsn()), info.commit_lsn);
      ++transactions_;
    }
    tx.changes.clear();
  }
  if (kind == HandKind::kRelease) {
    ++incomplete_;
    tx.released = true;
  }
  return OkStatus();
}

Status KafkaSource::HandReady(transport::Sink& sink) {
  for (;;) {
    while (!end_order_.empty()) {
      const std::string id = end_order_.front();
      auto it = pending_txs_.find(id);
      if (it != pending_txs_.end() && !it->second.released && !Complete(it->second)) break;
      if (it != pending_txs_.end()) {
        const int64_t end_offset = it->second.end_offset;
        if (!it->second.released) MIGSBYU_TRY(HandOn(id, HandKind::kWhole, sink));
        pending_txs_.erase(id);
        auto& held = held_[{transaction_topic_, 0}];
        if (auto o = held.find(end_offset); o != held.end() && --o->second == 0) held.erase(o);
      }
      end_order_.pop_front();
      RememberHanded(id);
    }
    // END-less transactions older than the last one handed on: their metadata came before the
    // committed offset (handed on before a restart): what the sink lacks of them it takes now.
    if (handed_max_) {
      std::vector<std::string> late;
      for (const auto& [id, tx] : pending_txs_) {
        if (!tx.end && !tx.changes.empty() && tx.commit_lsn <= *handed_max_) late.push_back(id);
      }
      for (const auto& id : late) {
        MIGSBYU_TRY(HandOn(id, HandKind::kLate, sink));
        pending_txs_.erase(id);
        RememberHanded(id);  // a replayed END of it must not wait for changes handed on
      }
    }
    if (buffered_ <= options_.max_buffered_changes) return OkStatus();
    // Full: the oldest transaction that holds changes goes on as far as it arrived.
    std::string victim;
    for (const auto& id : end_order_) {
      auto it = pending_txs_.find(id);
      if (it != pending_txs_.end() && !it->second.changes.empty()) {
        victim = id;
        break;
      }
    }
    if (victim.empty()) {
      for (const auto& [id, tx] : pending_txs_) {
        if (!tx.changes.empty() &&
            (victim.empty() || tx.commit_lsn < pending_txs_[victim].commit_lsn)) {
          victim = id;
        }
      }
    }
    if (victim.empty()) return OkStatus();
    MIGSBYU_LOG_WARN(
        "kafka source: {} changes buffered (max_buffered_changes {}); handing on transaction {} "
        "before all its changes arrived",
        buffered_, options_.max_buffered_changes, victim);
    MIGSBYU_TRY(HandOn(victim, HandKind::kRelease, sink));
  }
}

void KafkaSource::RememberHanded(const std::string& id) {
  if (handed_ids_.insert(id).second) handed_order_.push_back(id);
  if (handed_order_.size() > kHandedIds) {
    handed_ids_.erase(handed_order_.front());
    handed_order_.pop_front();
  }
}

Status KafkaSource::HandleTransactionRecord(const Message& m, transport::Sink& sink) {
  const Partition partition{m.topic, m.partition};
  auto record =
      DecodeTransactionRecord(m.key_null ? nullptr : &m.key, m.value_null ? nullptr : &m.value);
  if (!record.ok() && m.value_null) {  // a tombstone of the metadata topic
    ++tombstones_;
    return OkStatus();
  }
  if (!record.ok()) {
    if (options_.dead_letters) return Quarantine(m, record.error());
    return record.error().WithContext("kafka source " + m.topic + "[" +
                                      std::to_string(m.partition) + "]@" +
                                      std::to_string(m.offset));
  }
  ++skipped_;  // not a row change
  if (!record->end || handed_ids_.count(record->id)) return OkStatus();
  PendingTx& tx = pending_txs_[record->id];
  if (tx.end) return OkStatus();  // a replayed END while the first still waits
  tx.end = std::move(*record);
  tx.end_offset = m.offset;
  ++held_[partition][m.offset];
  end_order_.push_back(tx.end->id);
  return HandReady(sink);
}

Status KafkaSource::BufferChange(DecodedChange d, const Message& m, transport::Sink& sink) {
  const std::string id = d.transaction_id;
  auto it = pending_txs_.find(id);
  const bool late = handed_ids_.count(id) > 0 || (it == pending_txs_.end() && handed_max_ &&
                                                  d.change.commit_lsn <= *handed_max_);
  if (late || (it != pending_txs_.end() && it->second.released)) {
    if (late) {
      ++late_;
      RememberHanded(id);
    }
    // Handed on as it comes, like a partition's run (the sink drops what it has already).
    if (open_tx_ &&
        (open_tx_->partition != Partition{m.topic, m.partition} ||
         open_tx_->info.commit_lsn != d.tx.commit_lsn || open_tx_->info.xid != d.tx.xid)) {
      MIGSBYU_TRY(CloseOpenTx(sink));
    }
    if (!open_tx_) {
      open_tx_ = OpenTx{{m.topic, m.partition}, d.tx};
      MIGSBYU_TRY(sink.Begin(d.tx));
    }
    return ApplyChange(d.change, m, sink);
  }
  PendingTx& tx = it != pending_txs_.end() ? it->second : pending_txs_[id];
  const uint64_t position = d.change.position;
  if (tx.changes.count(position)) {  // the same change twice (a replay) before it was handed on
    ++duplicates_;
    return OkStatus();
  }
  tx.commit_lsn = d.change.commit_lsn;
  ++tx.seen[d.data_collection];
  ++held_[{m.topic, m.partition}][m.offset];
  ++buffered_;
  tx.changes.emplace(position, Buffered{std::move(d), m});
  return HandReady(sink);
}

void KafkaSource::DropBuffered() {
  for (const auto& [p, offsets] : held_) {
    if (!offsets.empty()) high_water_.erase(p);  // their messages come again
  }
  pending_txs_.clear();
  end_order_.clear();
  held_.clear();
  buffered_ = 0;
}

Status KafkaSource::CheckCaughtUp() {
  // Only partitions that look read to the end by the consumer's cached high watermark (or
  // where nothing was read yet) cost a round trip to the broker.
  std::vector<Partition> candidates;
  std::map<std::string, bool> topics;  // caught up: every partition of it that we hold is
  for (const auto& p : assigned_set_) {
    if (auto h = held_.find(p); h != held_.end() && !h->second.empty()) {
      topics[p.first] = false;  // buffered, not handed on yet
      continue;
    }
    auto next = consumed_next_.find(p);
    auto cached = consumer_->CachedHighWatermark(p.first, p.second);
    bool candidate = next == consumed_next_.end() || !cached || next->second >= *cached;
    if (candidate) candidates.push_back(p);
    topics.emplace(p.first, true);
    if (!candidate) topics[p.first] = false;
  }
  if (candidates.empty()) return OkStatus();
  const uint64_t token = options_.listener->CatchUpToken();
  for (const auto& p : candidates) {
    bool at_end = false;
    auto marks = consumer_->QueryWatermarks(p.first, p.second, std::chrono::seconds(2));
    if (marks.ok()) {  // otherwise asked again at the next check
      const auto [low, high] = *marks;
      auto next = consumed_next_.find(p);
      if (next == consumed_next_.end() && low < high) {
        // Nothing read since the assignment: the group's committed offset (committed only
        // after the sink flushed everything before it) is where this member stands.
        auto committed = consumer_->CommittedOffset(p.first, p.second, std::chrono::seconds(2));
        if (committed.ok() && *committed >= 0) {
          next = consumed_next_.emplace(p, *committed).first;
        }
      }
      at_end = low == high || (next != consumed_next_.end() && next->second >= high);
    }
    topics[p.first] = topics[p.first] && at_end;
  }
  std::vector<std::string> caught_up;
  for (const auto& [topic, at_end] : topics) {
    if (at_end) caught_up.push_back(topic);
  }
  if (caught_up.empty()) return OkStatus();
  return options_.listener->OnCaughtUp(caught_up, token);
}

Status KafkaSource::Handle(const Message& m, transport::Sink& sink) {
  const Partition partition{m.topic, m.partition};
  // A message fetched before its partition was revoked is not ours to hand on any more.
  if (options_.listener && !assigned_set_.count(partition)) return OkStatus();
  ++messages_;
  pending_offsets_[partition] = m.offset + 1;
  consumed_next_[partition] = m.offset + 1;
  auto where = [&] {
    return m.topic + "[" + std::to_string(m.partition) + "]@" + std::to_string(m.offset);
  };
  if (whole_ && m.topic == transaction_topic_) return HandleTransactionRecord(m, sink);
  auto decoded = DecodeEnvelope(m.key_null ? nullptr : &m.key, m.value_null ? nullptr : &m.value);
  if (!decoded.ok()) {
    if (options_.dead_letters) return Quarantine(m, decoded.error());
    return decoded.error().WithContext("kafka source " + where());
  }
  if (!decoded->has_value()) {
    ++(m.value_null ? tombstones_ : skipped_);
    return OkStatus();
  }
  DecodedChange& d = **decoded;
  if (d.position_from_offset) d.change.position = static_cast<uint64_t>(m.offset);
  Identity id{d.change.commit_lsn, d.change.position};
  if (auto hw = high_water_.find(partition); hw != high_water_.end() && id <= hw->second) {
    ++duplicates_;
    return OkStatus();
  }
  d.change.table =
      Intern(std::const_pointer_cast<events::TableSchema>(d.change.table), m.topic, !m.key_null);
  d.change.source_partition = m.partition;
  if (whole_ && !d.transaction_id.empty()) return BufferChange(std::move(d), m, sink);
  high_water_[partition] = id;
  if (open_tx_ &&
      (open_tx_->partition != partition || open_tx_->info.commit_lsn != d.tx.commit_lsn ||
       open_tx_->info.xid != d.tx.xid)) {
    MIGSBYU_TRY(CloseOpenTx(sink));
  }
  if (!open_tx_) {
    open_tx_ = OpenTx{partition, d.tx};
    MIGSBYU_TRY(sink.Begin(d.tx));
  }
  return ApplyChange(d.change, m, sink);
}

Status KafkaSource::Quarantine(const Message& m, const Error& why) {
  transport::DeadLetter letter;
  letter.time_us = std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  letter.source = "kafka";
  letter.reason = why.message();
  letter.topic = m.topic;
  letter.partition = m.partition;
  letter.offset = m.offset;
  if (!m.key_null) letter.key = m.key;
  if (!m.value_null) letter.value = m.value;
  MIGSBYU_TRY(options_.dead_letters->Quarantine(letter));
  ++dead_letters_;
  MIGSBYU_LOG_WARN("kafka source: {}[{}]@{} set aside as a dead letter: {}", m.topic, m.partition,
                   m.offset, why.message());
  return OkStatus();
}

Status KafkaSource::Run(std::stop_token stop, transport::Sink& sink) {
  Config config = {
      {"bootstrap.servers", options_.brokers},
      {"group.id", options_.group_id},
      {"enable.auto.commit", "false"},
      {"auto.offset.reset", "earliest"},
      {"enable.partition.eof", "false"},
      {"client.id", "migsbyu-lake"},
      // One partition per table is the default: roundrobin spreads tables over the members,
      // where range would give every topic's partition 0 to the same member.
      {"partition.assignment.strategy", "roundrobin"},
  };
  for (const auto& [k, v] : options_.extra) config[k] = v;
  callback_error_.reset();
  transaction_topic_ = options_.topic_prefix + ".transaction";
  MIGSBYU_LOG_INFO("kafka source: transactions: {}",
                   options_.transactions == TransactionMode::kPartition
                       ? "per partition"
                       : "whole once " + transaction_topic_ + " is assigned, else per partition");
  auto topics_of = [](const std::vector<Partition>& parts) {
    std::vector<std::string> topics;
    for (const auto& p : parts) {
      if (std::find(topics.begin(), topics.end(), p.first) == topics.end()) {
        topics.push_back(p.first);
      }
    }
    return topics;
  };
  auto on_rebalance = [this, &sink, topics_of](bool assigned, const std::vector<Partition>& parts) {
    if (assigned) {
      for (const auto& p : parts)
        MIGSBYU_LOG_INFO("kafka source: assigned {}[{}]", p.first, p.second);
      if (options_.listener && !callback_error_) {
        Status s = options_.listener->OnAssigned(topics_of(parts));
        if (!s.ok()) callback_error_ = s.error();
      }
      assigned_set_.insert(parts.begin(), parts.end());
      assigned_ += parts.size();
      UpdateMode();
      return;
    }
    for (const auto& p : parts) {
      assigned_set_.erase(p);
      consumed_next_.erase(p);
    }
    assigned_ -= std::min(assigned_.load(), parts.size());
    // Hand over cleanly: everything consumed so far is flushed and its offsets committed.
    if (!closing_ && !callback_error_) {
      Status s = FlushAndCommit(sink);
      if (!s.ok()) callback_error_ = s.error();
    }
    // Buffered changes were not handed on and their offsets not committed: whoever reads these
    // partitions next (with the default, eager, assignor: this member too, from the committed
    // offsets) reads them again.
    DropBuffered();
    if (!closing_) UpdateMode();
    if (options_.listener && !callback_error_ && !parts.empty()) {
      Status s = options_.listener->OnRevoked(topics_of(parts));
      if (!s.ok()) callback_error_ = s.error();
    }
    // The high-water marks stay: they only ever drop what this process already handed on,
    // which is what a partition that comes back to us redelivers from an older offset.
    for (const auto& p : parts) pending_offsets_.erase(p);
  };
  MIGSBYU_ASSIGN(Consumer consumer, Consumer::Create(config, on_rebalance));
  consumer_.emplace(std::move(consumer));
  std::vector<std::string> topics = options_.topics;
  if (topics.empty()) {
    std::string escaped;
    for (char c : options_.topic_prefix) {
      if (std::string_view(".^$*+?()[]{}|\\").find(c) != std::string_view::npos) escaped += '\\';
      escaped += c;
    }
    topics.push_back("^" + escaped + "\\..*");
  } else if (options_.transactions == TransactionMode::kExact &&
             std::find(topics.begin(), topics.end(), transaction_topic_) == topics.end()) {
    topics.push_back(transaction_topic_);
  }
  Status status = consumer_->Subscribe(topics);
  auto last_flush = std::chrono::steady_clock::now();
  auto last_check = last_flush;
  while (status.ok() && !stop.stop_requested()) {
    auto polled = consumer_->Poll(options_.poll_timeout);
    if (callback_error_) {
      status = *callback_error_;
      break;
    }
    if (!polled.ok()) {
      status = polled.error();
      break;
    }
    if (polled->has_value()) {
      status = Handle(**polled, sink);
      if (!status.ok()) break;
    }
    auto now = std::chrono::steady_clock::now();
    if (changes_since_flush_ >= options_.flush_every_changes ||
        (now - last_flush >= options_.flush_interval)) {
      status = FlushAndCommit(sink);
      if (status.ok() && options_.listener && now - last_check >= options_.catch_up_interval) {
        status = CheckCaughtUp();
        last_check = now;
      }
      last_flush = now;
    }
  }
  if (status.ok()) status = FlushAndCommit(sink);
  // Leaving the group revokes our partitions: everything is already flushed (or failed).
  closing_ = true;
  consumer_.reset();
  closing_ = false;
  assigned_ = 0;
  assigned_set_.clear();
  consumed_next_.clear();
  open_tx_.reset();
  high_water_.clear();
  pending_offsets_.clear();
  DropBuffered();
  handed_max_.reset();
  handed_ids_.clear();
  handed_order_.clear();
  whole_ = false;
  return status;
}

}  // namespace migsbyu::kafka
