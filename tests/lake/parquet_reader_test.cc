// The lake's Parquet files stand alone: a second, independent reader (hyparquet, pure
// JavaScript, run by node) reads every live file of a lake and must see exactly the rows and
// values DuckDB sees, for every column type the lake writes.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "lake/catalog.h"
#include "lake/lake.h"
#include "lake/lake_sink.h"

namespace migsbyu::lake {
namespace {
namespace fs = std::filesystem;
using events::Value;
using events::ValueType;

std::shared_ptr<const events::TableSchema> Schema(const std::string& name,
                                                  std::vector<events::Column> columns) {
  auto s = std::make_shared<events::TableSchema>();
  s->schema = "public";
  s->name = name;
  s->columns = std::move(columns);
  return s;
}

std::vector<std::vector<std::string>> ReadWithNode(const std::string& file) {
  std::string cmd = "cd '" MIGSBYU_LAKE_TESTS_DIR "' && node read_parquet.mjs '" + file + "' 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  EXPECT_NE(pipe, nullptr);
  std::vector<std::vector<std::string>> rows;
  std::string output;
  char buf[4096];
  while (pipe && fgets(buf, sizeof buf, pipe)) output += buf;
  int rc = pipe ? pclose(pipe) : -1;
  EXPECT_EQ(rc, 0) << "node failed (run scripts/setup.sh for tests/lake/node_modules): " << output;
  std::stringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    rows.push_back(nlohmann::json::parse(line).get<std::vector<std::string>>());
  }
  return rows;
}

std::vector<std::vector<std::string>> ReadWithDuckDb(duck::Connection& conn,
                                                     const std::string& file) {
  std::string source = "read_parquet(" + duck::QuoteString(file) + ")";
  auto probe = conn.Query("SELECT * FROM " + source + " LIMIT 0");
  EXPECT_TRUE(probe.ok());
  std::string select;
  for (uint64_t c = 0; c < probe->ColumnCount(); ++c) {
    std::string col = duck::QuoteIdentifier(probe->ColumnName(c));
    std::string type = probe->ColumnTypeName(c);
    std::string expr = type.rfind("TIMESTAMP", 0) == 0 ? "epoch_us(" + col + ")::VARCHAR"
                       : type == "DATE" ? "(" + col + " - DATE '1970-01-01')::VARCHAR"
                                        : col + "::VARCHAR";
    select += (c ? ", " : "") + ("coalesce(" + expr + ", 'NULL')");
  }
  auto rows = conn.Query("SELECT " + select + " FROM " + source);
  EXPECT_TRUE(rows.ok()) << rows.error().ToString();
  std::vector<std::vector<std::string>> out;
  for (uint64_t r = 0; rows.ok() && r < rows->RowCount(); ++r) {
    std::vector<std::string> row;
    for (uint64_t c = 0; c < rows->ColumnCount(); ++c) row.push_back(rows->GetString(c, r));
    out.push_back(row);
  }
  return out;
}

TEST(ParquetReaderTest, AnIndependentReaderSeesTheSameRowsAsDuckDb) {
  std::string dir =
      (fs::temp_directory_path() / ("lake_hyparquet_" + std::to_string(getpid()))).string();
  fs::remove_all(dir);
  auto lake = Lake::Open(dir, 1);
  ASSERT_TRUE(lake.ok());
  LakeSinkOptions options;
  options.writer.dir = dir;
  auto sink = LakeSink::Open(options, *lake);
  ASSERT_TRUE(sink.ok()) << sink.error().ToString();

  std::vector<events::Column> student_cols;
  for (const auto& c : FindKnownTable("students")->columns) {
    student_cols.push_back(ColumnFromDuckType(c.name, c.duck_type));
  }
  auto students = Schema("students", student_cols);
  auto misc = Schema("misc", {{"b", ValueType::kBool},
                              {"i16", ValueType::kInt16},
                              {"i32", ValueType::kInt32},
                              {"i64", ValueType::kInt64},
                              {"f", ValueType::kFloat64},
                              {"n", ValueType::kNumeric},
                              {"t", ValueType::kText},
                              {"d", ValueType::kDate},
                              {"ts", ValueType::kTimestamp},
                              {"tstz", ValueType::kTimestampTz}});
  auto student = [&](const std::string& id, const std::string& gpa, const std::string& name) {
    events::Row row(students->columns.size());
    row[0] = Value::Text(id);
    row[1] = Value::Text(name);
    row[5] = Value::Integer(12345);  // date_of_birth: days
    row[7] = Value::Integer(3);
    row[8] = Value::Text(gpa);
    return row;
  };
  uint64_t position = 0;
  auto change = [&](events::Operation op, std::shared_ptr<const events::TableSchema> table,
                    std::optional<events::Row> before, std::optional<events::Row> after,
                    uint64_t tx) {
    events::ChangeEvent e;
    e.op = op;
    e.table = std::move(table);
    e.before = std::move(before);
    e.after = std::move(after);
    e.commit_lsn = Lsn(tx);
    e.lsn = Lsn(tx);
    e.position = position++;
    e.xid = static_cast<uint32_t>(tx);
    e.commit_time_us = 1700000000123456 + static_cast<int64_t>(tx);
    ASSERT_TRUE((*sink)->Apply(e).ok());
  };
  for (uint64_t tx = 100; tx <= 102; ++tx) {
    events::TransactionInfo info{static_cast<uint32_t>(tx), Lsn(tx), Lsn(tx + 1),
                                 1700000000123456 + static_cast<int64_t>(tx), false};
    position = 0;
    ASSERT_TRUE((*sink)->Begin(info).ok());
    if (tx == 100) {
      change(events::Operation::kInsert, students, std::nullopt,
             student("S1", "3.75", "Zoë | \"Q\""), tx);
      change(events::Operation::kInsert, students, std::nullopt, student("S2", "0.05", "Bob"), tx);
      events::Row m = {Value::Integer(1),
                       Value::Integer(-7),
                       Value::Integer(2147483647),
                       Value::Integer(-9007199254740993),
                       Value::Real(2.5),
                       Value::Text("12345678901234567890.5"),
                       Value::Text("ünïcode\nline"),
                       Value::Integer(-1),
                       Value::Integer(-1),
                       Value::Integer(1700000000999999)};
      change(events::Operation::kInsert, misc, std::nullopt, m, tx);
      change(events::Operation::kInsert, misc, std::nullopt, events::Row(10), tx);
    } else if (tx == 101) {
      change(events::Operation::kUpdate, students, student("S1", "3.75", "Zoë | \"Q\""),
             student("S1", "4.00", "Zoë"), tx);
    } else {
      change(events::Operation::kDelete, students, student("S2", "0.05", "Bob"), std::nullopt, tx);
    }
    ASSERT_TRUE((*sink)->Commit(info).ok());
    ASSERT_TRUE((*sink)->Flush().ok());  // one manifest per transaction: closes get files too
  }

  auto conn = (*lake)->Connect();
  ASSERT_TRUE(conn.ok());
  size_t files = 0;
  for (const auto& [dataset, paths] : (*lake)->LiveFiles()) {
    for (const auto& file : paths) {
      SCOPED_TRACE(dataset + ": " + file);
      auto expected = ReadWithDuckDb(conn->connection, file);
      EXPECT_FALSE(expected.empty());
      EXPECT_EQ(ReadWithNode(file), expected);
      ++files;
    }
  }
  EXPECT_GE(files, 6u);  // students_changes ×3, misc_changes, students_dim ×2, closes
  fs::remove_all(dir);
}

}  // namespace
}  // namespace migsbyu::lake
