#include "lake/duck.h"

#include <gtest/gtest.h>

#include <filesystem>

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

TEST_F(DuckTest, DataChunkAppendsEveryTypeAndNulls) {
  ASSERT_TRUE(conn_
                  ->Execute("CREATE TABLE t(a BOOLEAN, b SMALLINT, c INTEGER, d BIGINT, "
                            "e UBIGINT, f DOUBLE, g VARCHAR, h DATE, i TIMESTAMP, j TIMESTAMPTZ, "
                            "k DECIMAL(3,2), l DECIMAL(20,3))")
                  .ok());
  auto chunk =
      DataChunk::Create({"BOOLEAN", "SMALLINT", "INTEGER", "BIGINT", "UBIGINT", "DOUBLE", "VARCHAR",
                         "DATE", "TIMESTAMP", "TIMESTAMPTZ", "DECIMAL(3,2)", "DECIMAL(20,3)"});
  ASSERT_TRUE(chunk.ok()) << chunk.error().ToString();
  EXPECT_GE(DataChunk::Capacity(), 2u);
  chunk->SetBool(0, 0, true);
  for (uint64_t c = 1; c <= 4; ++c) chunk->SetInteger(c, 0, 40 + c);
  chunk->SetDouble(5, 0, 0.5);
  chunk->SetString(6, 0, "a string longer than twelve bytes");
  chunk->SetInteger(7, 0, 1);
  chunk->SetInteger(8, 0, 2);
  chunk->SetInteger(9, 0, 3);
  ASSERT_TRUE(chunk->SetDecimal(10, 0, "3.7").ok());
  ASSERT_TRUE(chunk->SetDecimal(11, 0, "-12345678901234567.125").ok());
  for (uint64_t c = 0; c < 12; ++c) chunk->SetNull(c, 1);
  EXPECT_FALSE(chunk->SetDecimal(10, 1, "1e5").ok());
  chunk->SetSize(2);
  {
    auto app = conn_->MakeAppender("t");
    ASSERT_TRUE(app.ok());
    ASSERT_TRUE(app->AppendChunk(*chunk).ok());
    ASSERT_TRUE(app->Close().ok());
  }
  auto r = conn_->Query(
      "SELECT a, b, c, d, e, f, g, h = DATE '1970-01-02', epoch_us(i), "
      "epoch_us(j), k::VARCHAR, l::VARCHAR, count(*) OVER () FROM t "
      "ORDER BY a NULLS LAST");
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
  chunk->Reset();  // reusable: validity cleared
  chunk->SetBool(0, 0, false);
  for (uint64_t c = 1; c < 12; ++c) chunk->SetNull(c, 0);
  chunk->SetSize(1);
  auto app = conn_->MakeAppender("t");
  ASSERT_TRUE(app->AppendChunk(*chunk).ok());
  ASSERT_TRUE(app->Close().ok());
  auto n = conn_->Query("SELECT count(*) FILTER (WHERE a IS NOT NULL) FROM t");
  EXPECT_EQ(n->GetInt64(0, 0), 2);
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
