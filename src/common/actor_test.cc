// DecodeActorPayload over the cases in testdata/actor_payloads.test (format in its header), and
// the writers' payloads read back as they were written.
#include "common/actor.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

namespace migsbyu {
namespace {

// `text` with every \xHH replaced by the byte HH.
std::string Unescape(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 2, "\\x") == 0 && i + 4 <= text.size()) {
      out.push_back(static_cast<char>(std::stoi(text.substr(i + 2, 2), nullptr, 16)));
      i += 3;
      continue;
    }
    out.push_back(text[i]);
  }
  return out;
}

std::string Describe(const Actor& actor) {
  return "user=" + actor.user.value_or("NULL") + " origin=" + actor.origin;
}

TEST(ActorTest, PayloadsDecodeAsTheTestDataExpects) {
  std::ifstream in(MIGSBYU_COMMON_TESTDATA "/actor_payloads.test");
  ASSERT_TRUE(in) << MIGSBYU_COMMON_TESTDATA;
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  size_t checked = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (!lines[i].starts_with("payload")) continue;
    ASSERT_LT(i + 1, lines.size()) << "a payload without its expectation: " << lines[i];
    const std::string payload = Unescape(lines[i].size() > 8 ? lines[i].substr(8) : "");
    const std::string& want = lines[i + 1];
    auto decoded = DecodeActorPayload(payload);
    if (want.starts_with("expect ")) {
      ASSERT_TRUE(decoded.ok()) << lines[i] << ": " << decoded.error().ToString();
      EXPECT_EQ(Describe(*decoded), want.substr(7)) << lines[i];
    } else {
      ASSERT_TRUE(want.starts_with("error ")) << "expected expect or error after " << lines[i];
      ASSERT_FALSE(decoded.ok()) << lines[i] << " decoded as " << Describe(*decoded);
      EXPECT_EQ(decoded.error().code(), ErrorCode::kInvalidArgument);
      EXPECT_NE(decoded.error().message().find(want.substr(6)), std::string::npos)
          << lines[i] << ": " << decoded.error().message();
    }
    ++checked;
  }
  EXPECT_GE(checked, 40u);
}

TEST(ActorTest, WhatTheWritersStampReadsBackTheSame) {
  for (const Actor& actor : {Actor::Portal("registrar1"), Actor::Portal(std::nullopt),
                             Actor::Simulator(), Actor::Cli(), Actor::Portal("Zoë \"Z\" O'Hara")}) {
    const std::string payload = EncodeActorPayload(actor);
    auto decoded = DecodeActorPayload(payload);
    ASSERT_TRUE(decoded.ok()) << payload << ": " << decoded.error().ToString();
    EXPECT_EQ(*decoded, actor) << payload;
  }
  // Every printable ASCII character, and multi-byte UTF-8, survives the hand-made encoding.
  std::string printable;
  for (char c = 0x20; c < 0x7f; ++c) printable.push_back(c);
  for (const std::string& name : {printable, std::string("\\\"\\"), std::string("Ölçer 李")}) {
    auto decoded = DecodeActorPayload(EncodeActorPayload(Actor::Portal(name)));
    ASSERT_TRUE(decoded.ok()) << name << ": " << decoded.error().ToString();
    EXPECT_EQ(decoded->user, name);
  }
  EXPECT_EQ(EncodeActorPayload(Actor::Portal("ada")), R"({"user":"ada","origin":"portal"})");
  EXPECT_EQ(EncodeActorPayload(Actor::Cli()), R"({"user":null,"origin":"cli"})");
}

TEST(ActorTest, TheCaptureSidesLabelsAreNeverAPayloadsOrigin) {
  EXPECT_FALSE(DecodeActorPayload(EncodeActorPayload(Actor::Database())).ok());
  EXPECT_FALSE(DecodeActorPayload(EncodeActorPayload(Actor::Snapshot())).ok());
}

}  // namespace
}  // namespace migsbyu
