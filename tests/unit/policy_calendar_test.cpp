#include "policy/calendar.hpp"

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace stasis::policy {
namespace {

using namespace std::chrono;

sys_seconds utc(int y, unsigned m, unsigned d, int hh = 0, int mm = 0, int ss = 0) {
  return sys_days{year{y} / month{m} / day{d}} + hours{hh} + minutes{mm} + seconds{ss};
}

CalendarSpec spec_of(std::string_view text) {
  auto spec = CalendarSpec::parse(text);
  EXPECT_TRUE(spec) << text << ": " << (spec ? "" : spec.error().message);
  if (!spec) {
    return *CalendarSpec::parse("daily");
  }
  return *spec;
}

std::optional<sys_seconds> next(std::string_view text, sys_seconds after) {
  return spec_of(text).next_after(after);
}

// Facts from systemd's documentation and test suite (systemd.time(7),
// src/test/test-calendarspec.c): expression -> normalized form.
TEST(ACalendarSpec, NormalizesLikeSystemd) {
  const std::vector<std::pair<std::string, std::string>> table = {
      {"Sat,Thu,Mon-Wed,Sat-Sun", "Mon..Thu,Sat,Sun *-*-* 00:00:00"},
      {"Sat,Thu,Mon..Wed,Sat..Sun", "Mon..Thu,Sat,Sun *-*-* 00:00:00"},
      {"Mon,Sun 12-*-* 2,1:23", "Mon,Sun 2012-*-* 01,02:23:00"},
      {"Wed *-1", "Wed *-*-01 00:00:00"},
      {"Wed-Wed,Wed *-1", "Wed *-*-01 00:00:00"},
      {"Wed..Wed,Wed *-1", "Wed *-*-01 00:00:00"},
      {"Wed, 17:48", "Wed *-*-* 17:48:00"},
      {"Wed-Sat,Tue 12-10-15 1:2:3", "Tue..Sat 2012-10-15 01:02:03"},
      {"Wed..Sat,Tue 12-10-15 1:2:3", "Tue..Sat 2012-10-15 01:02:03"},
      {"*-*-7 0:0:0", "*-*-07 00:00:00"},
      {"10-15", "*-10-15 00:00:00"},
      {"monday *-12-* 17:00", "Mon *-12-* 17:00:00"},
      {"Mon,Fri *-*-3,1,2 *:30:45", "Mon,Fri *-*-01,02,03 *:30:45"},
      {"12,14,13,12:20,10,30", "*-*-* 12,13,14:10,20,30:00"},
      {"12..14:10,20,30", "*-*-* 12..14:10,20,30:00"},
      {"mon,fri *-1/2-1,3 *:30:45", "Mon,Fri *-01/2-01,03 *:30:45"},
      {"03-05 08:05:40", "*-03-05 08:05:40"},
      {"08:05:40", "*-*-* 08:05:40"},
      {"05:40", "*-*-* 05:40:00"},
      {"Sat,Sun 12-05 08:05:40", "Sat,Sun *-12-05 08:05:40"},
      {"Sat,Sun 08:05:40", "Sat,Sun *-*-* 08:05:40"},
      {"2003-03-05 05:40", "2003-03-05 05:40:00"},
      {"2003-03-05", "2003-03-05 00:00:00"},
      {"03-05", "*-03-05 00:00:00"},
      {"2003-02..04-05", "2003-02..04-05 00:00:00"},
      {"hourly", "*-*-* *:00:00"},
      {"daily", "*-*-* 00:00:00"},
      {"daily UTC", "*-*-* 00:00:00 UTC"},
      {"monthly", "*-*-01 00:00:00"},
      {"weekly", "Mon *-*-* 00:00:00"},
      {"weekly Pacific/Auckland", "Mon *-*-* 00:00:00 Pacific/Auckland"},
      {"minutely", "*-*-* *:*:00"},
      {"quarterly", "*-01,04,07,10-01 00:00:00"},
      {"semi-annually", "*-01,07-01 00:00:00"},
      {"semiannually", "*-01,07-01 00:00:00"},
      {"yearly", "*-01-01 00:00:00"},
      {"annually", "*-01-01 00:00:00"},
      {"*:2/3", "*-*-* *:02/3:00"},
      {"2015-10-25 01:00:00 uTc", "2015-10-25 01:00:00 UTC"},
      {"*-*~1 Utc", "*-*~01 00:00:00 UTC"},
      {"*-*~05,3 ", "*-*~03,05 00:00:00"},
      {"*-*~* 00:00:00", "*-*-* 00:00:00"},
      {"Monday", "Mon *-*-* 00:00:00"},
      {"Monday *-*-*", "Mon *-*-* 00:00:00"},
      {"*-*-*", "*-*-* 00:00:00"},
      {"*:*:*", "*-*-* *:*:*"},
      {"*:*", "*-*-* *:*:00"},
      {"12:*", "*-*-* 12:*:00"},
      {"*:30", "*-*-* *:30:00"},
      {"93..00-*-*", "1993..2000-*-* 00:00:00"},
      {"00..07-*-*", "2000..2007-*-* 00:00:00"},
      {"*:20..39/5", "*-*-* *:20..35/5:00"},
      {"00:00:20..40/1", "*-*-* 00:00:20..40"},
      {"*:4,30:0/1", "*-*-* *:04,30:*"},
      {"*:*/15", "*-*-* *:00/15:00"},
      {"Mon, Wed, Fri 9:00", "Mon,Wed,Fri *-*-* 09:00:00"},
      {"Mon..Fri 09:00 Europe/Berlin", "Mon..Fri *-*-* 09:00:00 Europe/Berlin"},
  };
  for (const auto& [input, expected] : table) {
    auto spec = CalendarSpec::parse(input);
    ASSERT_TRUE(spec) << input << ": " << spec.error().message;
    EXPECT_EQ(spec->normalized(), expected) << input;
    // The normalized form reads back to the same expression.
    auto again = CalendarSpec::parse(spec->normalized());
    ASSERT_TRUE(again) << expected << ": " << again.error().message;
    EXPECT_EQ(*again, *spec) << expected;
    EXPECT_EQ(again->normalized(), expected);
  }
}

TEST(ACalendarSpec, KeepsItsTimeZone) {
  EXPECT_EQ(spec_of("daily").time_zone(), "");
  EXPECT_EQ(spec_of("daily utc").time_zone(), "UTC");
  EXPECT_EQ(spec_of("Mon 12:00 America/New_York").time_zone(), "America/New_York");
}

TEST(ACalendarSpec, RejectsInvalidExpressionsWithClearErrors) {
  const std::vector<std::pair<std::string, std::string>> table = {
      {"", "empty calendar expression"},
      {"    ", "empty calendar expression"},
      {"test", "\"test\" is neither a weekday, a shorthand"},
      {" utc", "\"utc\" is neither a weekday"},
      {"7", "\"7\" is neither a date"},
      {"121212:1:2", "hour 121212 is out of range 0..23"},
      {"25:00", "hour 25 is out of range 0..23"},
      {"*-13-01", "month 13 is out of range 1..12"},
      {"*-02-32", "day 32 is out of range 1..31"},
      {"12:60", "minute 60 is out of range 0..59"},
      {"2000-03-05.23 00:00:00", "\"05.23\" is not a number in the day"},
      {"2000-03-05 00:00.1:00", "\"00.1\" is not a number in the minute"},
      {"00:00:01.5", "fractional seconds (\"01.5\") are not supported"},
      {"2016~11-22", "\"~\" may only separate the month from the day"},
      {"Sat..Mon", "weekday range \"Sat..Mon\" runs backwards"},
      {"Mon,Funday 12:00", "unknown weekday \"Funday\""},
      {"*:0/0", "repetition in \"0/0\" must be at least 1"},
      {"*:50..10", "minute range \"50..10\" runs backwards"},
      {"12:00 Mars/Olympus", "unknown time zone \"Mars/Olympus\""},
      {"daily 12:00", "\"daily\" can only be followed by a time zone"},
      {"12:00 *-*-01", "the date \"*-*-01\" must come before the time"},
      {"1-2-3-4", "the date \"1-2-3-4\" must be YYYY-MM-DD or MM-DD"},
      {"12:00:00:00", "the time \"12:00:00:00\" must be HH:MM or HH:MM:SS"},
      {"*-*- 12:00", "the day is empty"},
  };
  for (const auto& [input, expected] : table) {
    auto spec = CalendarSpec::parse(input);
    ASSERT_FALSE(spec) << input << " parsed as " << spec->normalized();
    EXPECT_NE(spec.error().message.find(expected), std::string::npos)
        << input << ": " << spec.error().message;
    EXPECT_NE(spec.error().message.find("e.g. \"daily\""), std::string::npos)
        << input << ": " << spec.error().message;
  }
}

TEST(ACalendarSpec, FiresStrictlyAfterTheGivenTime) {
  EXPECT_EQ(next("*-*-* 12:00 UTC", utc(2024, 6, 1, 11, 59, 59)), utc(2024, 6, 1, 12));
  EXPECT_EQ(next("*-*-* 12:00 UTC", utc(2024, 6, 1, 12)), utc(2024, 6, 2, 12));
  EXPECT_EQ(next("minutely UTC", utc(2024, 12, 31, 23, 59, 30)), utc(2025, 1, 1));
  EXPECT_EQ(next("*:*:* UTC", utc(2024, 6, 1, 1, 2, 3)), utc(2024, 6, 1, 1, 2, 4));
}

TEST(ACalendarSpec, EvaluatesStepsRangesAndWeekdays) {
  EXPECT_EQ(next("*:0/15 UTC", utc(2024, 6, 1, 10, 7)), utc(2024, 6, 1, 10, 15));
  EXPECT_EQ(next("*:0/15 UTC", utc(2024, 6, 1, 10, 45)), utc(2024, 6, 1, 11));
  EXPECT_EQ(next("*:2/3 UTC", utc(2024, 6, 1, 10, 57)), utc(2024, 6, 1, 10, 59));
  EXPECT_EQ(next("*:2/3 UTC", utc(2024, 6, 1, 10, 59)), utc(2024, 6, 1, 11, 2));
  EXPECT_EQ(next("9..17/4:30 UTC", utc(2024, 6, 1, 13, 31)), utc(2024, 6, 1, 17, 30));
  EXPECT_EQ(next("9..17/4:30 UTC", utc(2024, 6, 1, 17, 31)), utc(2024, 6, 2, 9, 30));
  // Friday 2024-06-07 -> Monday 2024-06-10.
  EXPECT_EQ(next("Mon..Fri 09:00 UTC", utc(2024, 6, 7, 10)), utc(2024, 6, 10, 9));
  // systemd issue 22665: a day step across a month end.
  EXPECT_EQ(next("*-*-1/5 04:00:00 UTC", utc(2022, 2, 28, 1)), utc(2022, 3, 1, 4));
  // systemd test-calendarspec.c: "Sun 16:00:00" in CET on Sunday 2016-02-21 08:00 UTC.
  EXPECT_EQ(next("Sun 16:00:00 CET", sys_seconds{seconds{1456041600}}),
            sys_seconds{seconds{1456066800}});
  EXPECT_EQ(next("quarterly UTC", utc(2024, 4, 1)), utc(2024, 7, 1));
}

TEST(ACalendarSpec, CountsDaysFromTheEndOfTheMonth) {
  // systemd test-calendarspec.c facts: last day of February 2016, last Monday of May
  // 2017.
  EXPECT_EQ(next("2016-02~01 UTC", utc(1970, 1, 1)), utc(2016, 2, 29));
  EXPECT_EQ(next("Mon 2017-05~07/1 UTC", utc(1970, 1, 1)), utc(2017, 5, 29));
  EXPECT_EQ(next("Mon 2017-05~01..07 UTC", utc(1970, 1, 1)), utc(2017, 5, 29));
  EXPECT_EQ(next("*-*~02 UTC", utc(2023, 2, 1)), utc(2023, 2, 27));
}

TEST(ACalendarSpec, SkipsDaysMissingFromShortMonths) {
  EXPECT_EQ(next("*-*-31 12:00 UTC", utc(2024, 4, 1)), utc(2024, 5, 31, 12));
  EXPECT_EQ(next("*-*-31 12:00 UTC", utc(2024, 1, 31, 12)), utc(2024, 3, 31, 12));
  EXPECT_EQ(next("*-*-30 UTC", utc(2023, 1, 30)), utc(2023, 3, 30));
}

TEST(ACalendarSpec, FindsTheNextLeapDay) {
  EXPECT_EQ(next("*-02-29 UTC", utc(2024, 2, 29)), utc(2028, 2, 29));
  EXPECT_EQ(next("*-02-29 UTC", utc(2023, 3, 1)), utc(2024, 2, 29));
  // 2100 is not a leap year.
  EXPECT_EQ(next("*-02-29 UTC", utc(2096, 3, 1)), utc(2104, 2, 29));
  EXPECT_EQ(next("2024/4-02-29 UTC", utc(2024, 3, 1)), utc(2028, 2, 29));
  // 2001, 2005, 2009, ... are never leap years.
  EXPECT_EQ(next("2001/4-02-29 UTC", utc(2000, 1, 1)), std::nullopt);
}

TEST(ACalendarSpec, ReturnsNothingWhenItNeverMatchesAgain) {
  EXPECT_EQ(next("2003-03-05 05:40 UTC", utc(2024, 1, 1)), std::nullopt);
  EXPECT_EQ(next("2003-03-05 05:40 UTC", utc(2003, 1, 1)), utc(2003, 3, 5, 5, 40));
  EXPECT_EQ(next("2020..2022-01-01 UTC", utc(2022, 1, 1)), std::nullopt);
  EXPECT_EQ(next("*-04-31", utc(2024, 1, 1)), std::nullopt);
  // systemd test-calendarspec.c: 03:17 does not exist in EET on 2016-03-27.
  EXPECT_EQ(next("2016-03-27 03:17:00 EET", sys_seconds{seconds{12345}}), std::nullopt);
  EXPECT_EQ(next("2016-03-27 03:17:00 CET", sys_seconds{seconds{12345}}),
            sys_seconds{seconds{1459041420}});
}

// Europe/Berlin 2024: CET -> CEST on 03-31 at 01:00 UTC (02:00 -> 03:00 local),
// CEST -> CET on 10-27 at 01:00 UTC (03:00 -> 02:00 local).
TEST(ACalendarSpec, SkipsWallTimesInTheSpringForwardGapInBerlin) {
  EXPECT_EQ(next("*-*-* 02:30 Europe/Berlin", utc(2024, 3, 30, 12)),
            utc(2024, 4, 1, 0, 30));
  EXPECT_EQ(next("hourly Europe/Berlin", utc(2024, 3, 31, 0, 30)), utc(2024, 3, 31, 1));
  EXPECT_EQ(next("*:*:00 Europe/Berlin", utc(2024, 3, 31, 0, 59)), utc(2024, 3, 31, 1));
  EXPECT_EQ(next("daily Europe/Berlin", utc(2024, 3, 30, 12)), utc(2024, 3, 30, 23));
}

TEST(ACalendarSpec, FiresOnceInTheFallBackOverlapInBerlin) {
  const auto first = next("*-*-* 02:30 Europe/Berlin", utc(2024, 10, 26, 12));
  EXPECT_EQ(first, utc(2024, 10, 27, 0, 30)); // 02:30 CEST, the first occurrence
  EXPECT_EQ(next("*-*-* 02:30 Europe/Berlin", *first), utc(2024, 10, 28, 1, 30));
  // 02:00 CET (01:00 UTC) repeats a wall time that already fired at 00:00 UTC.
  EXPECT_EQ(next("hourly Europe/Berlin", utc(2024, 10, 27, 0, 30)), utc(2024, 10, 27, 2));
}

// America/New_York 2024: EST -> EDT on 03-10 at 07:00 UTC (02:00 -> 03:00 local),
// EDT -> EST on 11-03 at 06:00 UTC (02:00 -> 01:00 local).
TEST(ACalendarSpec, SkipsWallTimesInTheSpringForwardGapInNewYork) {
  EXPECT_EQ(next("*-*-* 02:30 America/New_York", utc(2024, 3, 9, 12)),
            utc(2024, 3, 11, 6, 30));
  EXPECT_EQ(next("hourly America/New_York", utc(2024, 3, 10, 6, 30)),
            utc(2024, 3, 10, 7));
}

TEST(ACalendarSpec, FiresOnceInTheFallBackOverlapInNewYork) {
  EXPECT_EQ(next("hourly America/New_York", utc(2024, 11, 3, 4, 30)),
            utc(2024, 11, 3, 5));
  // 01:00 EST (06:00 UTC) repeats a wall time that already fired.
  EXPECT_EQ(next("hourly America/New_York", utc(2024, 11, 3, 5)), utc(2024, 11, 3, 7));
  EXPECT_EQ(next("*:*:00 America/New_York", utc(2024, 11, 3, 6, 10)),
            utc(2024, 11, 3, 7));
  EXPECT_EQ(next("*-*-* 01:30 America/New_York", utc(2024, 11, 2, 12)),
            utc(2024, 11, 3, 5, 30));
  EXPECT_EQ(next("*-*-* 01:30 America/New_York", utc(2024, 11, 3, 5, 30)),
            utc(2024, 11, 4, 6, 30));
}

TEST(ACalendarSpec, UsesTheLocalZoneWhenNoneIsGiven) {
  // The local zone follows TZ like libc; set it for this test only.
  const char* old = std::getenv("TZ");
  const std::string saved = old != nullptr ? old : "";
  setenv("TZ", "Asia/Tokyo", 1);
  EXPECT_EQ(next("daily", utc(2024, 6, 1, 12)), utc(2024, 6, 1, 15));
  if (old != nullptr) {
    setenv("TZ", saved.c_str(), 1);
  } else {
    unsetenv("TZ");
  }
}

} // namespace
} // namespace stasis::policy
