// The envelope's encoder: ChangeEvents and transaction metadata records as Debezium's
// PostgreSQL connector writes them (envelope.h).
#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "transport/kafka/connect_codec.h"
#include "transport/kafka/envelope.h"

namespace migsbyu::kafka {

using events::ChangeEvent;
using events::Column;
using events::Operation;
using events::TableSchema;
using events::Value;
using json = nlohmann::ordered_json;
using connect::EncodeColumnValue;
using connect::FieldSchema;
using connect::FloorDiv;

namespace {

constexpr char kConnectorVersion[] = "migsbyu-0.1.0";

Result<json> EncodeRow(const TableSchema& t, const events::Row& row, const EnvelopeOptions& o,
                       bool key_only) {
  json out = json::object();
  for (size_t i = 0; i < t.columns.size(); ++i) {
    const Column& c = t.columns[i];
    if (key_only && !c.key) continue;
    const Value& v = i < row.size() ? row[i] : Value::Null();
    MIGSBYU_ASSIGN(out[c.name], EncodeColumnValue(t, c, v, o));
  }
  return out;
}

json RowSchema(const TableSchema& t, const EnvelopeOptions& o, bool key_only,
               const std::string& name, const char* field) {
  json fields = json::array();
  for (const Column& c : t.columns) {
    if (key_only && !c.key) continue;
    fields.push_back(FieldSchema(c, !c.key, o));
  }
  json s = {{"type", "struct"}, {"fields", fields}, {"optional", !key_only}, {"name", name}};
  if (field) s["field"] = field;
  return s;
}

std::string Prefix(const EnvelopeOptions& o, const TableSchema& t) {
  return o.topic_prefix + "." + t.schema + "." + t.name;
}

json SimpleField(const char* type, const char* field, bool optional) {
  return {{"type", type}, {"optional", optional}, {"field", field}};
}

json ValueSchema(const TableSchema& t, const EnvelopeOptions& o) {
  const std::string prefix = Prefix(o, t);
  json source_fields = json::array({SimpleField("string", "version", false),
                                    SimpleField("string", "connector", false),
                                    SimpleField("string", "name", false),
                                    SimpleField("int64", "ts_ms", false),
                                    {{"type", "string"},
                                     {"optional", true},
                                     {"name", "io.debezium.data.Enum"},
                                     {"version", 1},
                                     {"parameters", {{"allowed", "true,last,false,incremental"}}},
                                     {"default", "false"},
                                     {"field", "snapshot"}},
                                    SimpleField("string", "db", false),
                                    SimpleField("string", "sequence", true),
                                    SimpleField("int64", "ts_us", true),
                                    SimpleField("int64", "ts_ns", true),
                                    SimpleField("string", "schema", false),
                                    SimpleField("string", "table", false),
                                    SimpleField("int64", "txId", true),
                                    SimpleField("int64", "lsn", true),
                                    SimpleField("int64", "xmin", true),
                                    SimpleField("int64", "commit_lsn", true),
                                    SimpleField("int64", "end_lsn", true),
                                    SimpleField("string", "changed_by", true),
                                    SimpleField("string", "origin", true)});
  json tx_fields =
      json::array({SimpleField("string", "id", false), SimpleField("int64", "total_order", false),
                   SimpleField("int64", "data_collection_order", false)});
  json fields = json::array({RowSchema(t, o, false, prefix + ".Value", "before"),
                             RowSchema(t, o, false, prefix + ".Value", "after"),
                             {{"type", "struct"},
                              {"fields", source_fields},
                              {"optional", false},
                              {"name", "io.debezium.connector.postgresql.Source"},
                              {"field", "source"}},
                             {{"type", "struct"},
                              {"fields", tx_fields},
                              {"optional", true},
                              {"name", "event.block"},
                              {"version", 1},
                              {"field", "transaction"}},
                             SimpleField("string", "op", false),
                             SimpleField("int64", "ts_ms", true),
                             SimpleField("int64", "ts_us", true),
                             SimpleField("int64", "ts_ns", true)});
  return {{"type", "struct"},
          {"fields", fields},
          {"optional", false},
          {"name", prefix + ".Envelope"},
          {"version", 1}};
}

// The schema parts depend only on the table and the options, so each thread keeps the dumped
// text of the last few tables' schemas: building them costs ten times the payload.
struct SchemaTexts {
  TableSchema table;
  std::string prefix;
  DecimalHandling decimal;
  TimePrecision time;
  std::string key;    // the key schema, dumped
  std::string value;  // the envelope schema, dumped
};

const SchemaTexts& CachedSchemas(const TableSchema& t, const EnvelopeOptions& o) {
  constexpr size_t kMaxTables = 64;
  thread_local std::vector<SchemaTexts> cache;
  for (const auto& e : cache) {
    if (e.decimal == o.decimal_handling && e.time == o.time_precision &&
        e.prefix == o.topic_prefix && e.table.name == t.name && e.table.schema == t.schema &&
        e.table.columns == t.columns) {
      return e;
    }
  }
  if (cache.size() >= kMaxTables) cache.erase(cache.begin());
  cache.push_back({t, o.topic_prefix, o.decimal_handling, o.time_precision,
                   RowSchema(t, o, true, Prefix(o, t) + ".Key", nullptr).dump(),
                   ValueSchema(t, o).dump()});
  return cache.back();
}

std::string WithSchema(const std::string& schema_text, const json& payload) {
  std::string out = "{\"schema\":";
  out += schema_text;
  out += ",\"payload\":";
  out += payload.dump();
  out += '}';
  return out;
}

}  // namespace

std::string TopicName(const EnvelopeOptions& options, const TableSchema& table) {
  return Prefix(options, table);
}

Result<std::optional<std::string>> EncodeKey(const ChangeEvent& change,
                                             const EnvelopeOptions& options) {
  const TableSchema& t = *change.table;
  const events::Row* row = change.after    ? &*change.after
                           : change.before ? &*change.before
                                           : nullptr;
  bool has_key = std::any_of(t.columns.begin(), t.columns.end(), [](auto& c) { return c.key; });
  if (!row || !has_key || change.op == Operation::kTruncate) return std::optional<std::string>();
  MIGSBYU_ASSIGN(json payload, EncodeRow(t, *row, options, true));
  if (!options.schemas_enable) return std::optional<std::string>(payload.dump());
  return std::optional<std::string>(WithSchema(CachedSchemas(t, options).key, payload));
}

Result<std::string> EncodeValue(const ChangeEvent& change, const EnvelopeContext& context,
                                const EnvelopeOptions& options) {
  const TableSchema& t = *change.table;
  json payload;
  if (change.before) {
    MIGSBYU_ASSIGN(payload["before"], EncodeRow(t, *change.before, options, false));
  } else {
    payload["before"] = nullptr;
  }
  if (change.after) {
    MIGSBYU_ASSIGN(payload["after"], EncodeRow(t, *change.after, options, false));
  } else {
    payload["after"] = nullptr;
  }
  json last_commit = context.last_commit_lsn
                         ? json(std::to_string(context.last_commit_lsn->value()))
                         : json(nullptr);
  json sequence = json::array({last_commit, std::to_string(change.lsn.value())});
  payload["source"] = {
      {"version", kConnectorVersion},
      {"connector", "postgresql"},
      {"name", options.topic_prefix},
      {"ts_ms", FloorDiv(change.commit_time_us, 1000)},
      {"snapshot", context.snapshot ? (context.last_snapshot_record ? "last" : "true") : "false"},
      {"db", options.database},
      {"sequence", sequence.dump()},
      {"ts_us", change.commit_time_us},
      {"ts_ns", change.commit_time_us * 1000},
      {"schema", t.schema},
      {"table", t.name},
      {"txId", change.xid},
      {"lsn", change.lsn.value()},
      {"xmin", nullptr},
      {"commit_lsn", change.commit_lsn.value()},
      {"end_lsn", context.end_lsn.IsZero() ? json(nullptr) : json(context.end_lsn.value())},
      {"changed_by", change.actor.user ? json(*change.actor.user) : json(nullptr)},
      {"origin", change.actor.origin},
  };
  payload["transaction"] = {{"id", TransactionId(change.xid, change.commit_lsn)},
                            {"total_order", change.position + 1},
                            {"data_collection_order", context.data_collection_order}};
  payload["op"] = std::string(1, static_cast<char>(change.op));
  payload["ts_ms"] = FloorDiv(context.processed_at_us, 1000);
  payload["ts_us"] = context.processed_at_us;
  payload["ts_ns"] = context.processed_at_us * 1000;
  if (!options.schemas_enable) return payload.dump();
  return WithSchema(CachedSchemas(t, options).value, payload);
}

std::string TableOfTopic(std::string_view topic) {
  const size_t dot = topic.find_last_of('.');
  return std::string(dot == std::string_view::npos ? topic : topic.substr(dot + 1));
}

std::string TransactionId(uint32_t xid, Lsn commit_lsn) {
  return std::to_string(xid) + ":" + std::to_string(commit_lsn.value());
}

std::string TransactionTopic(const EnvelopeOptions& options) {
  return options.topic_prefix + ".transaction";
}

std::pair<std::string, std::string> EncodeTransactionRecord(
    const std::string& id, const std::optional<std::vector<DataCollectionCount>>& end,
    int64_t ts_us, const EnvelopeOptions& options) {
  json key = {{"id", id}};
  json value = {{"status", end ? "END" : "BEGIN"}, {"id", id}};
  if (end) {
    uint64_t total = 0;
    json collections = json::array();
    for (const auto& c : *end) {
      total += c.event_count;
      collections.push_back(
          {{"data_collection", c.data_collection}, {"event_count", c.event_count}});
    }
    value["event_count"] = total;
    value["data_collections"] = std::move(collections);
  } else {
    value["event_count"] = nullptr;
    value["data_collections"] = nullptr;
  }
  value["ts_ms"] = FloorDiv(ts_us, 1000);
  if (!options.schemas_enable) return {key.dump(), value.dump()};
  // Debezium's schemas for these records (io.debezium.connector.common.TransactionMetadata*).
  static const std::string key_schema =
      json{{"type", "struct"},
           {"fields", json::array({SimpleField("string", "id", false)})},
           {"optional", false},
           {"name", "io.debezium.connector.common.TransactionMetadataKey"}}
          .dump();
  static const std::string value_schema =
      json{{"type", "struct"},
           {"fields",
            json::array({SimpleField("string", "status", false),
                         SimpleField("string", "id", false),
                         SimpleField("int64", "event_count", true),
                         {{"type", "array"},
                          {"items",
                           {{"type", "struct"},
                            {"fields", json::array({SimpleField("string", "data_collection", false),
                                                    SimpleField("int64", "event_count", false)})},
                            {"optional", false}}},
                          {"optional", true},
                          {"field", "data_collections"}},
                         SimpleField("int64", "ts_ms", false)})},
           {"optional", false},
           {"name", "io.debezium.connector.common.TransactionMetadataValue"}}
          .dump();
  return {WithSchema(key_schema, key), WithSchema(value_schema, value)};
}

}  // namespace migsbyu::kafka
