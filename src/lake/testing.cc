#include "lake/testing.h"

#include <gtest/gtest.h>

#include "lake/catalog.h"
#include "lake/lake.h"

namespace migsbyu::lake::testing {

events::ChangeEvent ChangeIn(const events::TransactionInfo& info, size_t position,
                             std::shared_ptr<const events::TableSchema> table, events::Operation op,
                             std::optional<events::Row> before, std::optional<events::Row> after) {
  events::ChangeEvent e;
  e.op = op;
  e.table = std::move(table);
  e.before = std::move(before);
  e.after = std::move(after);
  e.commit_lsn = info.commit_lsn;
  e.position = position;
  e.lsn = Lsn(info.commit_lsn.value() - 50 + position);
  e.xid = info.xid;
  e.commit_time_us = info.commit_time_us;
  return e;
}

std::shared_ptr<const events::TableSchema> ContractSchema(const std::string& table) {
  const KnownTable* known = FindKnownTable(table);
  if (known == nullptr) throw std::invalid_argument("not a table of the contract: " + table);
  auto schema = std::make_shared<events::TableSchema>();
  schema->schema = "public";
  schema->name = table;
  for (const auto& c : known->columns) {
    auto column = ColumnFromDuckType(c.name, c.duck_type);
    column.key = c.name == "id" || known->entity.empty();
    column.type_oid = column.type == events::ValueType::kInt32     ? 23    // integer
                      : column.type == events::ValueType::kDate    ? 1082  // date
                      : column.type == events::ValueType::kNumeric ? 1700  // numeric
                                                                   : 25;   // text
    schema->columns.push_back(column);
  }
  return schema;
}

std::vector<std::string> QueryLines(const std::string& dir, const std::string& sql) {
  std::vector<std::string> lines;
  auto lake = Lake::Open(dir, 1);
  EXPECT_TRUE(lake.ok()) << dir << ": " << lake.error().ToString();
  if (!lake.ok()) return lines;
  auto conn = (*lake)->Connect();
  EXPECT_TRUE(conn.ok()) << dir << ": " << conn.error().ToString();
  if (!conn.ok()) return lines;
  auto rows = conn->connection.Query(sql);
  EXPECT_TRUE(rows.ok()) << sql << ": " << rows.error().ToString();
  if (!rows.ok()) return lines;
  for (uint64_t r = 0; r < rows->RowCount(); ++r) {
    std::string line;
    for (uint64_t c = 0; c < rows->ColumnCount(); ++c) {
      line += (c ? "|" : "") + (rows->IsNull(c, r) ? std::string("NULL") : rows->GetString(c, r));
    }
    lines.push_back(std::move(line));
  }
  return lines;
}

std::string QueryText(const std::string& dir, const std::string& sql) {
  std::string text;
  for (const auto& line : QueryLines(dir, sql)) text += line + "\n";
  return text;
}

}  // namespace migsbyu::lake::testing
