#include "policy/calendar.hpp"

#include "policy/time_zone_internal.hpp"

#include <algorithm>
#include <array>
#include <numeric>

namespace stasis::policy {
namespace {

constexpr int k_last_year = 9999;
constexpr std::int64_t k_seconds_per_day = 86400;

constexpr std::array<std::string_view, 7> k_weekday_names = {"Mon", "Tue", "Wed", "Thu",
                                                             "Fri", "Sat", "Sun"};

std::string format_weekdays(std::uint8_t mask) {
  std::string out;
  int run_start = -1;
  for (int day = 0; day <= 7; ++day) {
    const bool set = day < 7 && (mask & (1U << day)) != 0;
    if (set && run_start < 0) {
      run_start = day;
    } else if (!set && run_start >= 0) {
      if (!out.empty()) {
        out += ',';
      }
      out += k_weekday_names[static_cast<std::size_t>(run_start)];
      const int run_end = day - 1;
      if (run_end > run_start) {
        out += run_end > run_start + 1 ? ".." : ",";
        out += k_weekday_names[static_cast<std::size_t>(run_end)];
      }
      run_start = -1;
    }
  }
  return out;
}

// The last year worth searching from `from_year`: the largest year the
// component can match, or for open-ended years the point where the pattern
// repeats. Month, day, weekday and time patterns repeat every 400 years
// (146097 days are exactly 20871 weeks), "a/n" years every lcm(n, 400).
int last_year(const CalendarComponent& year, int from_year) {
  if (year.any()) {
    return std::min(k_last_year, from_year + 400);
  }
  int last = 0;
  std::int64_t period = 0;
  for (const auto& item : year.items) {
    last = std::max(last, item.stop >= 0 ? item.stop : item.start);
    if (item.stop < 0 && item.repeat > 0) {
      period = std::lcm(period == 0 ? 400 : period, std::int64_t{item.repeat});
    }
  }
  if (period > 0) {
    return static_cast<int>(
        std::min<std::int64_t>(k_last_year, std::max(last, from_year) + period));
  }
  return last;
}

unsigned days_in_month(int year, unsigned month) {
  const auto last =
      date::year_month_day_last{date::year{year} / date::month{month} / date::last};
  return static_cast<unsigned>(last.day());
}

// Local wall-clock seconds <-> date::local_seconds.
date::local_seconds to_local(std::int64_t seconds) {
  return date::local_seconds{std::chrono::seconds{seconds}};
}
std::int64_t from_local(date::local_seconds time) {
  return time.time_since_epoch().count();
}

} // namespace

bool CalendarSpec::matches_day(int year, unsigned month, unsigned day) const {
  const date::year_month_day ymd{date::year{year}, date::month{month}, date::day{day}};
  if (m_weekdays != 0) {
    const unsigned weekday = date::weekday{date::sys_days{ymd}}.iso_encoding() - 1;
    if ((m_weekdays & (1U << weekday)) == 0) {
      return false;
    }
  }
  if (!m_day_from_end) {
    return m_day.matches(static_cast<int>(day));
  }
  // Counted from the end: 1 is the last day; a repetition runs towards the end.
  const int from_end = static_cast<int>(days_in_month(year, month) - day + 1);
  for (const auto& item : m_day.items) {
    if (item.repeat > 0) {
      if (from_end <= item.start && (item.start - from_end) % item.repeat == 0) {
        return true;
      }
    } else if (item.stop >= 0 ? (from_end >= item.start && from_end <= item.stop)
                              : from_end == item.start) {
      return true;
    }
  }
  return false;
}

std::optional<std::int64_t> CalendarSpec::next_wall_time(std::int64_t from) const {
  const auto from_day = date::floor<date::days>(to_local(from));
  const date::year_month_day ymd{from_day};
  std::int64_t rest = from - from_local(date::local_seconds{from_day});
  int year = static_cast<int>(ymd.year());
  unsigned month = static_cast<unsigned>(ymd.month());
  unsigned day = static_cast<unsigned>(ymd.day());
  int hour = static_cast<int>(rest / 3600);
  int minute = static_cast<int>(rest / 60 % 60);
  int second = static_cast<int>(rest % 60);
  const int final_year = last_year(m_year, year);

  // Walks forward field by field; every step moves to a strictly later
  // candidate, and a failed field resets the smaller ones to their minimum.
  const auto next_day = [&] {
    ++day;
    hour = minute = second = 0;
  };
  const auto next_month = [&] {
    ++month;
    day = 1;
    hour = minute = second = 0;
  };
  while (true) {
    if (month > 12) {
      ++year;
      month = 1;
    }
    if (year > final_year) {
      return std::nullopt;
    }
    if (!m_year.matches(year)) {
      ++year;
      month = 1;
      day = 1;
      hour = minute = second = 0;
      continue;
    }
    if (!m_month.matches(static_cast<int>(month))) {
      next_month();
      continue;
    }
    if (day > days_in_month(year, month)) {
      next_month();
      continue;
    }
    if (!matches_day(year, month, day)) {
      next_day();
      continue;
    }
    if (hour > 23) {
      next_day();
      continue;
    }
    if (!m_hour.matches(hour)) {
      ++hour;
      minute = second = 0;
      continue;
    }
    if (minute > 59) {
      ++hour;
      minute = second = 0;
      continue;
    }
    if (!m_minute.matches(minute)) {
      ++minute;
      second = 0;
      continue;
    }
    if (second > 59) {
      ++minute;
      second = 0;
      continue;
    }
    if (!m_second.matches(second)) {
      ++second;
      continue;
    }
    const date::local_days days{date::year{year} / date::month{month} / date::day{day}};
    return from_local(date::local_seconds{days}) + hour * 3600 + minute * 60 + second;
  }
}

std::optional<std::chrono::sys_seconds>
CalendarSpec::next_after(std::chrono::sys_seconds t) const {
  const date::time_zone* zone = detail::find_time_zone(m_time_zone);
  if (zone == nullptr) {
    zone = detail::find_time_zone("UTC");
  }
  std::int64_t from = from_local(zone->to_local(t)) + 1;
  while (true) {
    const auto wall = next_wall_time(from);
    if (!wall) {
      return std::nullopt;
    }
    const auto info = zone->get_info(to_local(*wall));
    switch (info.result) {
    case date::local_info::unique:
    case date::local_info::ambiguous: {
      // An ambiguous wall time (fall-back overlap) fires at its first occurrence.
      const auto instant = std::chrono::sys_seconds{std::chrono::seconds{*wall}} -
                           std::chrono::seconds{info.first.offset};
      if (instant > t) {
        return instant;
      }
      // Only reachable inside an overlap when `t` is in its second half: every
      // repeated wall time already fired, so continue after the overlap.
      const auto overlap_end =
          info.result == date::local_info::ambiguous
              ? info.second.begin.time_since_epoch().count() + info.first.offset.count()
              : *wall + 1;
      from = std::max(overlap_end, *wall + 1);
      break;
    }
    case date::local_info::nonexistent:
      // Skipped by a spring-forward gap: continue at the first wall time after it.
      from = std::max(info.second.begin.time_since_epoch().count() +
                          info.second.offset.count(),
                      *wall + 1);
      break;
    }
  }
}

std::string CalendarSpec::normalized() const {
  std::string out;
  if (m_weekdays != 0) {
    out += format_weekdays(m_weekdays);
    out += ' ';
  }
  out += m_year.format(4);
  out += '-';
  out += m_month.format(2);
  out += m_day_from_end ? '~' : '-';
  out += m_day.format(2);
  out += ' ';
  out += m_hour.format(2);
  out += ':';
  out += m_minute.format(2);
  out += ':';
  out += m_second.format(2);
  if (!m_time_zone.empty()) {
    out += ' ';
    out += m_time_zone;
  }
  return out;
}

} // namespace stasis::policy
