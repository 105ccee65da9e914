#include "cdc/slot.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

namespace migsbyu::cdc {
namespace {

std::string_view VerdictName(SlotVerdict v) {
  switch (v) {
    case SlotVerdict::kUsable:
      return "usable";
    case SlotVerdict::kMissing:
      return "missing";
    case SlotVerdict::kLost:
      return "lost";
    case SlotVerdict::kAhead:
      return "ahead";
  }
  return "?";
}

TEST(SlotContinuityTest, VerdictsOfTheCaseFile) {
  std::ifstream in(std::string(MIGSBYU_CDC_TESTDATA) + "/slot_continuity.cases");
  ASSERT_TRUE(in) << "slot_continuity.cases not found";
  int cases = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream words(line);
    std::map<std::string, std::string> f;
    std::string word, expected;
    while (words >> word) {
      if (word == "=>") {
        words >> expected;
        break;
      }
      auto eq = word.find('=');
      ASSERT_NE(eq, std::string::npos) << line;
      f[word.substr(0, eq)] = word.substr(eq + 1);
    }
    SlotInfo info;
    info.exists = f.at("exists") == "yes";
    info.wal_status = f.at("wal_status") == "-" ? "" : f.at("wal_status");
    if (f.at("confirmed") != "-") info.confirmed_flush_lsn = *Lsn::Parse(f.at("confirmed"));
    std::optional<Lsn> resume;
    if (f.at("resume") != "-") resume = *Lsn::Parse(f.at("resume"));
    SlotCheck check = CheckSlotContinuity("s1", info, resume, f.at("records") == "yes");
    EXPECT_EQ(VerdictName(check.verdict), expected) << line;
    if (check.verdict == SlotVerdict::kUsable) {
      EXPECT_TRUE(check.message.empty()) << line;
    } else {
      // Enough to act on: the slot, the sink's position, the slot's, and the way out.
      EXPECT_NE(check.message.find("'s1'"), std::string::npos) << check.message;
      EXPECT_NE(check.message.find(resume->ToString()), std::string::npos) << check.message;
      EXPECT_NE(check.message.find("confirmed_flush_lsn"), std::string::npos) << check.message;
      EXPECT_NE(check.message.find("--on-slot-loss=resnapshot"), std::string::npos)
          << check.message;
    }
    ++cases;
  }
  EXPECT_GE(cases, 13);
}

TEST(SlotContinuityTest, RetentionRiskBeforeLoss) {
  SlotInfo info;
  info.exists = true;
  info.wal_status = "reserved";
  EXPECT_FALSE(SlotRetentionAtRisk(info, 1000));  // unlimited: no safe size
  info.safe_wal_size = 5000;
  EXPECT_FALSE(SlotRetentionAtRisk(info, 1000));
  info.safe_wal_size = 999;
  EXPECT_TRUE(SlotRetentionAtRisk(info, 1000));
  info.safe_wal_size.reset();
  info.wal_status = "unreserved";
  EXPECT_TRUE(SlotRetentionAtRisk(info, 1000));
}

TEST(SlotContinuityTest, PolicyNames) {
  EXPECT_EQ(*ParseSlotLossPolicy("stop"), SlotLossPolicy::kStop);
  EXPECT_EQ(*ParseSlotLossPolicy("resnapshot"), SlotLossPolicy::kResnapshot);
  auto bad = ParseSlotLossPolicy("ignore");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("'ignore'"), std::string::npos);
}

}  // namespace
}  // namespace migsbyu::cdc
