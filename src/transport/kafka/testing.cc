#include "transport/kafka/testing.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace migsbyu::kafka::testing {

using events::ValueType;

json ReadJson(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  return json::parse(in);
}

namespace {

const std::pair<const char*, ValueType> kTypeNames[] = {
    {"bool", ValueType::kBool},           {"int16", ValueType::kInt16},
    {"int32", ValueType::kInt32},         {"int64", ValueType::kInt64},
    {"float64", ValueType::kFloat64},     {"numeric", ValueType::kNumeric},
    {"text", ValueType::kText},           {"date", ValueType::kDate},
    {"timestamp", ValueType::kTimestamp}, {"timestamptz", ValueType::kTimestampTz},
};

ValueType TypeFromName(const std::string& name) {
  for (auto [n, t] : kTypeNames) {
    if (name == n) return t;
  }
  throw std::runtime_error("unknown type " + name);
}

std::string TypeName(ValueType type) {
  for (auto [n, t] : kTypeNames) {
    if (t == type) return n;
  }
  return "?";
}

Lsn LsnOf(const json& j) {
  if (j.is_null()) return Lsn();
  auto lsn = Lsn::Parse(j.get<std::string>());
  if (!lsn) throw std::runtime_error("bad LSN " + j.dump());
  return *lsn;
}

events::Value ValueFromJson(const json& v, ValueType type) {
  if (v.is_null()) return events::Value::Null();
  if (v.is_string() && v.get<std::string>() == "__toast__") return events::Value::UnchangedToast();
  switch (type) {
    case ValueType::kBool:
      return events::Value::Integer(v.get<bool>() ? 1 : 0);
    case ValueType::kFloat64:
      return events::Value::Real(v.get<double>());
    case ValueType::kNumeric:
    case ValueType::kText:
      return events::Value::Text(v.get<std::string>());
    default:
      return events::Value::Integer(v.get<int64_t>());
  }
}

std::optional<events::Row> RowFromJson(const json& j, const events::TableSchema& t) {
  if (j.is_null()) return std::nullopt;
  events::Row row;
  for (size_t i = 0; i < t.columns.size(); ++i)
    row.push_back(ValueFromJson(j.at(i), t.columns[i].type));
  return row;
}

json DescribeRow(const std::optional<events::Row>& row, const events::TableSchema& t) {
  if (!row) return nullptr;
  json out = json::object();
  for (size_t i = 0; i < t.columns.size() && i < row->size(); ++i) {
    const auto& v = (*row)[i];
    if (v.state == events::Value::State::kNull)
      out[t.columns[i].name] = nullptr;
    else if (v.state == events::Value::State::kUnchangedToast)
      out[t.columns[i].name] = "<toast>";
    else
      out[t.columns[i].name] = events::ValueToText(t.columns[i].type, v);
  }
  return out;
}

}  // namespace

std::shared_ptr<const events::TableSchema> TableFromJson(const json& j) {
  auto t = std::make_shared<events::TableSchema>();
  t->schema = j["schema"];
  t->name = j["table"];
  for (const json& c : j["columns"]) {
    events::Column col;
    col.name = c["name"];
    col.type = TypeFromName(c["type"]);
    col.type_oid = c.value("oid", 0u);
    col.type_modifier = c.value("typmod", -1);
    col.key = c.value("key", false);
    t->columns.push_back(col);
  }
  return t;
}

events::ChangeEvent EventFromJson(const json& j, std::shared_ptr<const events::TableSchema> table) {
  events::ChangeEvent e;
  e.op = static_cast<events::Operation>(j["op"].get<std::string>()[0]);
  e.table = table;
  e.before = RowFromJson(j.value("before", json(nullptr)), *table);
  e.after = RowFromJson(j.value("after", json(nullptr)), *table);
  e.commit_lsn = LsnOf(j["commit_lsn"]);
  e.lsn = LsnOf(j["lsn"]);
  e.position = j.value("position", 0u);
  e.xid = j.value("xid", 0u);
  e.commit_time_us = j.value("commit_time_us", int64_t{0});
  if (j.contains("changed_by") && !j["changed_by"].is_null()) {
    e.actor.user = j["changed_by"].get<std::string>();
  }
  e.actor.origin = j.value("origin", std::string(kOriginDatabase));
  return e;
}

EnvelopeContext ContextFromJson(const json& j) {
  EnvelopeContext c;
  c.end_lsn = LsnOf(j["end_lsn"]);
  if (j.contains("last_commit_lsn") && !j["last_commit_lsn"].is_null()) {
    c.last_commit_lsn = LsnOf(j["last_commit_lsn"]);
  }
  c.snapshot = j.value("snapshot", false);
  c.data_collection_order = j.value("data_collection_order", 1u);
  c.processed_at_us = j.value("processed_at_us", int64_t{0});
  return c;
}

json DescribeChange(const events::ChangeEvent& c) {
  json cols = json::array();
  for (const auto& col : c.table->columns) {
    cols.push_back({{"name", col.name}, {"type", TypeName(col.type)}, {"key", col.key}});
  }
  return {{"op", std::string(1, static_cast<char>(c.op))},
          {"table", c.table->schema + "." + c.table->name},
          {"xid", c.xid},
          {"commit_lsn", c.commit_lsn.ToString()},
          {"lsn", c.lsn.ToString()},
          {"position", c.position},
          {"commit_time_us", c.commit_time_us},
          {"changed_by", c.actor.user ? json(*c.actor.user) : json(nullptr)},
          {"origin", c.actor.origin},
          {"columns", cols},
          {"before", DescribeRow(c.before, *c.table)},
          {"after", DescribeRow(c.after, *c.table)}};
}

json DescribeDecoded(const DecodedChange& d) {
  json j = DescribeChange(d.change);
  if (d.position_from_offset) j["position"] = "offset";
  j["snapshot"] = d.tx.snapshot;
  j["end_lsn"] = d.tx.end_lsn.ToString();
  return j;
}

// ------------------------------------------------------------------------------ RecordingSink

Status RecordingSink::Begin(const events::TransactionInfo& tx) {
  std::lock_guard lock(mu_);
  if (in_tx_) return Error::Internal("recording sink: Begin inside a transaction");
  in_tx_ = true;
  return OkStatus();
}

Status RecordingSink::Apply(const events::ChangeEvent& change) {
  std::lock_guard lock(mu_);
  if (!in_tx_) return Error::Internal("recording sink: Apply outside a transaction");
  changes_.push_back(change);
  return OkStatus();
}

Status RecordingSink::Commit(const events::TransactionInfo& tx) {
  std::lock_guard lock(mu_);
  if (!in_tx_) return Error::Internal("recording sink: Commit without Begin");
  in_tx_ = false;
  commits_.push_back(tx);
  last_ = std::max(last_, tx.end_lsn);
  return OkStatus();
}

Result<Lsn> RecordingSink::Flush() {
  std::lock_guard lock(mu_);
  ++flushes_;
  return last_;
}

std::vector<events::ChangeEvent> RecordingSink::changes() const {
  std::lock_guard lock(mu_);
  return changes_;
}

std::vector<events::TransactionInfo> RecordingSink::commits() const {
  std::lock_guard lock(mu_);
  return commits_;
}

size_t RecordingSink::flushes() const {
  std::lock_guard lock(mu_);
  return flushes_;
}

size_t RecordingSink::change_count() const {
  std::lock_guard lock(mu_);
  return changes_.size();
}

// ------------------------------------------------------------------------------ MockCluster

KafkaSinkOptions MockCluster::SinkOptions() const {
  KafkaSinkOptions o;
  o.brokers = bootstraps_;
  o.extra["log_level"] = "3";
  return o;
}

KafkaSourceOptions MockCluster::SourceOptions(const std::string& group) const {
  KafkaSourceOptions o;
  o.brokers = bootstraps_;
  o.group_id = group;
  o.flush_interval = std::chrono::milliseconds(100);
  o.extra["log_level"] = "3";
  o.extra["topic.metadata.refresh.interval.ms"] = "500";
  o.extra["session.timeout.ms"] = "6000";
  o.extra["heartbeat.interval.ms"] = "300";
  if (const char* debug = std::getenv("MIGSBYU_KAFKA_DEBUG")) {
    o.extra["debug"] = debug;
    o.extra["log_level"] = "7";
  }
  return o;
}

MockCluster::MockCluster(int brokers) {
  ConfPtr conf(rd_kafka_conf_new());
  char err[512];
  rd_kafka_conf_set(conf.get(), "log_level", "0", err, sizeof err);
  rk_.reset(rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof err));
  if (!rk_) throw std::runtime_error(std::string("mock cluster handle: ") + err);
  conf.release();  // the handle owns it now
  cluster_.reset(rd_kafka_mock_cluster_new(rk_.get(), brokers));
  if (!cluster_) throw std::runtime_error("rd_kafka_mock_cluster_new failed");
  bootstraps_ = rd_kafka_mock_cluster_bootstraps(cluster_.get());
}

MockCluster::~MockCluster() = default;

void MockCluster::CreateTopic(const std::string& topic, int partitions) {
  rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(cluster_.get(), topic.c_str(), partitions, 3);
  if (e) throw std::runtime_error("mock topic " + topic + ": " + rd_kafka_err2str(e));
}

void MockCluster::SetAllBrokersDown() { rd_kafka_mock_broker_set_down(cluster_.get(), -1); }
void MockCluster::SetAllBrokersUp() { rd_kafka_mock_broker_set_up(cluster_.get(), -1); }

void MockCluster::FailNextProduceRequests(size_t count, rd_kafka_resp_err_t error) {
  std::vector<rd_kafka_resp_err_t> errors(count, error);
  rd_kafka_mock_push_request_errors_array(cluster_.get(), /*ApiKey Produce*/ 0, count,
                                          errors.data());
}

void ProduceRaw(
    const std::string& brokers, const std::string& topic,
    const std::vector<std::pair<std::optional<std::string>, std::optional<std::string>>>& messages,
    int32_t partition) {
  int failures = 0;
  auto producer = Producer::Create({{"bootstrap.servers", brokers}, {"enable.idempotence", "true"}},
                                   [&](void*, rd_kafka_resp_err_t e) { failures += e != 0; });
  ASSERT_TRUE(producer.ok()) << producer.error().ToString();
  for (const auto& [k, v] : messages) {
    ASSERT_TRUE(
        producer->Produce(topic, k ? &*k : nullptr, v ? &*v : nullptr, nullptr, partition).ok());
  }
  EXPECT_EQ(producer->Flush(std::chrono::seconds(30)), 0);
  EXPECT_EQ(failures, 0);
}

}  // namespace migsbyu::kafka::testing
