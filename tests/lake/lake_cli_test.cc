// `migsbyu lake query` over a real lake: the SCD2 bookkeeping columns (TIMESTAMPTZ), decimals and
// NULLs print in each --format, and a bad --format is refused.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "lake/testing.h"
#include "lake/writer.h"

namespace migsbyu::lake {
namespace {

namespace fs = std::filesystem;

// 2023-11-14T22:13:20.001000Z, in µs since the epoch.
constexpr int64_t kCommitTimeUs = 1700000000001000;

struct Output {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

std::string ShellQuote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

class LakeCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() / ("lake_cli_" + std::to_string(getpid()))).string();
    fs::remove_all(dir_);
    WriterOptions options;
    options.dir = dir_;
    auto writer = LakeWriter::Open(options, nullptr);
    ASSERT_TRUE(writer.ok()) << writer.error().ToString();
    auto students = testing::ContractSchema("students");
    events::TransactionInfo tx{7, Lsn(100), Lsn(108), kCommitTimeUs, false};
    ASSERT_TRUE((*writer)->Begin(tx).ok());
    size_t position = 0;
    for (const auto& [id, gpa] :
         {std::pair<const char*, const char*>{"S1", "4"}, {"S2", nullptr}}) {
      events::Row row(students->columns.size());
      row[students->ColumnIndex("id")] = events::Value::Text(id);
      row[students->ColumnIndex("first_name")] = events::Value::Text("Ann, \"the\" first");
      row[students->ColumnIndex("last_name")] = events::Value::Text("Lee");
      if (gpa) row[students->ColumnIndex("gpa")] = events::Value::Text(gpa);
      Status applied = (*writer)->Apply(testing::ChangeIn(
          tx, position++, students, events::Operation::kInsert, std::nullopt, std::move(row)));
      ASSERT_TRUE(applied.ok()) << applied.error().ToString();
    }
    ASSERT_TRUE((*writer)->Commit(tx).ok());
    auto published = (*writer)->Publish();
    ASSERT_TRUE(published.ok()) << published.error().ToString();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs the query with --format `format` (none when empty).
  Output Query(const std::string& format, const std::string& sql) {
    std::string err_path = dir_ + ".stderr";
    std::string command = ShellQuote(MIGSBYU_BINARY) + " lake query --lake-dir " +
                          ShellQuote(dir_) +
                          (format.empty() ? "" : " --format " + ShellQuote(format)) + " " +
                          ShellQuote(sql) + " 2>" + ShellQuote(err_path);
    Output output;
    FILE* pipe = popen(command.c_str(), "r");
    EXPECT_NE(pipe, nullptr) << command;
    if (!pipe) return output;
    char buffer[4096];
    for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;)
      output.out.append(buffer, n);
    int status = pclose(pipe);
    output.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (FILE* err = std::fopen(err_path.c_str(), "r")) {
      for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, err)) > 0;)
        output.err.append(buffer, n);
      std::fclose(err);
    }
    fs::remove(err_path);
    return output;
  }

  std::string dir_;
};

constexpr const char* kSql =
    "SELECT id, first_name, gpa, row_effective_start, row_effective_end FROM students_dim "
    "ORDER BY id;";

TEST_F(LakeCliTest, JsonPrintsTimestampsDecimalsAndNulls) {
  Output o = Query("json", kSql);
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(nlohmann::json::parse(o.out), nlohmann::json::parse(R"([
      {"id": "S1", "first_name": "Ann, \"the\" first", "gpa": 4.0,
       "row_effective_start": "2023-11-14T22:13:20.001000Z",
       "row_effective_end": "9999-12-31T00:00:00.000000Z"},
      {"id": "S2", "first_name": "Ann, \"the\" first", "gpa": null,
       "row_effective_start": "2023-11-14T22:13:20.001000Z",
       "row_effective_end": "9999-12-31T00:00:00.000000Z"}])"))
      << o.out;
}

constexpr const char* kCsv =
    "id,first_name,gpa,row_effective_start,row_effective_end\r\n"
    "S1,\"Ann, \"\"the\"\" first\",4.00,2023-11-14T22:13:20.001000Z,9999-12-31T00:00:00.000000Z\r\n"
    "S2,\"Ann, \"\"the\"\" first\",,2023-11-14T22:13:20.001000Z,9999-12-31T00:00:00.000000Z\r\n";
constexpr const char* kTable =
    "id | first_name       | gpa  | row_effective_start         | row_effective_end\n"
    "---+------------------+------+-----------------------------+----------------------------\n"
    "S1 | Ann, \"the\" first | 4.00 | 2023-11-14T22:13:20.001000Z | 9999-12-31T00:00:00.000000Z\n"
    "S2 | Ann, \"the\" first | NULL | 2023-11-14T22:13:20.001000Z | 9999-12-31T00:00:00.000000Z\n"
    "(2 rows)\n";

TEST_F(LakeCliTest, CsvAndTablePrintEveryCellAsTextTableByDefault) {
  for (const auto& [format, expected] :
       {std::pair<std::string, std::string>{"csv", kCsv}, {"table", kTable}, {"", kTable}}) {
    Output o = Query(format, kSql);
    ASSERT_EQ(o.exit_code, 0) << format << ": " << o.err;
    EXPECT_EQ(o.out, expected) << "--format " << format;
  }
}

TEST_F(LakeCliTest, ShowAndDescribeRunAsQueries) {
  Output tables = Query("csv", "SHOW TABLES");
  ASSERT_EQ(tables.exit_code, 0) << tables.err;
  EXPECT_NE(tables.out.find("\r\nstudents_dim\r\n"), std::string::npos) << tables.out;
  Output columns = Query("csv", "DESCRIBE students_dim");
  ASSERT_EQ(columns.exit_code, 0) << columns.err;
  EXPECT_NE(columns.out.find("\r\nrow_effective_start,TIMESTAMP WITH TIME ZONE,"),
            std::string::npos)
      << columns.out;
}

TEST_F(LakeCliTest, UnknownFormatIsRefusedAndPrintsNoRows) {
  Output o = Query("xml", kSql);
  EXPECT_NE(o.exit_code, 0);
  EXPECT_EQ(o.out, "");
  EXPECT_NE(o.err.find("--format"), std::string::npos) << o.err;
}

TEST_F(LakeCliTest, FailingQuerySaysWhy) {
  Output o = Query("table", "SELECT nope FROM students_dim");
  EXPECT_NE(o.exit_code, 0);
  EXPECT_EQ(o.out, "");
  EXPECT_NE(o.err.find("nope"), std::string::npos) << o.err;
}

}  // namespace
}  // namespace migsbyu::lake
