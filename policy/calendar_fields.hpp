// Internal: the field parsers behind CalendarSpec::parse (policy/ only).
#pragma once

#include "policy/calendar_component.hpp"
#include "util/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace stasis::policy::detail {

constexpr std::string_view k_calendar_examples =
    "e.g. \"daily\", \"Mon..Fri 09:00\", \"*-*-01 03:30\", "
    "\"*:0/15\", \"Sun 02:00 Europe/Berlin\"";

// Builds errors that quote the whole expression and end with examples.
class CalendarErrors {
public:
  explicit CalendarErrors(std::string_view text) : m_text(text) {}
  template <typename... Args>
  Unexpected<Error> operator()(fmt::format_string<Args...> format, Args&&... args) const {
    return make_error("invalid calendar expression \"{}\": {}; {}", m_text,
                      fmt::format(format, std::forward<Args>(args)...),
                      k_calendar_examples);
  }

private:
  std::string_view m_text;
};

// Lower-cases ASCII text.
std::string lower(std::string_view text);
// Splits at every `separator` (empty pieces included).
std::vector<std::string_view> split(std::string_view text, char separator);

// True when every comma-separated piece of `token` is a weekday or weekday range.
bool is_weekday_token(std::string_view token);
// Parses "Mon,Wed..Fri" into a mask (bit 0 = Monday).
Result<std::uint8_t> parse_weekdays(std::string_view text, const CalendarErrors& error);

// The year, month and day of "YYYY-MM-DD", "MM-DD" or "MM~DD".
struct DateFields {
  CalendarComponent year, month, day;
  bool day_from_end = false;
};
Result<DateFields> parse_date(std::string_view text, const CalendarErrors& error);

// The hour, minute and second of "HH:MM" or "HH:MM:SS".
struct TimeFields {
  CalendarComponent hour, minute, second;
};
Result<TimeFields> parse_time(std::string_view text, const CalendarErrors& error);

} // namespace stasis::policy::detail
