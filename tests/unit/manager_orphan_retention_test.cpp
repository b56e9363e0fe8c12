// The orphan-retention setting of stasisd: keep-all, keep-last:N (bounded) or
// keep-within:DURATION; anything else is refused with the accepted forms.
#include "manager/daemon_config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace stasis::manager {
namespace {

using ::testing::HasSubstr;

TEST(TheOrphanRetentionSetting, KeepsEverythingByDefaultAndWithKeepAll) {
  EXPECT_TRUE(DaemonConfig{}.orphan_retention.empty());
  auto rules = parse_orphan_retention("keep-all");
  ASSERT_TRUE(rules);
  EXPECT_TRUE(rules->empty());
}

TEST(TheOrphanRetentionSetting, TakesKeepLastUpToItsLimit) {
  auto rules = parse_orphan_retention("keep-last:3");
  ASSERT_TRUE(rules);
  EXPECT_EQ(rules->keep_last, 3u);
  const auto most = std::to_string(k_max_orphan_keep_last);
  EXPECT_TRUE(parse_orphan_retention("keep-last:" + most));
  auto beyond =
      parse_orphan_retention("keep-last:" + std::to_string(k_max_orphan_keep_last + 1));
  ASSERT_FALSE(beyond);
  EXPECT_THAT(beyond.error().message, HasSubstr("needs N from 1 to " + most));
  EXPECT_FALSE(parse_orphan_retention("keep-last:0"));
  EXPECT_FALSE(parse_orphan_retention("keep-last:"));
  EXPECT_FALSE(parse_orphan_retention("keep-last:3x"));
  EXPECT_FALSE(parse_orphan_retention("keep-last:99999999999999999999"));
}

TEST(TheOrphanRetentionSetting, TakesKeepWithinADuration) {
  auto rules = parse_orphan_retention("keep-within:30d");
  ASSERT_TRUE(rules);
  EXPECT_EQ(rules->keep_within, std::chrono::hours(24 * 30));
  EXPECT_FALSE(parse_orphan_retention("keep-within:0"));
  auto bad = parse_orphan_retention("keep-within:soon");
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message, HasSubstr("'keep-within:soon'"));
}

TEST(TheOrphanRetentionSetting, RefusesOtherRulesNamingTheAcceptedForms) {
  auto bad = parse_orphan_retention("keep-daily:7");
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message,
              HasSubstr("is not keep-all, keep-last:N or keep-within:DURATION"));
}

} // namespace
} // namespace stasis::manager
