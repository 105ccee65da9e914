#include "cdc/snapshot.h"

#include "cdc/value_codec.h"
#include "common/integer.h"
#include "common/log.h"

namespace migsbyu::cdc {

using events::Value;

namespace {

// A number in the catalog's answer about `table`; anything but one is a corrupt answer.
template <typename T>
Result<T> CatalogNumber(const pg::PgResult& r, int row, int col, const std::string& table,
                        const char* what) {
  if (auto v = ParseInteger<T>(r.Get(row, col))) return *v;
  return Error::Corruption("schema of " + table + ": bad " + what + " '" +
                           std::string(r.Get(row, col)) + "'");
}

}  // namespace

TableName ParseTableName(const std::string& text) {
  auto dot = text.find('.');
  if (dot == std::string::npos) return {"public", text};
  return {text.substr(0, dot), text.substr(dot + 1)};
}

Result<std::vector<TableName>> PublicationTables(pg::Connection& conn,
                                                 const std::string& publication) {
  MIGSBYU_ASSIGN(auto exists,
                 conn.ExecParams("SELECT 1 FROM pg_publication WHERE pubname = $1", {publication}));
  if (exists.rows() == 0)
    return Error::NotFound("publication '" + publication + "' does not exist");
  MIGSBYU_ASSIGN(auto r, conn.ExecParams("SELECT schemaname, tablename FROM pg_publication_tables "
                                         "WHERE pubname = $1 ORDER BY schemaname, tablename",
                                         {publication}));
  std::vector<TableName> out;
  for (int i = 0; i < r.rows(); ++i)
    out.push_back({std::string(r.Get(i, 0)), std::string(r.Get(i, 1))});
  return out;
}

Result<std::shared_ptr<const events::TableSchema>> LoadTableSchema(pg::Connection& conn,
                                                                   const TableName& table) {
  MIGSBYU_ASSIGN(
      auto r,
      conn.ExecParams(
          "SELECT c.oid, a.attname, a.atttypid, a.atttypmod, "
          "       coalesce(a.attnum = ANY (i.indkey), false) "
          "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
          "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
          "     AND a.attgenerated = '' "
          "LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary "
          "WHERE n.nspname = $1 AND c.relname = $2 ORDER BY a.attnum",
          {table.schema, table.name}));
  const std::string name = table.schema + "." + table.name;
  if (r.rows() == 0) return Error::NotFound("table " + name + " not found");
  auto schema = std::make_shared<events::TableSchema>();
  MIGSBYU_ASSIGN(schema->relation_id, CatalogNumber<uint32_t>(r, 0, 0, name, "relation oid"));
  schema->schema = table.schema;
  schema->name = table.name;
  for (int i = 0; i < r.rows(); ++i) {
    events::Column c;
    c.name = std::string(r.Get(i, 1));
    MIGSBYU_ASSIGN(c.type_oid, CatalogNumber<uint32_t>(r, i, 2, name, "type oid"));
    MIGSBYU_ASSIGN(c.type_modifier, CatalogNumber<int32_t>(r, i, 3, name, "type modifier"));
    c.key = r.Get(i, 4) == "t";
    c.type = ValueTypeForOid(c.type_oid);
    schema->columns.push_back(std::move(c));
  }
  return std::shared_ptr<const events::TableSchema>(std::move(schema));
}

Result<std::vector<std::string>> PrimaryKeyColumns(pg::Connection& conn, uint32_t relation_id) {
  MIGSBYU_ASSIGN(auto r,
                 conn.ExecParams("SELECT a.attname FROM pg_index i JOIN pg_attribute a "
                                 "ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) "
                                 "WHERE i.indrelid = $1::oid AND i.indisprimary ORDER BY a.attnum",
                                 {std::to_string(relation_id)}));
  std::vector<std::string> out;
  for (int i = 0; i < r.rows(); ++i) out.emplace_back(r.Get(i, 0));
  return out;
}

Status ParseCopyLine(std::string_view line, std::vector<std::optional<std::string>>* fields) {
  fields->clear();
  std::string field;
  bool null_field = false;
  size_t field_start = 0;
  for (size_t i = 0; i <= line.size(); ++i) {
    if (i == line.size() || line[i] == '\t') {
      if (null_field && i - field_start == 2) {
        fields->push_back(std::nullopt);
      } else {
        fields->push_back(std::move(field));
      }
      field.clear();
      null_field = false;
      field_start = i + 1;
      continue;
    }
    char ch = line[i];
    if (ch != '\\') {
      field += ch;
      continue;
    }
    if (++i == line.size()) return Error::Corruption("COPY line ends in a lone backslash");
    switch (char e = line[i]) {
      case 'N':
        null_field = (i - 1 == field_start);
        break;
      case 'b':
        field += '\b';
        break;
      case 'f':
        field += '\f';
        break;
      case 'n':
        field += '\n';
        break;
      case 'r':
        field += '\r';
        break;
      case 't':
        field += '\t';
        break;
      case 'v':
        field += '\v';
        break;
      case 'x': {
        int v = 0, n = 0;
        while (n < 2 && i + 1 < line.size() &&
               std::isxdigit(static_cast<unsigned char>(line[i + 1]))) {
          char h = line[++i];
          v = v * 16 + (h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
          ++n;
        }
        if (n == 0) return Error::Corruption("COPY line has \\x without digits");
        field += static_cast<char>(v);
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          int v = e - '0', n = 1;
          while (n < 3 && i + 1 < line.size() && line[i + 1] >= '0' && line[i + 1] <= '7') {
            v = v * 8 + (line[++i] - '0');
            ++n;
          }
          field += static_cast<char>(v);
        } else {
          field += e;
        }
    }
  }
  return OkStatus();
}

namespace {

bool IsSnapshotName(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c)) && c != '-') return false;
  }
  return true;
}

Status CopyTable(pg::Connection& conn, const events::TableSchema& table_schema,
                 std::shared_ptr<const events::TableSchema> table,
                 const events::TransactionInfo& tx, transport::Sink& sink, uint64_t* position,
                 SnapshotProgress* progress,
                 const std::function<void(const SnapshotProgress&)>& report, std::stop_token stop) {
  std::string columns;
  for (const auto& c : table_schema.columns) {
    if (!columns.empty()) columns += ", ";
    columns += pg::QuoteIdentifier(c.name);
  }
  std::string name = table_schema.schema + "." + table_schema.name;
  std::string sql = "COPY " + pg::QuoteIdentifier(table_schema.schema) + "." +
                    pg::QuoteIdentifier(table_schema.name) + " (" + columns + ") TO STDOUT";
  std::vector<std::optional<std::string>> fields;
  auto apply = [&](std::string_view line) -> Status {
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    Status parsed = ParseCopyLine(line, &fields);
    if (parsed.ok() && fields.size() != table_schema.columns.size()) {
      parsed = Error::Corruption("COPY row with " + std::to_string(fields.size()) + " fields");
    }
    if (!parsed.ok()) return parsed.error().WithContext("snapshot of " + name);
    events::Row row;
    row.reserve(fields.size());
    for (size_t i = 0; i < fields.size(); ++i) {
      if (!fields[i]) {
        row.push_back(Value::Null());
        continue;
      }
      auto v = ParseTextValue(table_schema.columns[i].type, *fields[i]);
      if (!v.ok()) {
        // A value the server printed that does not parse is corrupt input, not a bad option.
        return Error::Corruption("snapshot of " + name + "." + table_schema.columns[i].name + ": " +
                                 v.error().message());
      }
      row.push_back(std::move(v).value());
    }
    events::ChangeEvent e;
    e.op = events::Operation::kRead;
    e.table = table;
    e.after = std::move(row);
    e.commit_lsn = tx.commit_lsn;
    e.lsn = tx.commit_lsn;
    e.position = (*position)++;
    e.xid = tx.xid;
    e.commit_time_us = tx.commit_time_us;
    e.actor = Actor::Snapshot();
    MIGSBYU_TRY(sink.Apply(e));
    if (++progress->rows % 10000 == 0) {
      report(*progress);
      if (stop.stop_requested()) return Error::Cancelled("snapshot of " + name + " cancelled");
    }
    return OkStatus();
  };
  // A row's error (the sink's, a corrupt value, a stop) comes back as it is; the statement's
  // gets the table's name.
  Status row_error = OkStatus();
  Status copied = conn.CopyOut(sql, [&](std::string_view line) {
    row_error = apply(line);
    return row_error;
  });
  if (!row_error.ok()) return row_error;
  if (!copied.ok()) return copied.error().WithContext("snapshot COPY of " + name);
  return OkStatus();
}

}  // namespace

Result<int64_t> ServerClockUs(pg::Connection& conn) {
  MIGSBYU_ASSIGN(auto r,
                 conn.Exec("SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::int8"));
  if (r.rows() != 1 || r.IsNull(0, 0)) return Error::Internal("the server returned no clock");
  return static_cast<int64_t>(std::stoll(std::string(r.Get(0, 0))));
}

Status CopySnapshot(pg::Connection& conn, const std::string& snapshot_name,
                    const std::vector<TableName>& tables, Lsn consistent_point, int64_t instant_us,
                    transport::Sink& sink,
                    const std::function<void(const SnapshotProgress&)>& progress,
                    std::stop_token stop) {
  if (!IsSnapshotName(snapshot_name)) {
    return Error::InvalidArgument("snapshot name '" + snapshot_name + "' is not a snapshot id");
  }
  MIGSBYU_TRY(conn.Exec("SET TimeZone = 'UTC'; SET DateStyle = 'ISO'; SET extra_float_digits = 3"));
  MIGSBYU_TRY(conn.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
  // The snapshot id comes from the server and is checked above: it cannot carry SQL.
  // Ends the transaction after a failure, whose error is the one returned; a ROLLBACK that fails
  // too (the connection is gone) is logged.
  auto roll_back = [&](const Error& cause) {
    auto rolled_back = conn.Exec("ROLLBACK");
    if (!rolled_back.ok()) {
      MIGSBYU_LOG_WARN("cdc: ROLLBACK of snapshot {} after \"{}\" failed: {}", snapshot_name,
                       cause.message(), rolled_back.error().ToString());
    }
  };
  auto set = conn.Exec("SET TRANSACTION SNAPSHOT '" + snapshot_name + "'");
  if (!set.ok()) {
    roll_back(set.error());
    // The exported snapshot is gone (its replication connection moved on or died): retryable,
    // and the retry makes a new slot and snapshot.
    return Error::Unavailable("cannot import snapshot " + snapshot_name + ": " +
                              set.error().message());
  }
  auto run = [&]() -> Status {
    std::vector<std::shared_ptr<const events::TableSchema>> schemas;
    for (const auto& t : tables) {
      MIGSBYU_ASSIGN(auto s, LoadTableSchema(conn, t));
      schemas.push_back(std::move(s));
    }
    events::TransactionInfo tx;
    tx.commit_lsn = consistent_point;
    tx.end_lsn = consistent_point;
    tx.commit_time_us = instant_us;
    tx.snapshot = true;
    for (const auto& t : tables) tx.snapshot_tables.push_back(t.name);
    MIGSBYU_TRY(sink.Begin(tx));
    SnapshotProgress p;
    p.tables_total = static_cast<uint32_t>(schemas.size());
    progress(p);
    uint64_t position = 0;
    for (const auto& schema : schemas) {
      MIGSBYU_TRY(CopyTable(conn, *schema, schema, tx, sink, &position, &p, progress, stop));
      ++p.tables_done;
      progress(p);
    }
    MIGSBYU_TRY(sink.Commit(tx));
    MIGSBYU_ASSIGN(Lsn flushed, sink.Flush());
    if (flushed < consistent_point) {
      return Error::Internal("sink flushed " + flushed.ToString() + " after the snapshot at " +
                             consistent_point.ToString());
    }
    return OkStatus();
  };
  Status st = run();
  if (!st.ok()) {
    roll_back(st.error());
    return st;
  }
  auto committed = conn.Exec("COMMIT");
  if (!committed.ok()) {
    // The transaction only read, and the sink holds the whole copy durably: the snapshot is
    // done. Failing it now would make the connector take a second one into the same sink.
    MIGSBYU_LOG_WARN(
        "cdc: snapshot {} at {} is complete in the sink, but COMMIT of its read-only "
        "transaction failed: {}",
        snapshot_name, consistent_point.ToString(), committed.error().ToString());
  }
  return OkStatus();
}

}  // namespace migsbyu::cdc
