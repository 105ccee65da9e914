#include "cdc/incremental.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "cdc/value_codec.h"
#include "common/identifier.h"
#include "common/private_schema.h"

namespace migsbyu::cdc {

using nlohmann::json;

std::string ProgressToJson(const IncrementalProgress& p) {
  json j = {{"tables", p.tables},
            {"pass_start", p.pass_start.value()},
            {"chunks", p.chunks},
            {"rows", p.rows},
            {"requested_us", p.requested_us}};
  if (p.last_key) j["last_key"] = *p.last_key;
  return j.dump();
}

Result<IncrementalProgress> ProgressFromJson(std::string_view text) {
  IncrementalProgress p;
  if (text.empty()) return p;
  try {
    json j = json::parse(text);
    p.tables = j.at("tables").get<std::vector<std::string>>();
    if (j.contains("last_key")) p.last_key = j.at("last_key").get<std::vector<std::string>>();
    p.pass_start = Lsn(j.value("pass_start", uint64_t{0}));
    p.chunks = j.value("chunks", uint64_t{0});
    p.rows = j.value("rows", uint64_t{0});
    p.requested_us = j.value("requested_us", int64_t{0});
    return p;
  } catch (const std::exception& e) {
    return Error::Corruption("incremental snapshot progress '" + std::string(text) +
                             "' does not parse: " + e.what());
  }
}

std::string SnapshotRequestPayload(const std::vector<std::string>& tables) {
  std::vector<std::string> names;
  for (const auto& t : tables) {
    TableName n = ParseTableName(t);
    names.push_back(n.schema + "." + n.name);
  }
  return json{{"tables", names}}.dump();
}

Result<std::vector<std::string>> ParseSnapshotRequest(std::string_view payload) {
  try {
    json j = json::parse(payload);
    auto tables = j.at("tables").get<std::vector<std::string>>();
    if (tables.empty()) return Error::InvalidArgument("snapshot request names no table");
    for (const auto& t : tables) {
      TableName n = ParseTableName(t);
      if (!IsPlainIdentifier(n.schema) || !IsPlainIdentifier(n.name)) {
        return Error::InvalidArgument("snapshot request names table '" + t +
                                      "', not a plain identifier");
      }
    }
    return tables;
  } catch (const std::exception& e) {
    return Error::InvalidArgument("snapshot request '" + std::string(payload) +
                                  "' does not parse: " + e.what());
  }
}

namespace {

// The primary key columns of `table` in the index's order (the order ReadChunk sorts by, so
// that the primary key index serves it). Empty when the table has no primary key.
Result<std::vector<std::string>> IndexKeyColumns(pg::Connection& conn, const TableName& table) {
  MIGSBYU_ASSIGN(
      auto r,
      conn.ExecPrepared("SELECT a.attname FROM pg_index i "
                        "JOIN pg_class c ON c.oid = i.indrelid "
                        "JOIN pg_namespace n ON n.oid = c.relnamespace "
                        "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) "
                        "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum "
                        "WHERE n.nspname = $1 AND c.relname = $2 AND i.indisprimary ORDER BY k.ord",
                        {table.schema, table.name}));
  std::vector<std::string> out;
  for (int i = 0; i < r.rows(); ++i) out.emplace_back(r.Get(i, 0));
  return out;
}

}  // namespace

Status RequestIncrementalSnapshot(pg::Connection& conn, const std::vector<std::string>& tables,
                                  const std::optional<std::string>& publication) {
  if (tables.empty()) return Error::InvalidArgument("cdc snapshot: name at least one --table");
  std::optional<std::vector<TableName>> published;
  if (publication) {
    auto listed = PublicationTables(conn, *publication);
    if (!listed.ok() && listed.error().code() != ErrorCode::kNotFound) return listed.error();
    published = listed.ok() ? std::move(listed).value() : std::vector<TableName>{};
  }
  for (const auto& text : tables) {
    TableName t = ParseTableName(text);
    if (!IsPlainIdentifier(t.schema) || !IsPlainIdentifier(t.name)) {
      return Error::InvalidArgument("cdc snapshot: table '" + text + "' is not a plain name");
    }
    MIGSBYU_ASSIGN(auto keys, IndexKeyColumns(conn, t));
    if (keys.empty()) {
      MIGSBYU_ASSIGN(auto exists, conn.ExecParams("SELECT 1 FROM pg_class c JOIN pg_namespace n "
                                                  "ON n.oid = c.relnamespace WHERE n.nspname = "
                                                  "$1 AND c.relname = $2",
                                                  {t.schema, t.name}));
      return Error::InvalidArgument("cdc snapshot: table " + t.schema + "." + t.name +
                                    (exists.rows() ? " has no primary key" : " does not exist"));
    }
    if (published && (IsPrivateSchema(t.schema) ||
                      std::none_of(published->begin(), published->end(), [&](const TableName& u) {
                        return u.schema == t.schema && u.name == t.name;
                      }))) {
      return Error::InvalidArgument("cdc snapshot: table " + t.schema + "." + t.name +
                                    " is not captured (publication " + *publication +
                                    "): add it to --table");
    }
  }
  MIGSBYU_TRY(
      conn.ExecParams("SELECT pg_logical_emit_message(true, $1, $2)",
                      {std::string(kSnapshotRequestPrefix), SnapshotRequestPayload(tables)}));
  return OkStatus();
}

Result<Chunk> ReadChunk(pg::Connection& conn, const TableName& table,
                        const std::optional<std::vector<std::string>>& after, size_t limit) {
  const std::string name = table.schema + "." + table.name;
  MIGSBYU_ASSIGN(auto keys, IndexKeyColumns(conn, table));
  if (keys.empty()) return Error::InvalidArgument("cdc: " + name + " has no primary key");
  if (after && after->size() != keys.size()) {
    return Error::InvalidArgument("cdc: the last key of " + name + " has " +
                                  std::to_string(after->size()) + " columns, its primary key " +
                                  std::to_string(keys.size()));
  }
  Chunk chunk;
  MIGSBYU_ASSIGN(chunk.schema, LoadTableSchema(conn, table));
  std::string columns, key_list, params;
  for (const auto& c : chunk.schema->columns) {
    columns += (columns.empty() ? "" : ", ") + pg::QuoteIdentifier(c.name);
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    key_list += (i ? ", " : "") + pg::QuoteIdentifier(keys[i]);
    params += (i ? ", $" : "$") + std::to_string(i + 1);
  }
  std::string sql = "SELECT " + columns + " FROM " + pg::QuoteIdentifier(table.schema) + "." +
                    pg::QuoteIdentifier(table.name);
  pg::Params values;
  if (after) {
    // A row comparison, which the primary key's index serves in its order.
    sql += " WHERE (" + key_list + ") > (" + params + ")";
    for (const auto& v : *after) values.emplace_back(v);
  }
  sql += " ORDER BY " + key_list + " LIMIT " + std::to_string(limit);
  MIGSBYU_ASSIGN(auto r, conn.ExecParams(sql, values));
  const auto& cols = chunk.schema->columns;
  std::vector<int> key_at;
  for (const auto& k : keys) key_at.push_back(chunk.schema->ColumnIndex(k));
  chunk.rows.reserve(r.rows());
  for (int i = 0; i < r.rows(); ++i) {
    events::Row row;
    row.reserve(cols.size());
    for (size_t c = 0; c < cols.size(); ++c) {
      if (r.IsNull(i, static_cast<int>(c))) {
        row.push_back(events::Value::Null());
        continue;
      }
      auto v = ParseTextValue(cols[c].type, r.Get(i, static_cast<int>(c)));
      if (!v.ok()) {
        return Error::Corruption("incremental snapshot of " + name + "." + cols[c].name + ": " +
                                 v.error().message());
      }
      row.push_back(std::move(v).value());
    }
    chunk.rows.push_back(std::move(row));
  }
  if (r.rows() > 0) {
    std::vector<std::string> last;
    for (int at : key_at) last.emplace_back(r.Get(r.rows() - 1, at));
    chunk.last_key = std::move(last);
  }
  chunk.last = static_cast<size_t>(r.rows()) < limit;
  return chunk;
}

}  // namespace migsbyu::cdc
