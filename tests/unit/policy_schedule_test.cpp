#include "policy/schedule.hpp"

#include <chrono>

#include <gtest/gtest.h>

namespace stasis::policy {
namespace {

using namespace std::chrono;

sys_seconds utc(int y, unsigned m, unsigned d, int hh = 0, int mm = 0, int ss = 0) {
  return sys_days{year{y} / month{m} / day{d}} + hours{hh} + minutes{mm} + seconds{ss};
}

Schedule every(milliseconds interval, bool persistent = false) {
  Schedule schedule;
  schedule.kind = Schedule::Kind::Every;
  schedule.every = interval;
  schedule.persistent = persistent;
  return schedule;
}

Schedule on_calendar(std::string_view text, bool persistent = false) {
  Schedule schedule;
  schedule.kind = Schedule::Kind::Calendar;
  auto spec = CalendarSpec::parse(text);
  EXPECT_TRUE(spec) << text;
  schedule.calendar = *spec;
  schedule.persistent = persistent;
  return schedule;
}

TEST(AnOnDemandSchedule, NeverFiresByItself) {
  const Schedule schedule;
  EXPECT_EQ(schedule.next_after(utc(2024, 1, 1), std::nullopt), std::nullopt);
  EXPECT_EQ(schedule.next_after(utc(2024, 1, 1), utc(2023, 1, 1)), std::nullopt);
  EXPECT_FALSE(schedule.missed_run(utc(2023, 1, 1), utc(2024, 1, 1)));
}

TEST(AnIntervalSchedule, IsDueImmediatelyWhenItNeverRan) {
  EXPECT_EQ(every(1h).next_after(utc(2024, 1, 1, 12), std::nullopt), utc(2024, 1, 1, 12));
}

TEST(AnIntervalSchedule, FiresOneIntervalAfterTheLastRun) {
  EXPECT_EQ(every(1h).next_after(utc(2024, 1, 1, 12, 10), utc(2024, 1, 1, 12)),
            utc(2024, 1, 1, 13));
  EXPECT_EQ(every(90min).next_after(utc(2024, 1, 1, 12), utc(2024, 1, 1, 12)),
            utc(2024, 1, 1, 13, 30));
}

TEST(AnIntervalSchedule, KeepsItsPhaseAfterMissedRuns) {
  // Down from 12:00 to 15:10: the slots 13:00, 14:00 and 15:00 passed.
  EXPECT_EQ(every(1h).next_after(utc(2024, 1, 1, 15, 10), utc(2024, 1, 1, 12)),
            utc(2024, 1, 1, 16));
  // Exactly on a slot: strictly after means the following one.
  EXPECT_EQ(every(1h).next_after(utc(2024, 1, 1, 15), utc(2024, 1, 1, 12)),
            utc(2024, 1, 1, 16));
}

TEST(AnIntervalSchedule, RoundsSubSecondIntervalsUpToOneSecond) {
  EXPECT_EQ(every(500ms).next_after(utc(2024, 1, 1), utc(2024, 1, 1)),
            utc(2024, 1, 1, 0, 0, 1));
}

TEST(AnIntervalSchedule, ReportsAMissedRunOnlyWhenPersistent) {
  EXPECT_TRUE(every(1h, true).missed_run(utc(2024, 1, 1, 12), utc(2024, 1, 1, 15, 10)));
  EXPECT_TRUE(every(1h, true).missed_run(utc(2024, 1, 1, 12), utc(2024, 1, 1, 13)));
  EXPECT_FALSE(every(1h, true).missed_run(utc(2024, 1, 1, 12), utc(2024, 1, 1, 12, 59)));
  EXPECT_FALSE(every(1h, false).missed_run(utc(2024, 1, 1, 12), utc(2024, 1, 1, 15, 10)));
  EXPECT_FALSE(every(1h, true).missed_run(std::nullopt, utc(2024, 1, 1, 15, 10)));
}

TEST(ACalendarSchedule, FollowsItsCalendar) {
  const auto schedule = on_calendar("*-*-* 03:00 UTC");
  EXPECT_EQ(schedule.next_after(utc(2024, 1, 1, 12), std::nullopt), utc(2024, 1, 2, 3));
  EXPECT_EQ(schedule.next_after(utc(2024, 1, 1, 12), utc(2023, 6, 1)),
            utc(2024, 1, 2, 3));
  EXPECT_EQ(on_calendar("2003-03-05 UTC").next_after(utc(2024, 1, 1), std::nullopt),
            std::nullopt);
}

TEST(ACalendarSchedule, ReportsARunMissedDuringDowntime) {
  const auto schedule = on_calendar("*-*-* 03:00 UTC", true);
  // Ran 2024-01-01 03:00, down until 2024-01-02 08:00: the 01-02 03:00 run was missed.
  EXPECT_TRUE(schedule.missed_run(utc(2024, 1, 1, 3), utc(2024, 1, 2, 8)));
  EXPECT_TRUE(schedule.missed_run(utc(2024, 1, 1, 3), utc(2024, 1, 2, 3)));
  EXPECT_FALSE(schedule.missed_run(utc(2024, 1, 1, 3), utc(2024, 1, 2, 2, 59)));
  EXPECT_FALSE(schedule.missed_run(std::nullopt, utc(2024, 1, 2, 8)));
  EXPECT_FALSE(on_calendar("*-*-* 03:00 UTC", false)
                   .missed_run(utc(2024, 1, 1, 3), utc(2024, 1, 2, 8)));
}

TEST(ASchedule, ComparesByValue) {
  EXPECT_EQ(on_calendar("daily UTC"), on_calendar("*-*-* 00:00:00 UTC"));
  EXPECT_NE(on_calendar("daily UTC"), on_calendar("daily"));
  EXPECT_NE(every(1h), every(2h));
}

} // namespace
} // namespace stasis::policy
