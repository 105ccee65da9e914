#include "cdc/incremental.h"

#include <gtest/gtest.h>

namespace migsbyu::cdc {
namespace {

TEST(IncrementalTest, ProgressRoundTripsThroughItsJson) {
  IncrementalProgress p;
  p.tables = {"public.students", "s.t"};
  p.last_key = std::vector<std::string>{"S000123", "2024-01-01"};
  p.pass_start = Lsn(0x1A2B3C);
  p.chunks = 4;
  p.rows = 32768;
  p.requested_us = 1700000000000000;
  auto back = ProgressFromJson(ProgressToJson(p));
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  EXPECT_EQ(back->tables, p.tables);
  EXPECT_EQ(back->last_key, p.last_key);
  EXPECT_EQ(back->pass_start, p.pass_start);
  EXPECT_EQ(back->chunks, 4u);
  EXPECT_EQ(back->rows, 32768u);
  EXPECT_EQ(back->requested_us, p.requested_us);
}

TEST(IncrementalTest, EmptyProgressIsNoneAndGarbageIsCorrupt) {
  auto none = ProgressFromJson("");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->active());
  auto bad = ProgressFromJson("{\"tables\": 3}");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), ErrorCode::kCorruption);
}

TEST(IncrementalTest, RequestsNameTablesWithTheirSchema) {
  auto tables = ParseSnapshotRequest(SnapshotRequestPayload({"students", "s.t"}));
  ASSERT_TRUE(tables.ok()) << tables.error().ToString();
  EXPECT_EQ(*tables, (std::vector<std::string>{"public.students", "s.t"}));
}

TEST(IncrementalTest, HostileRequestsAreRefused) {
  for (const char* payload :
       {"", "[]", "{\"tables\": []}", "{\"tables\": [\"a-b\"]}", "{\"tables\": [\"x; DROP\"]}",
        "{\"tables\": [\"a.b.c\"]}", "{\"tables\": [1]}", "{\"other\": 1}"}) {
    auto tables = ParseSnapshotRequest(payload);
    EXPECT_FALSE(tables.ok()) << payload;
    if (!tables.ok()) {
      EXPECT_EQ(tables.error().code(), ErrorCode::kInvalidArgument) << payload;
    }
  }
}

}  // namespace
}  // namespace migsbyu::cdc
