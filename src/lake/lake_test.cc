// Lake's reading side: a manifest that cannot be read is reported, never taken for "nothing new".
#include "lake/lake.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "common/log_capture.h"
#include "lake/manifest.h"

namespace migsbyu::lake {
namespace {
namespace fs = std::filesystem;

class LakeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() /
            (std::string("lake_lake_") +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + "_" +
             std::to_string(getpid())))
               .string();
    fs::remove_all(dir_);
    auto lake = Lake::Open(dir_, 1);
    ASSERT_TRUE(lake.ok()) << lake.error().ToString();
    lake_ = *lake;
    // A newer manifest that cannot be opened (a dangling link: unreadable even to root), unlike a
    // damaged one, which the commit protocol skips.
    unreadable_ = ManifestPath(dir_, 7);
    fs::create_directories(fs::path(unreadable_).parent_path());
    fs::create_symlink(dir_ + "/absent", unreadable_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string dir_;
  std::string unreadable_;
  std::shared_ptr<Lake> lake_;
};

TEST_F(LakeTest, RefreshReturnsTheErrorOfAnUnreadableNewerManifest) {
  Status refreshed = lake_->Refresh();
  ASSERT_FALSE(refreshed.ok());
  EXPECT_NE(refreshed.error().ToString().find(unreadable_), std::string::npos)
      << refreshed.error().ToString();
  EXPECT_EQ(lake_->Snapshot()->version, 0u);
}

TEST_F(LakeTest, WaitForCommitLogsAFailedRefreshOnce) {
  LogCapture capture;
  // Long enough for several 50 ms slices, each of which re-reads and fails the same way.
  lake_->WaitForCommit(0, std::chrono::milliseconds(200));
  std::string text = capture.Text();
  auto first = text.find(unreadable_);
  ASSERT_NE(first, std::string::npos) << text;
  EXPECT_EQ(text.find(unreadable_, first + 1), std::string::npos) << text;
}

}  // namespace
}  // namespace migsbyu::lake
