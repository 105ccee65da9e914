#include "lake/testing.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "lake/catalog.h"
#include "lake/lake.h"
#include "lake/writer.h"

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

std::vector<std::vector<std::string>> IcebergTextRows(duck::Connection& conn,
                                                      const std::string& relation,
                                                      const iceberg::Schema& schema) {
  std::string select;
  for (const auto& f : schema.fields) {
    std::string c = duck::QuoteIdentifier(f.name), e;
    switch (f.type.id) {
      case iceberg::TypeId::kTimestamp:
      case iceberg::TypeId::kTimestampTz:
        e = "epoch_us(" + c + ")::VARCHAR";
        break;
      case iceberg::TypeId::kDate:
        e = "(" + c + " - DATE '1970-01-01')::VARCHAR";
        break;
      case iceberg::TypeId::kBoolean:
        e = "CASE WHEN " + c + " THEN 'true' WHEN NOT " + c + " THEN 'false' END";
        break;
      default:
        e = c + "::VARCHAR";
    }
    select += (select.empty() ? "" : ", ") + ("coalesce(" + e + ", 'NULL')");
  }
  auto r = conn.Query("SELECT " + select + " FROM (" + relation + ")");
  EXPECT_TRUE(r.ok()) << relation << ": " << r.error().ToString();
  std::vector<std::vector<std::string>> rows;
  if (!r.ok()) return rows;
  for (uint64_t i = 0; i < r->RowCount(); ++i) {
    std::vector<std::string> row;
    for (uint64_t c = 0; c < r->ColumnCount(); ++c) row.push_back(r->GetString(c, i));
    rows.push_back(std::move(row));
  }
  std::sort(rows.begin(), rows.end());
  return rows;
}

std::shared_ptr<const events::TableSchema> DepartmentsSchema() {
  auto schema = std::make_shared<events::TableSchema>();
  schema->schema = "public";
  schema->name = "departments";
  for (const char* name : {"id", "name"}) {
    auto column = ColumnFromDuckType(name, "VARCHAR");
    column.key = std::string(name) == "id";
    column.type_oid = 25;
    schema->columns.push_back(column);
  }
  return schema;
}

namespace {

using events::Operation;
using events::Row;
using events::Value;

Row Student(const std::string& id, const std::string& gpa) {
  return {Value::Text(id),         Value::Text("Ada " + id), Value::Text("L"),
          Value::Text("Female"),   Value::Text("Street 1"),  Value::Integer(12000),
          Value::Text("Physics"),  Value::Integer(2),        Value::Text(gpa),
          Value::Text("Full-time")};
}
Row Professor(const std::string& id, int salary) {
  return {Value::Text(id),        Value::Text("Dr"),     Value::Text("Grace"),
          Value::Text("H"),       Value::Text("Female"), Value::Text("Street 2"),
          Value::Text("Physics"), Value::Integer(10000), Value::Integer(salary)};
}
Row Course(const std::string& id, const std::string& name) {
  return {Value::Text(id), Value::Text(name), Value::Integer(3), Value::Text("Physics")};
}
Row Link(const std::string& person, const std::string& course) {
  return {Value::Text(person), Value::Text(course), Value::Text("Fall 2024")};
}
Row Department(const std::string& id, const std::string& name) {
  return {Value::Text(id), Value::Text(name)};
}

// One transaction of the workload.
class Tx {
 public:
  Tx(LakeWriter& w, int n)
      : w_(w),
        info_{static_cast<uint32_t>(700 + n), Lsn(1000ull * n), Lsn(1000ull * n + 1),
              1767225600000000LL + n * 1000000LL, false} {
    Status s = w_.Begin(info_);
    EXPECT_TRUE(s.ok()) << s.error().ToString();
  }
  Tx& Insert(const std::string& table, Row after) {
    return Change(table, Operation::kInsert, std::nullopt, std::move(after));
  }
  Tx& Update(const std::string& table, Row before, Row after) {
    return Change(table, Operation::kUpdate, std::move(before), std::move(after));
  }
  Tx& Delete(const std::string& table, Row before) {
    return Change(table, Operation::kDelete, std::move(before), std::nullopt);
  }
  void Commit() {
    Status s = w_.Commit(info_);
    EXPECT_TRUE(s.ok()) << s.error().ToString();
    auto published = w_.Publish();
    EXPECT_TRUE(published.ok()) << published.error().ToString();
  }

 private:
  Tx& Change(const std::string& table, Operation op, std::optional<Row> before,
             std::optional<Row> after) {
    auto schema = table == "departments" ? DepartmentsSchema() : ContractSchema(table);
    events::ChangeEvent e =
        ChangeIn(info_, position_++, schema, op, std::move(before), std::move(after));
    e.actor.user = "registrar";
    e.actor.origin = "portal";
    Status s = w_.Apply(e);
    EXPECT_TRUE(s.ok()) << s.error().ToString();
    return *this;
  }
  LakeWriter& w_;
  events::TransactionInfo info_;
  size_t position_ = 0;
};

}  // namespace

void RunMixedWorkload(LakeWriter& w, const std::function<void(int step)>& after_step) {
  int n = 0;
  auto step = [&](const std::function<void(Tx&)>& body) {
    ++n;
    Tx tx(w, n);
    body(tx);
    tx.Commit();
    after_step(n);
  };
  step([](Tx& t) {
    for (int i = 1; i <= 6; ++i) t.Insert("students", Student("S" + std::to_string(i), "3.00"));
    t.Insert("professors", Professor("P1", 90000)).Insert("professors", Professor("P2", 80000));
    t.Insert("courses", Course("C1", "Optics")).Insert("courses", Course("C2", "Mechanics"));
    t.Insert("departments", Department("D1", "Physics"));
  });
  step([](Tx& t) {
    t.Insert("takes", Link("S1", "C1")).Insert("takes", Link("S2", "C1"));
    t.Insert("takes", Link("S3", "C2"));
    t.Insert("teaches", Link("P1", "C1"));  // after enrollments: the students move to P1
  });
  step([](Tx& t) {
    t.Update("students", Student("S1", "3.00"), Student("S1", "3.10"));
    t.Update("students", Student("S2", "3.00"), Student("S2", "3.20"));
    t.Update("students", Student("S2", "3.20"), Student("S2", "3.30"));
    t.Update("departments", Department("D1", "Physics"), Department("D1", "Physics & Optics"));
  });
  step([](Tx& t) {
    t.Delete("takes", Link("S3", "C2")).Delete("students", Student("S3", "3.00"));
    t.Insert("departments", Department("D2", "History"));
  });
  step([](Tx& t) {
    t.Insert("students", Student("S3", "2.00")).Insert("takes", Link("S3", "C2"));
    t.Insert("teaches", Link("P2", "C2"));
  });
  step([](Tx& t) {
    t.Update("professors", Professor("P1", 90000), Professor("P1", 95000));
    t.Update("courses", Course("C1", "Optics"), Course("C1", "Modern Optics"));
    t.Update("students", Student("S4", "3.00"), Student("S4", "3.40"));
  });
  {
    Status s = w.Compact(/*force=*/true);  // folds the closes into rewritten dimensions
    EXPECT_TRUE(s.ok()) << s.error().ToString();
  }
  step([](Tx& t) {
    t.Update("students", Student("S1", "3.10"), Student("S1", "3.50"));
    t.Delete("students", Student("S5", "3.00")).Delete("departments", Department("D2", "History"));
    t.Insert("takes", Link("S4", "C1")).Delete("teaches", Link("P1", "C1"));
  });
  for (int i = 0; i < 8; ++i) {
    step([i](Tx& t) {
      std::string from = "3." + std::to_string(60 + i), to = "3." + std::to_string(61 + i);
      t.Update("students", Student("S6", i == 0 ? "3.00" : from), Student("S6", to));
    });
  }
}

}  // namespace migsbyu::lake::testing
