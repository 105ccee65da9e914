// KafkaSource: consumes the per-table topics (ours, or a Debezium PostgreSQL connector's with
// the JSON converter) as one member of a Kafka consumer group and hands the decoded changes to
// a transport::Sink — the lake's, in `migsbyu lake --from-kafka`.
//
// Transactions: a PostgreSQL transaction that touched several tables is spread over several
// topics, which may be owned by different group members, so the source cannot rebuild it whole.
// It hands the sink each run of consecutive messages of one partition that share a commit LSN as
// one transaction (Begin/Apply.../Commit) carrying that transaction's xid, commit_lsn, end_lsn
// and commit time; every change keeps its own (commit_lsn, position) identity. Within one table
// (one partition by default) changes arrive in commit order.
//
// Whole transactions (TransactionMode; docs/KAFKA.md "Transactions"): when the producer writes
// Debezium's transaction metadata topic (<prefix>.transaction, KafkaSinkOptions::
// transaction_metadata) and this member holds its partition, the source instead buffers each
// change under its transaction id (payload.transaction.id) and hands the sink a transaction
// only once its END record arrived and every change it counts for the topics this member reads
// is there, whole (in position order) and in the order of the END records (commit order). So a
// sink sees the same transactions in the same order as from the connector, whatever order the
// topics and partitions deliver them in. Memory is bounded by max_buffered_changes: past it, the
// oldest waiting transaction is handed on as far as it arrived, and its remaining changes as they
// come (stats().incomplete). A buffered message's offset is not committed until its transaction
// was handed on and flushed, so a restart reads it again.
//
// Exactly once: per partition the source remembers the highest (commit_lsn, position) it
// handed on and drops any message at or below it (a redelivery, or the connector replaying
// after a crash). Consumer offsets are committed only after the sink's Flush() covered every
// message before them, so a crash redelivers at most what the sink had not made durable; the
// lake's own per-table (commit_lsn, position) record then drops what it already stored.
//
// Consumer group: several processes with the same group id share the topics, each partition
// owned by one of them at a time. When partitions are revoked (a member joins or leaves) the
// source first commits the open transaction, flushes the sink and commits offsets, so the next
// owner starts where this one stopped. If that commit is refused (a broker may refuse commits
// while the group rebalances), the next owner redelivers from the previous commit and the
// lake's own (commit_lsn, position) record drops what was already stored. A PartitionListener
// (optional) hears of each assignment before any of its messages is handed on and of each
// revocation after its flush, so that a sink can own exactly the tables this member reads; it
// also runs the caught-up check (see PartitionListener).
//
// Threading: Run() blocks the calling thread; rebalance callbacks run inside it. One Run per
// KafkaSource at a time.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "transport/dead_letter.h"
#include "transport/kafka/client.h"
#include "transport/kafka/envelope.h"
#include "transport/sink.h"

namespace migsbyu::kafka {

// Told which partitions this member owns, for a sink that must own what it writes (the lake's
// tables, docs/LAKE.md "Several writers"). Called on Run's thread, between transactions.
class PartitionListener {
 public:
  virtual ~PartitionListener() = default;
  // Before any message of `topics` is handed on. An error stops Run.
  virtual Status OnAssigned(const std::vector<std::string>& topics) = 0;
  // After the revocation's flush succeeded: no message of `topics` follows. (When the flush
  // failed, Run stops with that error and this is not called.)
  virtual Status OnRevoked(const std::vector<std::string>& topics) = 0;
  // The caught-up check, after each periodic flush: CatchUpToken() is called first, then the
  // source asks the brokers for the end of each partition, then OnCaughtUp names the topics
  // whose every message up to that end was handed on and flushed, with the token.
  virtual uint64_t CatchUpToken() = 0;
  virtual Status OnCaughtUp(const std::vector<std::string>& topics, uint64_t token) = 0;
};

// How changes are grouped into the transactions handed to the sink.
enum class TransactionMode {
  // Whole transactions while this member holds the transaction metadata topic's partition
  // (subscribed with the table topics, by the default pattern or when listed), else per partition.
  kAuto,
  // Like kAuto, and the transaction metadata topic is added to an explicit topic list.
  kExact,
  // Each run of one partition's messages that share a commit LSN is a transaction (the metadata
  // topic, if read, is skipped).
  kPartition,
};

// "auto", "exact" or "partition".
Result<TransactionMode> ParseTransactionMode(std::string_view name);

struct KafkaSourceOptions {
  std::string brokers;  // bootstrap.servers
  std::string group_id = "migsbyu-lake";
  // Topic names, or regular expressions starting with '^'. Empty: every topic of the prefix.
  std::vector<std::string> topics;
  std::string topic_prefix = "migsbyu";
  // Flush the sink and commit offsets after this many changes or this much time.
  size_t flush_every_changes = 10000;
  std::chrono::milliseconds flush_interval{200};
  std::chrono::milliseconds poll_timeout{100};
  Config extra;  // further librdkafka properties; they override the defaults
  PartitionListener* listener = nullptr;  // optional; must outlive Run
  // How often the listener's caught-up check runs (after a flush).
  std::chrono::milliseconds catch_up_interval{500};
  // Where a message that does not decode, or a change the sink refuses as unstorable
  // (ErrorCode::kValidation from Apply), goes so that consuming goes on (transport/
  // dead_letter.h); its offset is then committed like any other. Null (--on-error=stop): Run
  // stops with the error. Must outlive Run.
  transport::DeadLetterSink* dead_letters = nullptr;
  TransactionMode transactions = TransactionMode::kAuto;
  // Whole transactions: the most changes buffered while their transactions are incomplete.
  size_t max_buffered_changes = 50000;
};

// Counters, for metrics and tests.
struct KafkaSourceStats {
  uint64_t messages = 0;    // consumed, including tombstones and duplicates
  uint64_t changes = 0;     // handed to the sink
  uint64_t duplicates = 0;  // dropped by the (commit_lsn, position) identity
  uint64_t tombstones = 0;
  uint64_t skipped = 0;  // not row changes (Debezium's transaction metadata, op "m")
  uint64_t flushes = 0;
  uint64_t dead_letters = 0;  // set aside (options.dead_letters)
  // Whole transactions only: handed on whole and complete; handed on incomplete because the
  // buffer was full; changes handed on outside a whole transaction (of a transaction handed on
  // already, or older than the last one handed on, whose metadata came before the committed
  // offset of a restart).
  uint64_t transactions = 0;
  uint64_t incomplete = 0;
  uint64_t late = 0;
};

class KafkaSource {
 public:
  explicit KafkaSource(KafkaSourceOptions options);
  KafkaSource(const KafkaSource&) = delete;
  KafkaSource& operator=(const KafkaSource&) = delete;

  // Consumes until `stop` is requested (returns OK after a final flush and offset commit) or an
  // error: a malformed message (Corruption, naming topic, partition and offset; unless
  // options.dead_letters takes it) or a sink error.
  // A failed offset commit (e.g. during a rebalance) is logged and retried at the next flush.
  // Offsets past the last successful flush are never committed, so a new Run redelivers them.
  Status Run(std::stop_token stop, transport::Sink& sink);

  // Counters so far; safe from any thread.
  KafkaSourceStats stats() const {
    return {messages_.load(),   changes_.load(), duplicates_.load(),   tombstones_.load(),
            skipped_.load(),    flushes_.load(), dead_letters_.load(), transactions_.load(),
            incomplete_.load(), late_.load()};
  }

  // Whether whole transactions are handed on now (the member holds the transaction metadata
  // topic's partition and the mode is not kPartition); safe from any thread.
  bool WholeTransactions() const { return whole_.load(); }

  // Partitions currently assigned to this member; safe from any thread.
  size_t AssignedPartitions() const { return assigned_.load(); }

 private:
  using Partition = std::pair<std::string, int32_t>;
  struct Identity {
    Lsn commit_lsn;
    uint64_t position = 0;
    auto operator<=>(const Identity&) const = default;
  };
  struct OpenTx {
    Partition partition;
    events::TransactionInfo info;
  };

  // A change waiting for the rest of its transaction, with its message (for the dead letters).
  struct Buffered {
    DecodedChange decoded;
    Message message;
  };
  // A transaction being assembled (whole transactions).
  struct PendingTx {
    std::map<uint64_t, Buffered> changes;  // by position
    std::map<std::string, uint64_t> seen;  // per data_collection
    std::optional<TransactionRecord> end;
    int64_t end_offset = -1;
    bool released = false;  // handed on incomplete: later changes go straight on
    Lsn commit_lsn;         // of its changes (zero until one arrived)
  };

  Status Handle(const Message& message, transport::Sink& sink);
  // Whole transactions: a message of the metadata topic; a change to buffer or hand on.
  Status HandleTransactionRecord(const Message& message, transport::Sink& sink);
  Status BufferChange(DecodedChange d, const Message& message, transport::Sink& sink);
  // Hands on every transaction at the front of the END order that is complete (or released),
  // then the END-less ones older than the last handed on, then enforces max_buffered_changes.
  Status HandReady(transport::Sink& sink);
  // Hands on what `id` buffered as one transaction: complete (kWhole), incomplete because the
  // buffer is full (kRelease: its later changes follow as they come), or older than the last one
  // handed on (kLate).
  enum class HandKind { kWhole, kRelease, kLate };
  Status HandOn(const std::string& id, HandKind kind, transport::Sink& sink);
  bool Complete(const PendingTx& tx);
  // Remembers (a bounded number of) transaction ids handed on, whose END records are ignored.
  void RememberHanded(const std::string& id);
  // Whether this member holds a partition of `topic`.
  bool HoldsTopic(const std::string& topic) const;
  // Whether a data_collection's topic is among those this source subscribes to.
  bool Subscribed(const std::string& data_collection);
  // Drops every buffered change (their offsets were not committed: they are read again).
  void DropBuffered();
  // Applies one change, setting it aside when the sink refuses it as unstorable.
  Status ApplyChange(const events::ChangeEvent& change, const Message& message,
                     transport::Sink& sink);
  void UpdateMode();
  // Sets `message` aside with `why` (options_.dead_letters is set).
  Status Quarantine(const Message& message, const Error& why);
  Status CloseOpenTx(transport::Sink& sink);
  Status FlushAndCommit(transport::Sink& sink);
  // The caught-up check of PartitionListener.
  Status CheckCaughtUp();
  // The schema shared by consecutive changes of a topic (one pointer while it does not change).
  std::shared_ptr<const events::TableSchema> Intern(std::shared_ptr<events::TableSchema> table,
                                                    const std::string& topic, bool key_known);

  KafkaSourceOptions options_;
  std::optional<Consumer> consumer_;
  std::map<Partition, Identity> high_water_;
  std::map<Partition, int64_t> pending_offsets_;  // next offset to commit, after a flush
  std::set<Partition> assigned_set_;
  std::map<Partition, int64_t> consumed_next_;  // per assigned partition: next offset to hand on
  std::map<std::string, std::shared_ptr<const events::TableSchema>> schemas_;
  std::optional<OpenTx> open_tx_;
  size_t changes_since_flush_ = 0;
  std::optional<Error> callback_error_;
  bool closing_ = false;
  // Whole transactions.
  std::string transaction_topic_;
  std::map<std::string, PendingTx> pending_txs_;
  std::deque<std::string> end_order_;                 // ids with an END record, in topic order
  std::map<Partition, std::map<int64_t, int>> held_;  // offsets of buffered messages
  size_t buffered_ = 0;
  std::optional<Lsn> handed_max_;  // greatest commit LSN handed on whole
  std::set<std::string> handed_ids_;
  std::deque<std::string> handed_order_;  // bounds handed_ids_
  std::map<std::string, bool> subscribed_;
  std::atomic<uint64_t> messages_{0}, changes_{0}, duplicates_{0}, tombstones_{0}, skipped_{0},
      flushes_{0}, dead_letters_{0}, transactions_{0}, incomplete_{0}, late_{0};
  std::atomic<bool> whole_{false};
  std::atomic<size_t> assigned_{0};
};

}  // namespace migsbyu::kafka
