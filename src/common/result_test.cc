#include "common/result.h"

#include <gtest/gtest.h>

namespace migsbyu {
namespace {

Result<int> Half(int x) {
  if (x % 2) return Error::InvalidArgument("odd: " + std::to_string(x));
  return x / 2;
}

Result<int> Quarter(int x) {
  MIGSBYU_ASSIGN(int h, Half(x));
  return Half(h);
}

}  // namespace

TEST(ResultTest, PropagatesFirstError) {
  EXPECT_EQ(*Quarter(8), 2);
  auto r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message(), "odd: 3");
}

TEST(ResultTest, ValidationCarriesFields) {
  Error e = Error::Validation({{"gpa", "must be between 0.00 and 4.00"}});
  EXPECT_EQ(e.ToString(), "validation: validation failed; gpa: must be between 0.00 and 4.00");
  EXPECT_EQ(e.WithContext("students").message(), "students: validation failed");
}

}  // namespace migsbyu
