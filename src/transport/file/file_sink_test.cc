#include "transport/file/file_sink.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/log_capture.h"

namespace migsbyu::transport {
namespace {

using events::ChangeEvent;
using events::TransactionInfo;
using events::Value;

class FileSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("file_sink_test_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "out.jsonl").string();
    table_ = std::make_shared<events::TableSchema>();
    table_->schema = "public";
    table_->name = "t";
    table_->columns = {{"id", events::ValueType::kInt32, 23, -1, true},
                       {"name", events::ValueType::kText, 25, -1, false}};
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  TransactionInfo Tx(uint64_t commit) {
    TransactionInfo tx;
    tx.xid = static_cast<uint32_t>(commit);
    tx.commit_lsn = Lsn(commit);
    tx.end_lsn = Lsn(commit + 8);
    return tx;
  }
  void WriteTx(FileSink& sink, uint64_t commit, int rows) {
    auto tx = Tx(commit);
    ASSERT_TRUE(sink.Begin(tx).ok());
    for (int i = 0; i < rows; ++i) {
      ChangeEvent e;
      e.table = table_;
      e.after = events::Row{Value::Integer(i), Value::Text("a\"b\n")};
      e.commit_lsn = tx.commit_lsn;
      e.position = i;
      ASSERT_TRUE(sink.Apply(e).ok());
    }
    ASSERT_TRUE(sink.Commit(tx).ok());
  }
  std::vector<nlohmann::json> Lines() {
    std::ifstream in(path_);
    std::vector<nlohmann::json> out;
    for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
    return out;
  }

  std::filesystem::path dir_;
  std::string path_;
  std::shared_ptr<events::TableSchema> table_;
};

TEST_F(FileSinkTest, NewFileHasNoResumePosition) {
  auto sink = FileSink::Open(path_);
  ASSERT_TRUE(sink.ok());
  EXPECT_FALSE((*sink)->ResumeLsn().has_value());
}

TEST_F(FileSinkTest, FlushReturnsLastCommittedEndAndReopenResumesThere) {
  {
    auto sink = FileSink::Open(path_);
    WriteTx(**sink, 100, 2);
    WriteTx(**sink, 200, 1);
    auto flushed = (*sink)->Flush();
    ASSERT_TRUE(flushed.ok());
    EXPECT_EQ(flushed->value(), 208u);
  }
  auto sink = FileSink::Open(path_);
  ASSERT_TRUE((*sink)->ResumeLsn().has_value());
  EXPECT_EQ((*sink)->ResumeLsn()->value(), 208u);
  auto lines = Lines();
  ASSERT_EQ(lines.size(), 7u);
  EXPECT_EQ(lines[1]["after"]["id"], 0);
  EXPECT_EQ(lines[1]["after"]["name"], "a\"b\n");
  EXPECT_EQ(lines[3]["type"], "commit");
  EXPECT_EQ(lines[3]["changes"], 2);
}

TEST_F(FileSinkTest, EachChangeSaysWhoMadeIt) {
  auto sink = FileSink::Open(path_);
  ASSERT_TRUE(sink.ok());
  auto tx = Tx(100);
  ASSERT_TRUE((*sink)->Begin(tx).ok());
  for (const Actor& actor :
       {Actor::Portal("reg \"one\"\n"), Actor::Database(), Actor::Snapshot(), Actor::Simulator()}) {
    ChangeEvent e;
    e.table = table_;
    e.after = events::Row{Value::Integer(1), Value::Null()};
    e.actor = actor;
    ASSERT_TRUE((*sink)->Apply(e).ok());
  }
  ASSERT_TRUE((*sink)->Commit(tx).ok());
  ASSERT_TRUE((*sink)->Flush().ok());
  auto lines = Lines();
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[1]["changed_by"], "reg \"one\"\n");
  EXPECT_EQ(lines[1]["origin"], "portal");
  EXPECT_TRUE(lines[2]["changed_by"].is_null());
  EXPECT_EQ(lines[2]["origin"], "database");
  EXPECT_TRUE(lines[3]["changed_by"].is_null());
  EXPECT_EQ(lines[3]["origin"], "snapshot");
  EXPECT_EQ(lines[4]["changed_by"], "simulator");
  EXPECT_EQ(lines[4]["origin"], "simulator");
}

TEST_F(FileSinkTest, OpenTruncatesTornAndUncommittedTail) {
  {
    auto sink = FileSink::Open(path_);
    WriteTx(**sink, 100, 3);
    auto tx = Tx(300);
    ASSERT_TRUE((*sink)->Begin(tx).ok());
    ASSERT_TRUE((*sink)->Flush().ok());
  }
  { std::ofstream(path_, std::ios::app) << "{\"type\":\"change\",\"op\":\"c\",\"tab"; }
  auto sink = FileSink::Open(path_);
  EXPECT_EQ((*sink)->ResumeLsn()->value(), 108u);
  EXPECT_EQ(Lines().size(), 5u);
}

TEST_F(FileSinkTest, BeginAgainDropsUncommittedLines) {
  auto sink = FileSink::Open(path_);
  WriteTx(**sink, 100, 1);
  auto tx = Tx(200);
  ASSERT_TRUE((*sink)->Begin(tx).ok());
  ASSERT_TRUE((*sink)->Flush().ok());  // the partial transaction reaches the disk
  WriteTx(**sink, 200, 2);
  ASSERT_TRUE((*sink)->Flush().ok());
  auto lines = Lines();
  ASSERT_EQ(lines.size(), 7u);
  EXPECT_EQ(lines[3]["type"], "begin");
  EXPECT_EQ(lines[6]["changes"], 2);
}

// /dev/full takes an open and reports ENOSPC on every write: the disk full, on demand.
constexpr const char* kFullDevice = "/dev/full";

TEST_F(FileSinkTest, FlushReturnsTheWriteErrorNamingTheFile) {
  auto sink = FileSink::Open(kFullDevice);
  ASSERT_TRUE(sink.ok()) << sink.error().ToString();
  WriteTx(**sink, 100, 1);  // buffered, not yet written
  LogCapture log;
  auto flushed = (*sink)->Flush();
  ASSERT_FALSE(flushed.ok());
  EXPECT_EQ(flushed.error().code(), ErrorCode::kInternal);
  EXPECT_EQ(flushed.error().message(),
            std::string("file sink /dev/full: write: ") + std::strerror(ENOSPC));
  EXPECT_EQ(log.Text(), "") << "a returned error is not logged too";
}

TEST_F(FileSinkTest, DestructorLogsTheWriteErrorItCannotReturn) {
  LogCapture log;
  {
    auto sink = FileSink::Open(kFullDevice);
    ASSERT_TRUE(sink.ok()) << sink.error().ToString();
    WriteTx(**sink, 100, 2);
  }
  EXPECT_NE(log.Text().find("[error] file sink /dev/full: write: " +
                            std::string(std::strerror(ENOSPC)) + " at close: "),
            std::string::npos)
      << log.Text();
}

TEST_F(FileSinkTest, DestructorWritesWhatIsBufferedAndLogsNothing) {
  LogCapture log;
  {
    auto sink = FileSink::Open(path_);
    ASSERT_TRUE(sink.ok());
    WriteTx(**sink, 100, 1);
  }
  EXPECT_EQ(Lines().size(), 3u);  // begin, change, commit
  EXPECT_EQ(log.Text(), "");
}

}  // namespace
}  // namespace migsbyu::transport
