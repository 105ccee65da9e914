#include "lake/duck.h"

#include <gtest/gtest.h>

#include <deque>
#include <filesystem>
#include <thread>

namespace migsbyu::duck {
namespace {

class DuckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = Database::Open(":memory:", {{"threads", "1"}});
    ASSERT_TRUE(db.ok()) << db.error().ToString();
    db_.emplace(std::move(*db));
    auto conn = Connection::Open(*db_);
    ASSERT_TRUE(conn.ok()) << conn.error().ToString();
    conn_.emplace(std::move(*conn));
  }
  std::optional<Database> db_;
  std::optional<Connection> conn_;
};

TEST_F(DuckTest, QueryReturnsTypedCells) {
  auto r = conn_->Query("SELECT 42::BIGINT AS n, 'x' AS s, NULL::INTEGER AS z, 2.5::DOUBLE AS d");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->RowCount(), 1u);
  EXPECT_EQ(r->ColumnCount(), 4u);
  EXPECT_EQ(r->ColumnName(1), "s");
  EXPECT_EQ(r->GetInt64(0, 0), 42);
  EXPECT_EQ(r->GetString(1, 0), "x");
  EXPECT_TRUE(r->IsNull(2, 0));
  EXPECT_EQ(r->GetOptionalString(2, 0), std::nullopt);
  EXPECT_DOUBLE_EQ(r->GetDouble(3, 0), 2.5);
  EXPECT_EQ(r->ColumnTypeName(0), "BIGINT");
}

TEST_F(DuckTest, SyntaxErrorIsAValueNamingTheSql) {
  auto r = conn_->Query("SELEC 1");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("SELEC 1"), std::string::npos);
}

TEST_F(DuckTest, PreparedStatementBindsEveryType) {
  auto stmt = conn_->Prepare(
      "SELECT $1::BIGINT, $2::VARCHAR, $3::UBIGINT, $4::BOOLEAN, $5::TIMESTAMPTZ = "
      "TIMESTAMPTZ '1970-01-01 00:00:01.000002+00', $6::INTEGER IS NULL, $7::DOUBLE");
  ASSERT_TRUE(stmt.ok()) << stmt.error().ToString();
  EXPECT_EQ(stmt->ParameterCount(), 7u);
  ASSERT_TRUE(stmt->BindInt64(1, -7).ok());
  ASSERT_TRUE(stmt->BindString(2, "it's").ok());
  ASSERT_TRUE(stmt->BindUint64(3, 18446744073709551615ull).ok());
  ASSERT_TRUE(stmt->BindBool(4, true).ok());
  ASSERT_TRUE(stmt->BindTimestampTz(5, 1000002).ok());
  ASSERT_TRUE(stmt->BindNull(6).ok());
  ASSERT_TRUE(stmt->BindDouble(7, 0.25).ok());
  auto r = stmt->Execute();
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->GetInt64(0, 0), -7);
  EXPECT_EQ(r->GetString(1, 0), "it's");
  EXPECT_EQ(r->GetUint64(2, 0), 18446744073709551615ull);
  EXPECT_TRUE(r->GetBool(3, 0));
  EXPECT_TRUE(r->GetBool(4, 0));
  EXPECT_TRUE(r->GetBool(5, 0));
  EXPECT_DOUBLE_EQ(r->GetDouble(6, 0), 0.25);
}

TEST_F(DuckTest, BindOutOfRangeIsAnError) {
  auto stmt = conn_->Prepare("SELECT $1::INTEGER");
  ASSERT_TRUE(stmt.ok());
  EXPECT_FALSE(stmt->BindInt64(2, 1).ok());
}

TEST_F(DuckTest, AppenderWritesTypedRowsAndCastsText) {
  ASSERT_TRUE(conn_
                  ->Execute("CREATE TABLE t(a SMALLINT, b INTEGER, c BIGINT, d UBIGINT, "
                            "e DOUBLE, f VARCHAR, g DATE, h TIMESTAMP, i TIMESTAMPTZ, "
                            "j DECIMAL(3,2), k BOOLEAN)")
                  .ok());
  {
    auto app = conn_->MakeAppender("t");
    ASSERT_TRUE(app.ok()) << app.error().ToString();
    ASSERT_TRUE(app->AppendInt16(1).ok());
    ASSERT_TRUE(app->AppendInt32(2).ok());
    ASSERT_TRUE(app->AppendInt64(3).ok());
    ASSERT_TRUE(app->AppendUint64(4).ok());
    ASSERT_TRUE(app->AppendDouble(5.5).ok());
    ASSERT_TRUE(app->AppendString("six").ok());
    ASSERT_TRUE(app->AppendDate(1).ok());
    ASSERT_TRUE(app->AppendTimestamp(1).ok());
    ASSERT_TRUE(app->AppendTimestampTz(2).ok());
    ASSERT_TRUE(app->AppendString("3.75").ok());
    ASSERT_TRUE(app->AppendBool(true).ok());
    ASSERT_TRUE(app->EndRow().ok());
    for (int i = 0; i < 11; ++i) ASSERT_TRUE(app->AppendNull().ok());
    ASSERT_TRUE(app->EndRow().ok());
    ASSERT_TRUE(app->Close().ok());
  }
  auto r = conn_->Query(
      "SELECT a, b, c, d, e, f, g = DATE '1970-01-02', epoch_us(h), epoch_us(i), j::VARCHAR, k "
      "FROM t ORDER BY a NULLS LAST");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  ASSERT_EQ(r->RowCount(), 2u);
  EXPECT_EQ(r->GetInt64(2, 0), 3);
  EXPECT_EQ(r->GetString(5, 0), "six");
  EXPECT_TRUE(r->GetBool(6, 0));
  EXPECT_EQ(r->GetInt64(7, 0), 1);
  EXPECT_EQ(r->GetInt64(8, 0), 2);
  EXPECT_EQ(r->GetString(9, 0), "3.75");
  EXPECT_TRUE(r->IsNull(0, 1));
  EXPECT_TRUE(r->IsNull(10, 1));
}

TEST_F(DuckTest, BatchScanReadsEveryTypeAndNulls) {
  auto scan = BatchScan::Register(*conn_, "batches");
  ASSERT_TRUE(scan.ok()) << scan.error().ToString();
  auto unset = conn_->Query("SELECT * FROM batches");
  EXPECT_FALSE(unset.ok());
  std::vector<ArrowBatch> batches;
  auto batch = ArrowBatch::Create({"BOOLEAN", "SMALLINT", "INTEGER", "BIGINT", "UBIGINT", "DOUBLE",
                                   "VARCHAR", "DATE", "TIMESTAMP", "TIMESTAMPTZ", "DECIMAL(3,2)",
                                   "DECIMAL(20,3)"});
  ASSERT_TRUE(batch.ok()) << batch.error().ToString();
  EXPECT_FALSE(ArrowBatch::Create({"INTERVAL"}).ok());
  EXPECT_FALSE(ArrowBatch::Create({"BIGINT"}, 100).ok());
  batches.push_back(std::move(*batch));
  ArrowBatch& b = batches.back();
  // Row 0 first fails half-way, then is filled again with other values.
  b.SetString(6, 0, "dropped with the failed row");
  b.SetNull(0, 0);
  EXPECT_FALSE(b.SetDecimal(10, 0, "1e5").ok());
  b.SetBool(0, 0, true);
  for (uint64_t c = 1; c <= 4; ++c) b.SetInteger(c, 0, 40 + c);
  b.SetDouble(5, 0, 0.5);
  b.SetString(6, 0, "a string longer than twelve bytes");
  b.SetInteger(7, 0, 1);
  b.SetInteger(8, 0, 2);
  b.SetInteger(9, 0, 3);
  ASSERT_TRUE(b.SetDecimal(10, 0, "3.7").ok());
  ASSERT_TRUE(b.SetDecimal(11, 0, "-12345678901234567.125").ok());
  // Row 1 is NULL in every column: some are set NULL, the others are not given a value.
  for (uint64_t c = 0; c < 6; ++c) b.SetNull(c, 1);
  // Row 2 is filled in part, then dropped.
  b.SetString(6, 2, "dropped with row 2");
  b.SetInteger(3, 2, 7);
  b.Truncate(2);
  b.SetSize(2);
  std::vector<std::string> names = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"};
  ASSERT_TRUE(scan->Set(batches, names).ok());
  auto r = conn_->Query(
      "SELECT a, b, c, d, e, f, g, h = DATE '1970-01-02', epoch_us(i), epoch_us(j), k::VARCHAR, "
      "l::VARCHAR, typeof(b), typeof(e), typeof(h), typeof(i), typeof(j), typeof(k) FROM batches");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  ASSERT_EQ(r->RowCount(), 2u);
  EXPECT_TRUE(r->GetBool(0, 0));
  EXPECT_EQ(r->GetInt64(1, 0), 41);
  EXPECT_EQ(r->GetInt64(4, 0), 44);
  EXPECT_DOUBLE_EQ(r->GetDouble(5, 0), 0.5);
  EXPECT_EQ(r->GetString(6, 0), "a string longer than twelve bytes");
  EXPECT_TRUE(r->GetBool(7, 0));
  EXPECT_EQ(r->GetInt64(8, 0), 2);
  EXPECT_EQ(r->GetInt64(9, 0), 3);
  EXPECT_EQ(r->GetString(10, 0), "3.70");
  EXPECT_EQ(r->GetString(11, 0), "-12345678901234567.125");
  for (uint64_t c = 0; c < 12; ++c) EXPECT_TRUE(r->IsNull(c, 1)) << c;
  EXPECT_EQ(r->GetString(12, 0), "SMALLINT");
  EXPECT_EQ(r->GetString(13, 0), "UBIGINT");
  EXPECT_EQ(r->GetString(14, 0), "DATE");
  EXPECT_EQ(r->GetString(15, 0), "TIMESTAMP");
  EXPECT_EQ(r->GetString(16, 0), "TIMESTAMP WITH TIME ZONE");
  EXPECT_EQ(r->GetString(17, 0), "DECIMAL(3,2)");
  // The view can be read again, and set again over batches of other columns.
  auto again = conn_->Query("SELECT count(*) FROM batches");
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  EXPECT_EQ(again->GetInt64(0, 0), 2);
  scan->Clear();
  EXPECT_FALSE(conn_->Query("SELECT * FROM batches").ok());
  std::vector<ArrowBatch> other;
  auto text = ArrowBatch::Create({"VARCHAR"});
  ASSERT_TRUE(text.ok());
  other.push_back(std::move(*text));
  other.back().SetString(0, 0, "x");
  other.back().SetSize(1);
  ASSERT_TRUE(scan->Set(other, {"word"}).ok());
  auto x = conn_->Query("SELECT word FROM batches");
  ASSERT_TRUE(x.ok()) << x.error().ToString();
  EXPECT_EQ(x->GetString(0, 0), "x");
}

TEST(DuckBatchScanTest, ParallelCopyKeepsTheBatchesOrder) {
  auto db = Database::Open(":memory:", {{"threads", "2"}});
  ASSERT_TRUE(db.ok());
  auto conn = Connection::Open(*db);
  ASSERT_TRUE(conn.ok());
  auto scan = BatchScan::Register(*conn, "batches");
  ASSERT_TRUE(scan.ok());
  std::vector<ArrowBatch> batches;
  constexpr int64_t kRows = 100000;
  for (int64_t i = 0; i < kRows; ++i) {
    uint64_t row = i % 2048;
    if (row == 0) {
      auto batch = ArrowBatch::Create({"BIGINT", "VARCHAR"});
      ASSERT_TRUE(batch.ok());
      batches.push_back(std::move(*batch));
    }
    batches.back().SetInteger(0, row, i);
    batches.back().SetString(1, row, "row number " + std::to_string(i));
    batches.back().SetSize(row + 1);
  }
  ASSERT_TRUE(scan->Set(batches, {"n", "s"}).ok());
  auto dir = std::filesystem::temp_directory_path() / "migsbyu_duck_batch_test";
  std::filesystem::create_directories(dir);
  std::string file = (dir / "ordered.parquet").string();
  ASSERT_TRUE(conn->Execute("COPY (SELECT * FROM batches) TO " + QuoteString(file) +
                            " (FORMAT parquet, ROW_GROUP_SIZE 4096)")
                  .ok());
  auto r = conn->Query(
      "SELECT count(*), count(*) FILTER (WHERE n <> rn - 1 OR s <> 'row number ' || n) FROM "
      "(SELECT n, s, row_number() OVER () AS rn FROM read_parquet(" +
      QuoteString(file) + "))");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->GetInt64(0, 0), kRows);
  EXPECT_EQ(r->GetInt64(1, 0), 0);
  std::filesystem::remove_all(dir);
}

TEST(DuckBatchScanTest, StreamedViewIsReadWhileTheBatchesAreFilled) {
  auto db = Database::Open(":memory:", {{"threads", "2"}});
  ASSERT_TRUE(db.ok());
  auto conn = Connection::Open(*db);
  ASSERT_TRUE(conn.ok());
  auto scan = BatchScan::Register(*conn, "stream");
  ASSERT_TRUE(scan.ok());
  auto dir = std::filesystem::temp_directory_path() / "migsbyu_duck_stream_test";
  std::filesystem::create_directories(dir);
  std::string file = (dir / "streamed.parquet").string();
  std::deque<ArrowBatch> batches;
  auto like = ArrowBatch::Create({"BIGINT"});
  ASSERT_TRUE(like.ok());
  for (int round = 0; round < 2; ++round) {
    ASSERT_TRUE(scan->Start(*like, {"n"}).ok());
    Result<QueryResult> copied = Error::Internal("not run");
    std::thread copy([&] {
      copied = conn->Query("COPY (SELECT * FROM stream) TO " + QuoteString(file) +
                           " (FORMAT parquet, ROW_GROUP_SIZE 4096)");
    });
    constexpr int64_t kRows = 50000;
    batches.clear();
    for (int64_t i = 0; i < kRows; ++i) {
      uint64_t row = i % 2048;
      if (row == 0) {
        auto batch = ArrowBatch::Create({"BIGINT"});
        ASSERT_TRUE(batch.ok());
        batches.push_back(std::move(*batch));
      }
      batches.back().SetInteger(0, row, i);
      if (row + 1 == 2048 || i + 1 == kRows) {
        batches.back().SetSize(row + 1);
        scan->Add(&batches.back());
      }
    }
    if (round == 0) {
      scan->Finish();
      copy.join();
      ASSERT_TRUE(copied.ok()) << copied.error().ToString();
      EXPECT_EQ(copied->RowsChanged(), static_cast<uint64_t>(kRows));
      auto r = conn->Query(
          "SELECT count(*), count(*) FILTER (WHERE n <> rn - 1) FROM (SELECT n, row_number() "
          "OVER () AS rn FROM read_parquet(" +
          QuoteString(file) + "))");
      ASSERT_TRUE(r.ok()) << r.error().ToString();
      EXPECT_EQ(r->GetInt64(0, 0), kRows);
      EXPECT_EQ(r->GetInt64(1, 0), 0);
    } else {
      scan->Abort("the transaction failed");
      copy.join();
      ASSERT_FALSE(copied.ok());
      EXPECT_NE(copied.error().ToString().find("the transaction failed"), std::string::npos)
          << copied.error().ToString();
    }
    scan->Clear();
  }
  std::filesystem::remove_all(dir);
}

TEST_F(DuckTest, AppenderOnMissingTableIsAnErrorNamingIt) {
  auto app = conn_->MakeAppender("no_such_table");
  ASSERT_FALSE(app.ok());
  EXPECT_NE(app.error().message().find("no_such_table"), std::string::npos);
}

TEST_F(DuckTest, BadValueInAppenderIsAnError) {
  ASSERT_TRUE(conn_->Execute("CREATE TABLE t(j DECIMAL(3,2))").ok());
  auto app = conn_->MakeAppender("t");
  ASSERT_TRUE(app.ok());
  Status s = app->AppendString("not a number");
  if (s.ok()) s = app->EndRow();
  if (s.ok()) s = app->Close();
  EXPECT_FALSE(s.ok());
}

TEST_F(DuckTest, MovedFromHandlesAreInert) {
  Connection other = std::move(*conn_);
  auto r = other.Query("SELECT 1");
  ASSERT_TRUE(r.ok());
  QueryResult moved = std::move(*r);
  EXPECT_EQ(moved.GetInt64(0, 0), 1);
}

TEST_F(DuckTest, CopyToParquetRoundTrips) {
  auto dir = std::filesystem::temp_directory_path() / ("duck_test_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string file = (dir / "x.parquet").string();
  ASSERT_TRUE(conn_
                  ->Execute("COPY (SELECT range AS n, 3.25::DECIMAL(3,2) AS g FROM range(10)) TO " +
                            QuoteString(file) + " (FORMAT parquet)")
                  .ok());
  auto r = conn_->Query("SELECT sum(n), any_value(g)::VARCHAR FROM read_parquet(" +
                        QuoteString(file) + ")");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->GetInt64(0, 0), 45);
  EXPECT_EQ(r->GetString(1, 0), "3.25");
  std::filesystem::remove_all(dir);
}

TEST(DuckQuoteTest, QuotesEmbeddedQuotes) {
  EXPECT_EQ(QuoteIdentifier("a\"b"), "\"a\"\"b\"");
  EXPECT_EQ(QuoteString("it's"), "'it''s'");
}

TEST(DuckDatabaseTest, InvalidSettingIsAnError) {
  auto db = Database::Open(":memory:", {{"no_such_setting", "1"}});
  EXPECT_FALSE(db.ok());
}

}  // namespace
}  // namespace migsbyu::duck
