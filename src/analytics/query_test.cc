// The text and JSON forms of every DuckDB type (testdata/cell_forms.txt) read from a real
// DuckDB table, and the table, CSV and JSON printings of a result.
#include "analytics/query.h"

#include <gtest/gtest.h>

#include <sstream>

#include "analytics/fixture_lake.h"

namespace migsbyu::analytics {
namespace {

struct CellCase {
  int line = 0;
  std::string type, literal, text;
  nlohmann::json json;
};

std::vector<CellCase> LoadCellCases() {
  std::istringstream in(
      testing::ReadFileOrDie(std::string(MIGSBYU_ANALYTICS_TESTDATA) + "/cell_forms.txt"));
  std::vector<CellCase> cases;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> fields;
    std::istringstream parts(line);
    for (std::string field; std::getline(parts, field, '\t');) fields.push_back(field);
    EXPECT_EQ(fields.size(), 4u) << "cell_forms.txt:" << number << ": " << line;
    if (fields.size() != 4) continue;
    cases.push_back({number, fields[0], fields[1], fields[2], nlohmann::json::parse(fields[3])});
  }
  return cases;
}

class QueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = duck::Database::Open(":memory:");
    ASSERT_TRUE(db.ok()) << db.error().ToString();
    db_ = std::make_unique<duck::Database>(std::move(*db));
    auto conn = duck::Connection::Open(*db_);
    ASSERT_TRUE(conn.ok()) << conn.error().ToString();
    conn_ = std::make_unique<duck::Connection>(std::move(*conn));
  }

  Rows Run(const std::string& sql) {
    auto rows = RunQuery(*conn_, sql);
    EXPECT_TRUE(rows.ok()) << sql << ": " << rows.error().ToString();
    if (!rows.ok()) std::abort();
    return std::move(*rows);
  }

  std::unique_ptr<duck::Database> db_;
  std::unique_ptr<duck::Connection> conn_;
};

TEST_F(QueryTest, EveryTypeReadsInItsTextAndJsonForms) {
  std::vector<CellCase> cases = LoadCellCases();
  ASSERT_GT(cases.size(), 20u);
  std::string columns = "n INTEGER", values = "1", nulls = "2";
  for (size_t i = 0; i < cases.size(); ++i) {
    columns += ", c" + std::to_string(i) + " " + cases[i].type;
    values += ", " + cases[i].literal;
    nulls += ", NULL";
  }
  ASSERT_TRUE(conn_
                  ->Execute("CREATE TABLE t (" + columns + "); INSERT INTO t VALUES (" + values +
                            "), (" + nulls + ")")
                  .ok());
  Rows rows = Run("SELECT * FROM t ORDER BY n");
  ASSERT_EQ(rows.result.RowCount(), 2u);
  nlohmann::json json = RowsToArrays(rows, 0, 2);
  for (size_t i = 0; i < cases.size(); ++i) {
    const CellCase& c = cases[i];
    SCOPED_TRACE("cell_forms.txt:" + std::to_string(c.line) + ": " + c.type + " " + c.literal);
    EXPECT_EQ(CellText(rows, i + 1, 0), c.text);
    EXPECT_EQ(json[0][i + 1], c.json) << json[0][i + 1].dump();
    EXPECT_EQ(CellText(rows, i + 1, 1), std::nullopt);
    EXPECT_TRUE(json[1][i + 1].is_null());
  }
}

TEST_F(QueryTest, TableAlignsColumnsRightAlignsNumbersAndCountsRows) {
  Rows rows =
      Run("SELECT * FROM (VALUES (1, 'a', 4::DECIMAL(3,2)), (NULL, 'héllo', NULL)) v(n, s, gpa)");
  EXPECT_EQ(FormatRows(rows, RowsFormat::kTable),
            "n    | s     | gpa\n"
            "-----+-------+-----\n"
            "   1 | a     | 4.00\n"
            "NULL | héllo | NULL\n"
            "(2 rows)\n");
  Rows none = Run("SELECT 1 AS one WHERE false");
  EXPECT_EQ(FormatRows(none, RowsFormat::kTable), "one\n---\n(0 rows)\n");
}

TEST_F(QueryTest, CsvQuotesWhatNeedsItAndLeavesNullEmpty) {
  Rows rows =
      Run("SELECT 1 AS n, 'a,b' AS \"x,y\", 'say \"hi\"' AS q, NULL::INTEGER AS z, "
          "E'two\\nlines' AS t, TIMESTAMPTZ '2026-11-25 16:15:00+00' AS at, -5 AS neg");
  EXPECT_EQ(FormatRows(rows, RowsFormat::kCsv),
            "n,\"x,y\",q,z,t,at,neg\r\n"
            "1,\"a,b\",\"say \"\"hi\"\"\",,\"two\nlines\",2026-11-25T16:15:00.000000Z,-5\r\n");
}

TEST_F(QueryTest, JsonIsAnArrayOfOneObjectPerLine) {
  Rows rows =
      Run("SELECT * FROM (VALUES (1, 3.5::DECIMAL(3,2), TIMESTAMPTZ '2026-11-25 16:15:00+00'), "
          "(2, NULL, NULL)) v(n, gpa, t) ORDER BY n");
  std::string text = FormatRows(rows, RowsFormat::kJson);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2) << text;
  EXPECT_EQ(nlohmann::json::parse(text), nlohmann::json::parse(R"([
      {"n": 1, "gpa": 3.5, "t": "2026-11-25T16:15:00.000000Z"},
      {"n": 2, "gpa": null, "t": null}])"));
  Rows none = Run("SELECT 1 AS one WHERE false");
  EXPECT_EQ(FormatRows(none, RowsFormat::kJson), "[]\n");
}

TEST(RowsFormatTest, ParsesTheThreeNamesAndRefusesOthers) {
  EXPECT_EQ(*ParseRowsFormat("table"), RowsFormat::kTable);
  EXPECT_EQ(*ParseRowsFormat("csv"), RowsFormat::kCsv);
  EXPECT_EQ(*ParseRowsFormat("json"), RowsFormat::kJson);
  for (const char* bad : {"", "JSON", "xml", "table "}) {
    auto parsed = ParseRowsFormat(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(parsed.error().message().find(std::string("'") + bad + "'"), std::string::npos);
  }
}

}  // namespace
}  // namespace migsbyu::analytics
