#include "transport/kafka/kafka_source.h"

#include <algorithm>

#include "common/log.h"

namespace migsbyu::kafka {

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
  if (Status committed = consumer_->CommitOffsets(pending_offsets_); !committed.ok()) {
    // Not fatal (e.g. a rebalance in progress): the offsets are retried at the next flush, and
    // whatever a new owner redelivers meanwhile carries identities the lake already stored.
    MIGSBYU_LOG_WARN("kafka source: {}; retrying at the next flush", committed.error().message());
    return OkStatus();
  }
  pending_offsets_.clear();
  return OkStatus();
}

Status KafkaSource::CheckCaughtUp() {
  // Only partitions that look read to the end by the consumer's cached high watermark (or
  // where nothing was read yet) cost a round trip to the broker.
  std::vector<Partition> candidates;
  std::map<std::string, bool> topics;  // caught up: every partition of it that we hold is
  for (const auto& p : assigned_set_) {
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
  high_water_[partition] = id;
  d.change.table =
      Intern(std::const_pointer_cast<events::TableSchema>(d.change.table), m.topic, !m.key_null);
  if (open_tx_ &&
      (open_tx_->partition != partition || open_tx_->info.commit_lsn != d.tx.commit_lsn ||
       open_tx_->info.xid != d.tx.xid)) {
    MIGSBYU_TRY(CloseOpenTx(sink));
  }
  if (!open_tx_) {
    open_tx_ = OpenTx{partition, d.tx};
    MIGSBYU_TRY(sink.Begin(d.tx));
  }
  Status applied = sink.Apply(d.change);
  if (!applied.ok() && applied.error().code() == ErrorCode::kValidation && options_.dead_letters) {
    return Quarantine(m, applied.error());
  }
  MIGSBYU_TRY(applied);
  ++changes_;
  ++changes_since_flush_;
  return OkStatus();
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
  return status;
}

}  // namespace migsbyu::kafka
