// The envelope's decoder: our envelopes and Debezium's own PostgreSQL connector events (JSON
// converter, schemas on or off) back as ChangeEvents; transaction metadata records (envelope.h).
#include <charconv>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/actor.h"
#include "common/identifier.h"
#include "transport/kafka/connect_codec.h"
#include "transport/kafka/envelope.h"

namespace migsbyu::kafka {

using events::ChangeEvent;
using events::Column;
using events::Operation;
using events::TableSchema;
using events::Value;
using events::ValueType;
using json = nlohmann::ordered_json;
using connect::ColumnFromFieldSchema;
using connect::DecodeColumnValue;
using connect::DefaultOid;
using connect::FieldCodec;
using connect::InferCodec;
using connect::Str;

namespace {

Result<Lsn> LsnFromJson(const json& j, const char* what) {
  if (j.is_number_unsigned() || j.is_number_integer()) return Lsn(j.get<uint64_t>());
  if (j.is_string()) {
    const std::string& s = j.get_ref<const std::string&>();
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && p == s.data() + s.size()) return Lsn(v);
    if (auto lsn = Lsn::Parse(s)) return *lsn;
  }
  return Error::Corruption(std::string("kafka envelope: ") + what + " = " + j.dump() +
                           " is not an LSN");
}

// source.changed_by and source.origin (ours); an event without an origin (Debezium's own) was
// made outside MigsbyU.
Result<Actor> ActorOf(const json& source, const std::string& where_table) {
  auto origin = source.find("origin");
  if (origin == source.end() || origin->is_null()) return Actor::Database();
  auto bad = [&](const std::string& what) {
    return Error::Corruption("kafka envelope: source of " + where_table + ": " + what);
  };
  if (!origin->is_string()) return bad("origin is not a string");
  Actor actor;
  actor.origin = origin->get<std::string>();
  auto user = source.find("changed_by");
  if (user != source.end() && !user->is_null()) {
    if (!user->is_string()) return bad("changed_by is not a string");
    actor.user = user->get<std::string>();
  }
  if (Status checked = CheckActor(actor); !checked.ok()) return bad(checked.error().message());
  return actor;
}

// Calls on_depth(i, depth) at each bracket of `text` from `begin` on that lies outside strings
// (escapes honoured), with the nesting depth after it; stops and returns i when on_depth says
// so, npos at the end.
template <typename F>
size_t ScanBrackets(std::string_view text, size_t begin, F on_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = begin; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[' || c == '}' || c == ']') {
      depth += c == '{' || c == '[' ? 1 : -1;
      if (on_depth(i, depth)) return i;
    }
  }
  return std::string_view::npos;
}

// Whether objects and arrays in `text` nest deeper than `limit` (the scan stops there): the
// parser and a JSON value's destruction recurse, so deeper input is refused before parsing.
bool NestsDeeperThan(std::string_view text, int limit) {
  return ScanBrackets(text, 0, [limit](size_t, int depth) { return depth > limit; }) !=
         std::string_view::npos;
}

// Refuses text too large or too deep to parse safely (see kMaxMessageBytes, kMaxJsonDepth).
Status CheckParsable(std::string_view text, const char* what) {
  if (text.size() > kMaxMessageBytes) {
    return Error::Corruption(std::string("kafka envelope: ") + what + " of " +
                             std::to_string(text.size()) + " bytes (at most " +
                             std::to_string(kMaxMessageBytes) + ")");
  }
  if (NestsDeeperThan(text, kMaxJsonDepth)) {
    return Error::Corruption(std::string("kafka envelope: ") + what + " nests deeper than " +
                             std::to_string(kMaxJsonDepth) + " levels");
  }
  return OkStatus();
}

Result<json> ParseJson(const std::string& text, const char* what) {
  MIGSBYU_TRY(CheckParsable(text, what));
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) {
    return Error::Corruption(std::string("kafka envelope: ") + what +
                             " is not JSON: " + text.substr(0, 80));
  }
  return j;
}

// {"schema", "payload"} → (schema or null, payload); anything else is a schemaless payload.
std::pair<json, json> SplitSchema(json j) {
  if (j.is_object() && j.contains("payload") && j.contains("schema") && j.size() == 2) {
    return {std::move(j["schema"]), std::move(j["payload"])};
  }
  return {json(nullptr), std::move(j)};
}

const json* FieldOf(const json& struct_schema, const char* name) {
  if (!struct_schema.is_object() || !struct_schema.contains("fields")) return nullptr;
  for (const json& f : struct_schema["fields"]) {
    if (Str(f, "field") == name) return &f;
  }
  return nullptr;
}

// The columns a value schema declares for its before/after rows, with their codecs.
struct RowColumns {
  bool present = false;  // the schema has a before or after struct
  std::vector<Column> columns;
  std::vector<FieldCodec> codecs;
};

RowColumns RowColumnsOf(const json& schema) {
  RowColumns out;
  const json* row_schema = FieldOf(schema, "after");
  if (!row_schema) row_schema = FieldOf(schema, "before");
  if (!row_schema || !row_schema->contains("fields")) return out;
  out.present = true;
  for (const json& f : (*row_schema)["fields"]) {
    auto [c, codec] = ColumnFromFieldSchema(f);
    out.columns.push_back(std::move(c));
    out.codecs.push_back(codec);
  }
  return out;
}

size_t SkipSpace(std::string_view t, size_t i) {
  while (i < t.size() && (t[i] == ' ' || t[i] == '\n' || t[i] == '\r' || t[i] == '\t')) ++i;
  return i;
}

// Where the JSON object or array that opens at t[begin] ends (one past its closing bracket),
// honouring strings and escapes; npos when it does not close.
size_t CompositeEnd(std::string_view t, size_t begin) {
  size_t close = ScanBrackets(t, begin, [](size_t, int depth) { return depth == 0; });
  return close == std::string_view::npos ? close : close + 1;
}

// The texts of S and P in a value written as {"schema":S,"payload":P}, in that order, as Kafka
// Connect's JSON converter and our sink write it; false for any other shape (the caller then
// parses the whole value). Locating them costs a scan, not a parse.
bool SplitSchemaText(std::string_view t, std::string_view* schema, std::string_view* payload) {
  constexpr std::string_view kSchema = "\"schema\"", kPayload = "\"payload\"";
  size_t i = SkipSpace(t, 0);
  if (i >= t.size() || t[i] != '{') return false;
  i = SkipSpace(t, i + 1);
  if (t.substr(i, kSchema.size()) != kSchema) return false;
  i = SkipSpace(t, i + kSchema.size());
  if (i >= t.size() || t[i] != ':') return false;
  i = SkipSpace(t, i + 1);
  if (i >= t.size() || t[i] != '{') return false;
  size_t end = CompositeEnd(t, i);
  if (end == std::string_view::npos) return false;
  *schema = t.substr(i, end - i);
  i = SkipSpace(t, end);
  if (i >= t.size() || t[i] != ',') return false;
  i = SkipSpace(t, i + 1);
  if (t.substr(i, kPayload.size()) != kPayload) return false;
  i = SkipSpace(t, i + kPayload.size());
  if (i >= t.size() || t[i] != ':') return false;
  i = SkipSpace(t, i + 1);
  size_t last = t.find_last_not_of(" \n\r\t");
  if (last == std::string_view::npos || last <= i || t[last] != '}') return false;
  *payload = t.substr(i, last - i);
  return true;
}

// The row columns of a value schema text, parsed once per thread and schema: a topic's messages
// repeat the same ~4 KB schema, which would otherwise be most of the decoding work. nullptr when
// the text does not parse.
const RowColumns* CachedRowColumns(std::string_view schema_text) {
  constexpr size_t kMaxSchemas = 64;
  thread_local std::unordered_map<std::string, RowColumns> cache;
  if (auto it = cache.find(std::string(schema_text)); it != cache.end()) return &it->second;
  json schema = json::parse(schema_text, nullptr, false);
  if (schema.is_discarded() || !schema.is_object()) return nullptr;
  if (cache.size() >= kMaxSchemas) cache.clear();
  return &cache.emplace(std::string(schema_text), RowColumnsOf(schema)).first->second;
}

}  // namespace

Result<std::optional<DecodedChange>> DecodeEnvelope(const std::string* key,
                                                    const std::string* value) {
  if (!value) return std::optional<DecodedChange>();
  MIGSBYU_TRY(CheckParsable(*value, "value"));
  if (key) MIGSBYU_TRY(CheckParsable(*key, "key"));
  json payload;
  const RowColumns* row_columns = nullptr;
  RowColumns parsed_columns;
  std::string_view schema_text, payload_text;
  if (SplitSchemaText(*value, &schema_text, &payload_text)) {
    row_columns = CachedRowColumns(schema_text);
    if (row_columns) {
      payload = json::parse(payload_text, nullptr, false);
      if (payload.is_discarded()) row_columns = nullptr;
    }
  }
  if (!row_columns) {
    MIGSBYU_ASSIGN(json whole, ParseJson(*value, "value"));
    if (whole.is_null()) return std::optional<DecodedChange>();
    auto [schema, rest] = SplitSchema(std::move(whole));
    payload = std::move(rest);
    parsed_columns = RowColumnsOf(schema);
    row_columns = &parsed_columns;
  }
  // Not row changes: Debezium's transaction metadata (BEGIN/END) and logical messages (op m).
  if (payload.is_object() && !payload.contains("op") && payload.contains("status")) {
    return std::optional<DecodedChange>();
  }
  if (payload.is_object() && payload.value("op", json()) == "m")
    return std::optional<DecodedChange>();
  if (!payload.is_object() || !payload.contains("source") || !payload["source"].is_object() ||
      !payload.contains("op") || !payload["op"].is_string()) {
    return Error::Corruption("kafka envelope: value has no source or op: " + value->substr(0, 120));
  }
  const json& source = payload["source"];
  const std::string op = payload["op"].get<std::string>();
  DecodedChange out;
  ChangeEvent& ev = out.change;
  if (op.size() != 1 || std::string_view("rcudt").find(op[0]) == std::string_view::npos) {
    return Error::Corruption("kafka envelope: unknown op '" + op + "' in " + Str(source, "schema") +
                             "." + Str(source, "table"));
  }
  ev.op = static_cast<Operation>(op[0]);
  auto table = std::make_shared<TableSchema>();
  table->schema = Str(source, "schema");
  table->name = Str(source, "table");
  // Names become the lake's file and column names: only plain identifiers pass.
  if (!IsPlainIdentifier(table->name) ||
      (!table->schema.empty() && !IsPlainIdentifier(table->schema))) {
    return Error::Corruption("kafka envelope: table name '" +
                             (table->schema + "." + table->name).substr(0, 120) +
                             "' is not an identifier ([A-Za-z_][A-Za-z0-9_]*)");
  }
  const std::string where_table = table->schema + "." + table->name;

  // Columns: from the row schema when present, else from the row objects themselves.
  std::vector<FieldCodec> codecs;
  if (row_columns->present) {
    table->columns = row_columns->columns;
    codecs = row_columns->codecs;
  } else {
    for (const char* part : {"after", "before"}) {
      if (!payload.contains(part) || !payload[part].is_object()) continue;
      for (const auto& [name, v] : payload[part].items()) {
        int i = table->ColumnIndex(name);
        if (i < 0) {
          table->columns.push_back(Column{name});
          codecs.emplace_back();
          i = static_cast<int>(codecs.size()) - 1;
        }
        if (!v.is_null() && codecs[i].type == ValueType::kText && !v.is_string()) {
          codecs[i] = InferCodec(v);
        }
      }
    }
    for (size_t i = 0; i < codecs.size(); ++i) {
      table->columns[i].type = codecs[i].type;
      table->columns[i].type_oid = DefaultOid(codecs[i].type);
    }
  }
  for (const auto& c : table->columns) {
    if (!IsPlainIdentifier(c.name)) {
      return Error::Corruption("kafka envelope: column name '" + c.name.substr(0, 120) + "' of " +
                               where_table + " is not an identifier");
    }
  }
  // Key columns: from the key message.
  if (key) {
    MIGSBYU_ASSIGN(json key_json, ParseJson(*key, "key"));
    auto [key_schema, key_payload] = SplitSchema(std::move(key_json));
    if (key_payload.is_object()) {
      for (const auto& [name, v] : key_payload.items()) {
        if (int i = table->ColumnIndex(name); i >= 0) table->columns[i].key = true;
      }
    }
  }
  for (const char* part : {"before", "after"}) {
    if (!payload.contains(part) || payload[part].is_null()) continue;
    const json& obj = payload[part];
    if (!obj.is_object()) {
      return Error::Corruption(std::string("kafka envelope: ") + part + " of " + where_table +
                               " is not an object");
    }
    events::Row row(table->columns.size());
    for (size_t i = 0; i < table->columns.size(); ++i) {
      auto it = obj.find(table->columns[i].name);
      if (it == obj.end()) continue;
      MIGSBYU_ASSIGN(row[i],
                     DecodeColumnValue(*it, codecs[i], where_table + "." + table->columns[i].name));
    }
    (std::string_view(part) == "before" ? ev.before : ev.after) = std::move(row);
  }
  ev.table = table;

  // Identity and transaction.
  if (source.contains("txId") && source["txId"].is_number()) {
    ev.xid = static_cast<uint32_t>(source["txId"].get<int64_t>());
  }
  if (source.contains("ts_us") && source["ts_us"].is_number()) {
    ev.commit_time_us = source["ts_us"].get<int64_t>();
  } else if (source.contains("ts_ms") && source["ts_ms"].is_number()) {
    ev.commit_time_us = source["ts_ms"].get<int64_t>() * 1000;
  }
  if (source.contains("lsn") && !source["lsn"].is_null()) {
    MIGSBYU_ASSIGN(ev.lsn, LsnFromJson(source["lsn"], "source.lsn"));
  }
  std::optional<Lsn> last_commit;
  if (std::string seq = Str(source, "sequence"); !seq.empty()) {
    MIGSBYU_TRY(CheckParsable(seq, "source.sequence"));
    json s = json::parse(seq, nullptr, false);
    if (s.is_array() && !s.empty() && !s[0].is_null()) {
      MIGSBYU_ASSIGN(last_commit, LsnFromJson(s[0], "source.sequence[0]"));
    }
  }
  const json* tx = payload.contains("transaction") && payload["transaction"].is_object()
                       ? &payload["transaction"]
                       : nullptr;
  std::string snapshot = source.contains("snapshot") && source["snapshot"].is_boolean()
                             ? (source["snapshot"].get<bool>() ? "true" : "false")
                             : Str(source, "snapshot");
  out.tx.snapshot = ev.op == Operation::kRead || (!snapshot.empty() && snapshot != "false");
  if (source.contains("commit_lsn") && !source["commit_lsn"].is_null()) {
    MIGSBYU_ASSIGN(ev.commit_lsn, LsnFromJson(source["commit_lsn"], "source.commit_lsn"));
  } else if (!out.tx.snapshot && last_commit) {
    ev.commit_lsn = *last_commit;
  } else {
    ev.commit_lsn = ev.lsn;
  }
  if (tx && tx->contains("total_order") && (*tx)["total_order"].is_number_integer()) {
    ev.position = (*tx)["total_order"].get<uint64_t>() - 1;
  } else if (out.tx.snapshot) {
    out.position_from_offset = true;
  } else {
    ev.position = ev.lsn.value();
  }
  out.tx.xid = ev.xid;
  out.tx.commit_lsn = ev.commit_lsn;
  out.tx.end_lsn = ev.commit_lsn;
  if (source.contains("end_lsn") && !source["end_lsn"].is_null()) {
    MIGSBYU_ASSIGN(out.tx.end_lsn, LsnFromJson(source["end_lsn"], "source.end_lsn"));
  }
  out.tx.commit_time_us = ev.commit_time_us;
  if (tx && tx->contains("id") && (*tx)["id"].is_string()) {
    out.transaction_id = (*tx)["id"].get<std::string>();
  }
  out.data_collection = where_table;
  MIGSBYU_ASSIGN(ev.actor, ActorOf(source, where_table));
  return std::optional<DecodedChange>(std::move(out));
}

Result<TransactionRecord> DecodeTransactionRecord(const std::string* key,
                                                  const std::string* value) {
  (void)key;  // the id is also in the value
  if (!value) return Error::Corruption("kafka transaction record: null value");
  MIGSBYU_TRY(CheckParsable(*value, "value"));
  MIGSBYU_ASSIGN(json whole, ParseJson(*value, "value"));
  auto [schema, payload] = SplitSchema(std::move(whole));
  if (!payload.is_object() || !payload.contains("status") || !payload["status"].is_string() ||
      !payload.contains("id") || !payload["id"].is_string()) {
    return Error::Corruption("kafka transaction record: no status or id: " + value->substr(0, 120));
  }
  TransactionRecord r;
  r.id = payload["id"].get<std::string>();
  const std::string status = payload["status"].get<std::string>();
  if (status == "BEGIN") return r;
  if (status != "END") {
    return Error::Corruption("kafka transaction record " + r.id.substr(0, 64) +
                             ": unknown status '" + status.substr(0, 32) + "'");
  }
  r.end = true;
  const json& collections = payload.value("data_collections", json());
  if (!collections.is_array()) {
    return Error::Corruption("kafka transaction record " + r.id.substr(0, 64) +
                             ": END without data_collections");
  }
  for (const auto& c : collections) {
    if (!c.is_object() || !c.contains("data_collection") || !c["data_collection"].is_string() ||
        !c.contains("event_count") || !c["event_count"].is_number_unsigned()) {
      return Error::Corruption("kafka transaction record " + r.id.substr(0, 64) +
                               ": malformed data_collections entry");
    }
    r.collections.push_back(
        {c["data_collection"].get<std::string>(), c["event_count"].get<uint64_t>()});
    r.event_count += r.collections.back().event_count;
  }
  return r;
}

}  // namespace migsbyu::kafka
