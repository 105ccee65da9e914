// A 1,000,000-row transaction streams through `migsbyu cdc` with bounded memory: the server
// streams it in chunks (protocol 2), the connector spools them to disk and replays them to the
// file sink on commit. The bound checked is the child's peak resident set (VmHWM), not a time.
#include <gtest/gtest.h>

#include <fstream>

#include "cdc_test_support.h"
#include "support/test_database.h"

namespace migsbyu::cdc {
namespace {

using namespace std::chrono_literals;
using testing::ChildConnector;
using testing::Connect;
using testing::Exec;
using testing::PollUntil;

// Committed change lines and commit lines, counted without holding the file in memory.
std::pair<size_t, size_t> CountCommitted(const std::string& path) {
  std::ifstream in(path);
  size_t changes = 0, pending = 0, commits = 0;
  for (std::string line; std::getline(in, line);) {
    if (in.eof()) break;
    if (line.rfind("{\"type\":\"change\"", 0) == 0) ++pending;
    if (line.rfind("{\"type\":\"commit\"", 0) == 0) {
      changes += pending;
      pending = 0;
      ++commits;
    }
  }
  return {changes, commits};
}

void RunMillionRowTransaction(const std::vector<std::string>& protocol_args) {
  ::migsbyu::testing::TestDatabase db("cdcbig");
  testing::TempDir dir;
  std::string file = dir.path() + "/changes.jsonl";
  auto conn = Connect(db.url());
  Exec(conn, "ALTER DATABASE " + pg::QuoteIdentifier(db.name()) +
                 " SET logical_decoding_work_mem = '1MB'");
  Exec(conn,
       "CREATE TABLE big (id int PRIMARY KEY, v text);"
       "ALTER TABLE big REPLICA IDENTITY FULL");
  std::vector<std::string> args = {"--slot", db.name(),     "--table",
                                   "big",    "--spool-dir", dir.path()};
  args.insert(args.end(), protocol_args.begin(), protocol_args.end());
  ChildConnector child(db.url(), file, args);
  ASSERT_TRUE(PollUntil([&] { return CountCommitted(file).second == 1; }, 60s));
  Exec(conn, "INSERT INTO big SELECT i, md5(i::text) FROM generate_series(1, 1000000) i");
  std::pair<size_t, size_t> counted;
  ASSERT_TRUE(PollUntil(
      [&] {
        counted = CountCommitted(file);
        return counted.second == 2;
      },
      280s));
  long peak_kb = child.PeakRssKb();
  EXPECT_EQ(child.Terminate(), 0);
  EXPECT_EQ(counted.first, 1000000u);
  ASSERT_GT(peak_kb, 0);
  EXPECT_LT(peak_kb, 256 * 1024) << "peak RSS " << peak_kb << " KiB";
  std::printf("peak RSS while streaming 1,000,000 rows: %ld KiB\n", peak_kb);
}

TEST(LargeTransactionTest, MillionRowStreamedTransactionKeepsMemoryBounded) {
  RunMillionRowTransaction({"--protocol", "2"});
}

}  // namespace
}  // namespace migsbyu::cdc
