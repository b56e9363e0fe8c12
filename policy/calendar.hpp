// Calendar events: a subset of systemd.time(7) OnCalendar= expressions.
//
// Grammar (case-insensitive words; spaces separate the parts):
//
//   event     := shorthand [zone] | [weekdays] [date] [time] [zone]
//                (at least one of weekdays, date, time)
//   shorthand := "minutely"  = *-*-* *:*:00
//              | "hourly"    = *-*-* *:00:00
//              | "daily"     = *-*-* 00:00:00
//              | "weekly"    = Mon *-*-* 00:00:00
//              | "monthly"   = *-*-01 00:00:00
//              | "quarterly" = *-01,04,07,10-01 00:00:00
//              | "semiannually" | "semi-annually" = *-01,07-01 00:00:00
//              | "yearly" | "annually" = *-01-01 00:00:00
//   weekdays  := wdays { "," [" "] wdays } [","]
//   wdays     := weekday | weekday ".." weekday      (no wrap-around: Mon..Fri)
//   weekday   := Mon | Tue | Wed | Thu | Fri | Sat | Sun   or the full English
//                name (Monday ... Sunday)
//   date      := [year "-"] month ("-" | "~") day    (default *-*-*)
//   time      := hour ":" minute [":" second]         (default 00:00:00;
//                                                       second defaults to 00)
//   component := "*" | item { "," item }
//   item      := value [".." value] ["/" repeat] | "*/" repeat
//   zone      := "UTC" (any case) | IANA name such as Europe/Berlin
//                (default: the system's local zone)
//
// Ranges: year 1970..9999 (two-digit years: 00-69 mean 20xx, 70-99 mean 19xx),
// month 1..12, day 1..31, hour 0..23, minute 0..59, second 0..59 (whole
// seconds; fractions are not supported). "a/n" matches a, a+n, a+2n, ...;
// "a..b/n" stops at b; "*/n" starts at the smallest value. "month~day" counts
// the day from the end of the month: "*-02~01" is the last day of February,
// "Mon *-05~07/1" the last Monday of May. An event matches when every part
// matches; a weekday list restricts the dates further.
//
// Months without the day ("*-*-31" in April) simply do not match; "*-02-29"
// matches only in leap years. Expressions that can never match again (a past
// year, "*-04-31") are valid: next_after() returns nullopt.
//
// Daylight saving time, as systemd does it: a wall-clock time that does not
// exist (spring-forward gap) is skipped, the next matching time after the gap
// fires instead ("daily 02:30" skips that day; "hourly" goes 01:00 -> 03:00).
// A wall-clock time that happens twice (fall-back overlap) fires once, at its
// first occurrence ("hourly" does not fire in the repeated hour).
//
// The normalized form follows systemd: "[weekdays ]YYYY-MM-DD HH:MM:SS[ zone]"
// with "*" for any, values zero-padded, lists sorted and deduplicated, weekday
// runs of three or more written as ranges ("Mon..Thu,Sat,Sun"). Examples:
//   "Sat,Thu,Mon..Wed,Sat..Sun" -> "Mon..Thu,Sat,Sun *-*-* 00:00:00"
//   "Wed..Sat,Tue 12-10-15 1:2:3" -> "Tue..Sat 2012-10-15 01:02:03"
//   "*:2/3" -> "*-*-* *:02/3:00"      "daily UTC" -> "*-*-* 00:00:00 UTC"
#pragma once

#include "policy/calendar_component.hpp"
#include "util/result.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stasis::policy {

// A parsed calendar event (immutable value).
class CalendarSpec {
public:
  // Parses an expression (grammar above). Errors quote the expression, name
  // the part that is wrong and show valid examples.
  static Result<CalendarSpec> parse(std::string_view text);

  // Returns the first instant strictly after `t` that matches, or nullopt when
  // the expression never matches again.
  std::optional<std::chrono::sys_seconds> next_after(std::chrono::sys_seconds t) const;

  // Returns the systemd-style normalized form, e.g. "*-*-* 00:00:00"; parsing it
  // gives an equal CalendarSpec.
  std::string normalized() const;

  // Returns the time zone the expression is evaluated in: "" means the
  // system's local zone, otherwise "UTC" or an IANA name.
  const std::string& time_zone() const { return m_time_zone; }

  bool operator==(const CalendarSpec&) const = default;

private:
  CalendarSpec() = default;

  // Returns the first wall-clock time at or after the given one (seconds since
  // the local epoch) that matches, or nullopt.
  std::optional<std::int64_t> next_wall_time(std::int64_t from) const;
  bool matches_day(int year, unsigned month, unsigned day) const;

  std::uint8_t m_weekdays = 0; // bit 0 = Monday ... bit 6 = Sunday; 0 = any day
  CalendarComponent m_year, m_month, m_day, m_hour, m_minute, m_second;
  bool m_day_from_end = false; // "~": days count back from the end of the month
  std::string m_time_zone;
};

} // namespace stasis::policy
