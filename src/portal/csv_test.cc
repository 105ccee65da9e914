// CsvCell over the cases in testdata/csv_cells.test, and whole rows.
#include "portal/csv.h"

#include <gtest/gtest.h>

#include <fstream>

namespace migsbyu::portal {
namespace {

std::string Unescape(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      char next = text[++i];
      out.push_back(next == 'n' ? '\n' : next == 'r' ? '\r' : next == 't' ? '\t' : next);
      continue;
    }
    out.push_back(text[i]);
  }
  return out;
}

// The rest of `line` after `directive` and one space ("" when nothing follows).
std::string After(const std::string& line, const std::string& directive) {
  return line.size() > directive.size() ? line.substr(directive.size() + 1) : "";
}

TEST(CsvTest, CellsAreQuotedAndDefusedAsTheTestDataSays) {
  std::ifstream in(MIGSBYU_PORTAL_TESTDATA "/csv_cells.test");
  ASSERT_TRUE(in);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  size_t checked = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (!lines[i].starts_with("cell")) continue;
    ASSERT_LT(i + 1, lines.size());
    ASSERT_TRUE(lines[i + 1].starts_with("expect")) << lines[i];
    EXPECT_EQ(CsvCell(Unescape(After(lines[i], "cell"))), Unescape(After(lines[i + 1], "expect")))
        << lines[i];
    ++checked;
  }
  EXPECT_GE(checked, 20u);
}

TEST(CsvTest, RowsJoinCellsWithCommasAndEndWithCrlf) {
  std::string out;
  AppendCsvRow(&out, {"a", "b,c", "=d"});
  AppendCsvRow(&out, {});
  AppendCsvRow(&out, {"", ""});
  EXPECT_EQ(out, "a,\"b,c\",'=d\r\n\r\n,\r\n");
}

}  // namespace
}  // namespace migsbyu::portal
