#include "util/result.hpp"

#include <gtest/gtest.h>

namespace stasis {
namespace {

Result<int> parse_positive(int value) {
  if (value <= 0) {
    return make_error("{} is not positive", value);
  }
  return value;
}

Result<int> doubled(int value) {
  int checked = STASIS_TRY(parse_positive(value));
  return checked * 2;
}

TEST(AResult, CarriesAValue) {
  auto result = parse_positive(3);
  ASSERT_TRUE(result);
  EXPECT_EQ(*result, 3);
}

TEST(AResult, CarriesAnErrorMessage) {
  auto result = parse_positive(-1);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message, "-1 is not positive");
}

TEST(ATryMacro, PropagatesErrorsAndUnwrapsValues) {
  EXPECT_EQ(*doubled(4), 8);
  EXPECT_EQ(doubled(0).error().message, "0 is not positive");
}

} // namespace
} // namespace stasis
