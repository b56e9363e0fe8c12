#include "policy/retention.hpp"

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace stasis::policy {
namespace {

using namespace std::chrono;

sys_seconds utc(int y, unsigned m, unsigned d, int hh = 0, int mm = 0, int ss = 0) {
  return sys_days{year{y} / month{m} / day{d}} + hours{hh} + minutes{mm} + seconds{ss};
}

RetentionItem item(std::string id, sys_seconds created, std::uint64_t bytes = 0) {
  return RetentionItem{std::move(id), created, bytes};
}

std::vector<std::string> kept_ids(const std::vector<RetentionDecision>& decisions) {
  std::vector<std::string> ids;
  for (const auto& decision : decisions) {
    if (decision.keep) {
      ids.push_back(decision.id);
    }
  }
  return ids;
}

const RetentionDecision& decision_for(const std::vector<RetentionDecision>& decisions,
                                      std::string_view id) {
  const auto it = std::find_if(decisions.begin(), decisions.end(),
                               [&](const RetentionDecision& d) { return d.id == id; });
  EXPECT_NE(it, decisions.end()) << id;
  return *it;
}

using Reasons = std::vector<std::string>;

// restic's documentation ("Removing snapshots according to a policy"): one
// backup every Sunday for 12 weeks.
std::vector<RetentionItem> restic_sundays() {
  return {
      item("0a1f9759", utc(2019, 9, 1, 11)),   item("46cfe4d5", utc(2019, 9, 8, 11)),
      item("f6b1f037", utc(2019, 9, 15, 11)),  item("eb430a5d", utc(2019, 9, 22, 11)),
      item("8cf1cb9a", utc(2019, 9, 29, 11)),  item("5d33b116", utc(2019, 10, 6, 11)),
      item("b9553125", utc(2019, 10, 13, 11)), item("e1a7b58b", utc(2019, 10, 20, 11)),
      item("8f8018c0", utc(2019, 10, 27, 11)), item("59403279", utc(2019, 11, 3, 11)),
      item("dfee9fb4", utc(2019, 11, 10, 11)), item("e1ae2f40", utc(2019, 11, 17, 11)),
  };
}

TEST(RetentionSelection, KeepsTheLastFourSundaysForKeepDailyFourLikeRestic) {
  RetentionRules rules;
  rules.keep_daily = 4;
  const auto decisions = apply_retention(rules, restic_sundays(), "UTC");
  ASSERT_EQ(decisions.size(), 12U);
  EXPECT_EQ(kept_ids(decisions),
            (Reasons{"8f8018c0", "59403279", "dfee9fb4", "e1ae2f40"}));
  EXPECT_EQ(decision_for(decisions, "e1ae2f40").reasons, (Reasons{"daily #1", "newest"}));
  EXPECT_EQ(decision_for(decisions, "8f8018c0").reasons, (Reasons{"daily #4"}));
  EXPECT_EQ(decision_for(decisions, "0a1f9759").reasons,
            (Reasons{"matches no keep rule"}));
}

TEST(RetentionSelection, KeepsTheNewestForKeepLastOneLikeRestic) {
  RetentionRules rules;
  rules.keep_last = 1;
  const auto decisions = apply_retention(rules,
                                         {item("8c02b94b", utc(2017, 2, 21, 10, 48, 33)),
                                          item("4bba301e", utc(2017, 2, 21, 10, 49, 18))},
                                         "UTC");
  EXPECT_EQ(kept_ids(decisions), (Reasons{"4bba301e"}));
  EXPECT_EQ(decisions[1].reasons, (Reasons{"last #1", "newest"}));
}

// restic's documentation: daily backups and --keep-daily 7 --keep-weekly 5
// --keep-monthly 12 --keep-yearly 75 keep 7 dailies, 4 more weeklies (the
// dailies include one), 11 or 12 month ends and the year ends. Here three
// years of daily backups end on Sunday 2023-12-31.
TEST(RetentionSelection, CombinesPeriodRulesLikeResticsDailyExample) {
  std::vector<RetentionItem> items;
  for (sys_days day = sys_days{2021y / 1 / 1}; day <= sys_days{2023y / 12 / 31};
       day += days{1}) {
    const year_month_day ymd{day};
    items.push_back(item(fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()),
                                     static_cast<unsigned>(ymd.month()),
                                     static_cast<unsigned>(ymd.day())),
                         day + hours{12}));
  }
  RetentionRules rules;
  rules.keep_daily = 7;
  rules.keep_weekly = 5;
  rules.keep_monthly = 12;
  rules.keep_yearly = 75;
  const auto decisions = apply_retention(rules, items, "UTC");
  const auto kept = kept_ids(decisions);
  const Reasons expected = {
      "2021-01-01", "2021-12-31", "2022-12-31", "2023-01-31", "2023-02-28",
      "2023-03-31", "2023-04-30", "2023-05-31", "2023-06-30", "2023-07-31",
      "2023-08-31", "2023-09-30", "2023-10-31", "2023-11-30", "2023-12-03",
      "2023-12-10", "2023-12-17", "2023-12-24", "2023-12-25", "2023-12-26",
      "2023-12-27", "2023-12-28", "2023-12-29", "2023-12-30", "2023-12-31"};
  EXPECT_EQ(kept, expected);
  EXPECT_EQ(decision_for(decisions, "2023-12-31").reasons,
            (Reasons{"daily #1", "weekly #1", "monthly #1", "yearly #1", "newest"}));
  EXPECT_EQ(decision_for(decisions, "2023-12-24").reasons, (Reasons{"weekly #2"}));
  EXPECT_EQ(decision_for(decisions, "2022-12-31").reasons, (Reasons{"yearly #2"}));
  // Fewer than 75 years exist: like restic 0.17+, the oldest is kept as well.
  EXPECT_EQ(decision_for(decisions, "2021-01-01").reasons, (Reasons{"oldest yearly"}));
}

TEST(RetentionSelection, StartsWeeksOnMonday) {
  RetentionRules rules;
  rules.keep_weekly = 2;
  const auto decisions =
      apply_retention(rules,
                      {item("sat", utc(2024, 6, 8, 12)), item("sun", utc(2024, 6, 9, 12)),
                       item("mon", utc(2024, 6, 10, 12))},
                      "UTC");
  EXPECT_EQ(kept_ids(decisions), (Reasons{"sun", "mon"}));
}

TEST(RetentionSelection, ComputesPeriodsInTheGivenTimeZone) {
  const std::vector<RetentionItem> items = {item("a", utc(2024, 5, 31, 12)),
                                            item("b", utc(2024, 6, 1, 23, 30)),
                                            item("c", utc(2024, 6, 2, 0, 30))};
  RetentionRules rules;
  rules.keep_daily = 2;
  EXPECT_EQ(kept_ids(apply_retention(rules, items, "UTC")), (Reasons{"b", "c"}));
  // In Berlin (UTC+2) b and c both fall on 2024-06-02.
  EXPECT_EQ(kept_ids(apply_retention(rules, items, "Europe/Berlin")),
            (Reasons{"a", "c"}));
}

TEST(RetentionSelection, KeepsHourlyMonthlyAndYearlyPeriods) {
  const std::vector<RetentionItem> items = {
      item("2022", utc(2022, 7, 1)),           item("jan-a", utc(2024, 1, 5)),
      item("jan-b", utc(2024, 1, 20)),         item("feb", utc(2024, 2, 10, 8, 10)),
      item("feb-8h", utc(2024, 2, 10, 8, 50)), item("feb-9h", utc(2024, 2, 10, 9, 5))};
  RetentionRules hourly;
  hourly.keep_hourly = 2;
  EXPECT_EQ(kept_ids(apply_retention(hourly, items, "UTC")),
            (Reasons{"feb-8h", "feb-9h"}));
  RetentionRules monthly;
  monthly.keep_monthly = 2;
  EXPECT_EQ(kept_ids(apply_retention(monthly, items, "UTC")),
            (Reasons{"jan-b", "feb-9h"}));
  RetentionRules yearly;
  yearly.keep_yearly = 2;
  EXPECT_EQ(kept_ids(apply_retention(yearly, items, "UTC")), (Reasons{"2022", "feb-9h"}));
}

TEST(RetentionSelection, KeepsWithinADurationOfTheNewestCheckpoint) {
  const auto newest = utc(2020, 1, 10, 12);
  const std::vector<RetentionItem> items = {
      item("4d", newest - days{4}), item("3d", newest - days{3}),
      item("2d23h", newest - days{2} - hours{23}), item("1d", newest - days{1}),
      item("now", newest)};
  RetentionRules rules;
  rules.keep_within = days{3};
  const auto decisions = apply_retention(rules, items, "UTC");
  // Relative to the newest checkpoint, not to the current time; exactly 3d is outside.
  EXPECT_EQ(kept_ids(decisions), (Reasons{"2d23h", "1d", "now"}));
  EXPECT_EQ(decision_for(decisions, "1d").reasons, (Reasons{"within 3d"}));
}

TEST(RetentionSelection, AlwaysKeepsPinnedCheckpoints) {
  auto items = restic_sundays();
  items[0].pinned = true;
  RetentionRules rules;
  rules.keep_last = 1;
  const auto decisions = apply_retention(rules, items, "UTC");
  EXPECT_EQ(kept_ids(decisions), (Reasons{"0a1f9759", "e1ae2f40"}));
  EXPECT_EQ(decisions[0].reasons, (Reasons{"pinned"}));
}

TEST(RetentionSelection, AlwaysKeepsTheNewestGoodCheckpoint) {
  std::vector<RetentionItem> items = {item("old", utc(2024, 1, 1)),
                                      item("good", utc(2024, 1, 2)),
                                      item("failed", utc(2024, 1, 3))};
  items[2].good = false;
  RetentionRules rules;
  rules.keep_last = 0; // keeps nothing by itself
  const auto decisions = apply_retention(rules, items, "UTC");
  EXPECT_EQ(kept_ids(decisions), (Reasons{"good"}));
  EXPECT_EQ(decisions[1].reasons, (Reasons{"newest"}));
  EXPECT_EQ(decisions[2].reasons, (Reasons{"not good (failed or incomplete)"}));
}

TEST(RetentionSelection, IgnoresCheckpointsThatAreNotGoodInItsRules) {
  std::vector<RetentionItem> items = {
      item("a", utc(2024, 1, 1)), item("b", utc(2024, 1, 2)), item("c", utc(2024, 1, 3))};
  items[2].good = false;
  RetentionRules rules;
  rules.keep_last = 2;
  EXPECT_EQ(kept_ids(apply_retention(rules, items, "UTC")), (Reasons{"a", "b"}));
  items[2].pinned = true;
  EXPECT_EQ(kept_ids(apply_retention(rules, items, "UTC")), (Reasons{"a", "b", "c"}));
}

TEST(RetentionSelection, DropsTheOldestUnprotectedCheckpointsToFitTheSizeLimit) {
  std::vector<RetentionItem> items;
  for (unsigned i = 1; i <= 5; ++i) {
    items.push_back(item("c" + std::to_string(i), utc(2024, 1, i), 100));
  }
  RetentionRules rules;
  rules.keep_last = 5;
  rules.max_total_size = 250;
  auto decisions = apply_retention(rules, items, "UTC");
  EXPECT_EQ(kept_ids(decisions), (Reasons{"c4", "c5"}));
  EXPECT_EQ(decisions[0].reasons,
            (Reasons{"dropped by max-total-size 250 B (was kept: last #5)"}));

  items[0].pinned = true;
  decisions = apply_retention(rules, items, "UTC");
  EXPECT_EQ(kept_ids(decisions), (Reasons{"c1", "c5"}));

  // Pinned and newest stay even when they alone exceed the limit.
  rules.max_total_size = 50;
  EXPECT_EQ(kept_ids(apply_retention(rules, items, "UTC")), (Reasons{"c1", "c5"}));
}

TEST(RetentionSelection, AppliesASizeLimitAloneToEveryGoodCheckpoint) {
  std::vector<RetentionItem> items = {item("a", utc(2024, 1, 1), 10),
                                      item("b", utc(2024, 1, 2), 10),
                                      item("c", utc(2024, 1, 3), 10)};
  RetentionRules rules;
  rules.max_total_size = 25;
  const auto decisions = apply_retention(rules, items, "UTC");
  EXPECT_EQ(kept_ids(decisions), (Reasons{"b", "c"}));
  EXPECT_EQ(decisions[1].reasons, (Reasons{"no keep rules"}));
}

TEST(RetentionSelection, KeepsEverythingWithoutRules) {
  auto items = restic_sundays();
  items[3].good = false;
  const RetentionRules rules;
  EXPECT_TRUE(rules.empty());
  const auto decisions = apply_retention(rules, items, "UTC");
  ASSERT_EQ(decisions.size(), items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    EXPECT_EQ(decisions[i].id, items[i].id);
    EXPECT_TRUE(decisions[i].keep);
    EXPECT_EQ(decisions[i].reasons, (Reasons{"no retention rules: keeping everything"}));
  }
}

TEST(RetentionSelection, AnswersInInputOrderWhateverTheTimeOrder) {
  auto items = restic_sundays();
  std::reverse(items.begin(), items.end());
  RetentionRules rules;
  rules.keep_daily = 4;
  const auto decisions = apply_retention(rules, items, "UTC");
  ASSERT_EQ(decisions.size(), items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    EXPECT_EQ(decisions[i].id, items[i].id);
  }
  EXPECT_EQ(kept_ids(decisions),
            (Reasons{"e1ae2f40", "dfee9fb4", "59403279", "8f8018c0"}));
}

TEST(RetentionSelection, TreatsTheLaterOfTwoEqualTimesAsNewer) {
  RetentionRules rules;
  rules.keep_last = 1;
  const auto decisions = apply_retention(
      rules, {item("first", utc(2024, 1, 1)), item("second", utc(2024, 1, 1))}, "UTC");
  EXPECT_EQ(kept_ids(decisions), (Reasons{"second"}));
}

TEST(RetentionSelection, HandlesNoCheckpoints) {
  RetentionRules rules;
  rules.keep_last = 3;
  EXPECT_TRUE(apply_retention(rules, {}, "UTC").empty());
  EXPECT_FALSE(rules.empty());
}

} // namespace
} // namespace stasis::policy
