// CalendarSpec::parse: systemd.time(7) calendar expressions (see calendar.hpp).
#include "policy/calendar.hpp"
#include "policy/calendar_fields.hpp"
#include "policy/time_zone.hpp"

#include <array>
#include <cctype>
#include <string>
#include <vector>

namespace stasis::policy {
namespace {

struct Shorthand {
  std::string_view name;
  std::string_view expansion;
};

constexpr std::array<Shorthand, 10> k_shorthands = {{
    {"minutely", "*-*-* *:*:00"},
    {"hourly", "*-*-* *:00:00"},
    {"daily", "*-*-* 00:00:00"},
    {"weekly", "Mon *-*-* 00:00:00"},
    {"monthly", "*-*-01 00:00:00"},
    {"quarterly", "*-01,04,07,10-01 00:00:00"},
    {"semiannually", "*-01,07-01 00:00:00"},
    {"semi-annually", "*-01,07-01 00:00:00"},
    {"yearly", "*-01-01 00:00:00"},
    {"annually", "*-01-01 00:00:00"},
}};

bool is_alpha(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) != 0;
}

} // namespace

Result<CalendarSpec> CalendarSpec::parse(std::string_view text) {
  const detail::CalendarErrors error(text);
  std::vector<std::string_view> tokens;
  for (std::size_t pos = 0; pos < text.size();) {
    if (std::isspace(static_cast<unsigned char>(text[pos])) != 0) {
      ++pos;
      continue;
    }
    const auto start = pos;
    while (pos < text.size() &&
           std::isspace(static_cast<unsigned char>(text[pos])) == 0) {
      ++pos;
    }
    tokens.push_back(text.substr(start, pos - start));
  }
  if (tokens.empty()) {
    return make_error("empty calendar expression; {}", detail::k_calendar_examples);
  }

  CalendarSpec spec;
  if (tokens.size() >= 2 && is_alpha(tokens.back().front()) &&
      !detail::is_weekday_token(tokens.back())) {
    auto zone = check_time_zone(tokens.back());
    if (!zone) {
      return error("unknown time zone \"{}\" (use UTC or an IANA name such as "
                   "Europe/Berlin)",
                   tokens.back());
    }
    spec.m_time_zone = std::move(*zone);
    tokens.pop_back();
  }

  const std::string first = detail::lower(tokens.front());
  for (const auto& shorthand : k_shorthands) {
    if (first == shorthand.name) {
      if (tokens.size() > 1) {
        return error("\"{}\" can only be followed by a time zone, not \"{}\"",
                     tokens.front(), tokens[1]);
      }
      auto expanded = STASIS_TRY(parse(shorthand.expansion));
      expanded.m_time_zone = spec.m_time_zone;
      return expanded;
    }
  }

  std::size_t index = 0;
  if (is_alpha(tokens.front().front())) {
    // Weekday lists may contain spaces after commas: "Mon, Wed, Fri".
    std::string weekdays(tokens.front());
    index = 1;
    while (weekdays.back() == ',' && index < tokens.size() &&
           is_alpha(tokens[index].front())) {
      weekdays += tokens[index++];
    }
    if (weekdays.back() == ',') {
      weekdays.pop_back();
    }
    if (!detail::is_weekday_token(weekdays) && tokens.size() == 1) {
      return error("\"{}\" is neither a weekday, a shorthand (minutely, hourly, daily, "
                   "weekly, monthly, quarterly, semiannually, yearly) nor a date or time",
                   tokens.front());
    }
    spec.m_weekdays = STASIS_TRY(detail::parse_weekdays(weekdays, error));
  }

  std::string_view date_text;
  std::string_view time_text;
  for (; index < tokens.size(); ++index) {
    const auto token = tokens[index];
    if (token.find(':') != std::string_view::npos) {
      if (!time_text.empty()) {
        return error("more than one time (\"{}\" and \"{}\")", time_text, token);
      }
      time_text = token;
    } else if (token.find('-') != std::string_view::npos ||
               token.find('~') != std::string_view::npos) {
      if (!time_text.empty()) {
        return error("the date \"{}\" must come before the time \"{}\"", token,
                     time_text);
      }
      if (!date_text.empty()) {
        return error("more than one date (\"{}\" and \"{}\")", date_text, token);
      }
      date_text = token;
    } else {
      return error("\"{}\" is neither a date (YYYY-MM-DD or MM-DD) nor a time (HH:MM or "
                   "HH:MM:SS)",
                   token);
    }
  }

  if (!date_text.empty()) {
    auto date = STASIS_TRY(detail::parse_date(date_text, error));
    spec.m_year = std::move(date.year);
    spec.m_month = std::move(date.month);
    spec.m_day = std::move(date.day);
    spec.m_day_from_end = date.day_from_end;
  }
  auto time = STASIS_TRY(detail::parse_time(time_text, error));
  spec.m_hour = std::move(time.hour);
  spec.m_minute = std::move(time.minute);
  spec.m_second = std::move(time.second);
  return spec;
}

} // namespace stasis::policy
