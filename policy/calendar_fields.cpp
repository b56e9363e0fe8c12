#include "policy/calendar_fields.hpp"

#include <array>
#include <cctype>

namespace stasis::policy::detail {
namespace {

constexpr std::array<std::string_view, 7> k_weekday_short = {"mon", "tue", "wed", "thu",
                                                             "fri", "sat", "sun"};
constexpr std::array<std::string_view, 7> k_weekday_long = {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"};

struct Domain {
  std::string_view name;
  int min;
  int max;
};

constexpr Domain k_year{"year", 1970, 9999};
constexpr Domain k_month{"month", 1, 12};
constexpr Domain k_day{"day", 1, 31};
constexpr Domain k_hour{"hour", 0, 23};
constexpr Domain k_minute{"minute", 0, 59};
constexpr Domain k_second{"second", 0, 59};

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

int find_weekday(std::string_view name) {
  const std::string key = lower(name);
  for (std::size_t i = 0; i < 7; ++i) {
    if (key == k_weekday_short[i] || key == k_weekday_long[i]) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

Result<int> parse_number(std::string_view text, const Domain& domain,
                         const CalendarErrors& error) {
  if (text.empty()) {
    return error("missing number in the {}", domain.name);
  }
  int value = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '.' && domain.name == "second") {
      return error("fractional seconds (\"{}\") are not supported", text);
    }
    if (!is_digit(c)) {
      return error("\"{}\" is not a number in the {}", text, domain.name);
    }
    if (value > 100000) {
      return error("{} \"{}\" is out of range {}..{}", domain.name, text, domain.min,
                   domain.max);
    }
    value = value * 10 + (c - '0');
  }
  if (domain.name == "year" && text.size() <= 2) {
    value += value < 70 ? 2000 : 1900;
  }
  if (value < domain.min || value > domain.max) {
    return error("{} {} is out of range {}..{}", domain.name, text, domain.min,
                 domain.max);
  }
  return value;
}

Result<CalendarComponent> parse_component(std::string_view text, const Domain& domain,
                                          const CalendarErrors& error) {
  CalendarComponent component;
  if (text.empty()) {
    return error("the {} is empty (use * for any {})", domain.name, domain.name);
  }
  bool any = false;
  for (auto piece : split(text, ',')) {
    if (piece == "*") {
      any = true;
      continue;
    }
    CalendarComponent::Item item;
    auto values = piece;
    if (const auto slash = piece.find('/'); slash != std::string_view::npos) {
      values = piece.substr(0, slash);
      const auto repeat_text = piece.substr(slash + 1);
      Domain repeat_domain{"repetition", 1, domain.max - domain.min + 1};
      if (domain.name == "year") {
        repeat_domain.max = 9999;
      }
      if (repeat_text.empty() || repeat_text == "0") {
        return error("the repetition in \"{}\" must be at least 1", piece);
      }
      item.repeat = STASIS_TRY(parse_number(repeat_text, repeat_domain, error));
    }
    if (values == "*") {
      if (item.repeat == 0) {
        any = true;
        continue;
      }
      item.start = domain.min;
    } else if (const auto dots = values.find(".."); dots != std::string_view::npos) {
      item.start = STASIS_TRY(parse_number(values.substr(0, dots), domain, error));
      item.stop = STASIS_TRY(parse_number(values.substr(dots + 2), domain, error));
      if (item.stop < item.start) {
        return error("the {} range \"{}\" runs backwards", domain.name, values);
      }
    } else {
      item.start = STASIS_TRY(parse_number(values, domain, error));
    }
    component.items.push_back(item);
  }
  if (any) {
    component.items.clear();
  }
  component.normalize(domain.min, domain.max);
  return component;
}

} // namespace

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (;;) {
    const auto end = text.find(separator, start);
    parts.push_back(text.substr(start, end - start));
    if (end == std::string_view::npos) {
      return parts;
    }
    start = end + 1;
  }
}

bool is_weekday_token(std::string_view token) {
  for (auto piece : split(token, ',')) {
    if (piece.empty()) {
      continue;
    }
    auto dots = piece.find("..");
    if (dots == std::string_view::npos) {
      dots = piece.find('-');
    }
    if (dots == std::string_view::npos) {
      if (find_weekday(piece) < 0) {
        return false;
      }
    } else if (find_weekday(piece.substr(0, dots)) < 0) {
      return false;
    }
  }
  return true;
}

Result<std::uint8_t> parse_weekdays(std::string_view text, const CalendarErrors& error) {
  std::uint8_t mask = 0;
  for (auto piece : split(text, ',')) {
    while (!piece.empty() && piece.front() == ' ') {
      piece.remove_prefix(1);
    }
    if (piece.empty()) {
      return error("empty entry in the weekday list \"{}\"", text);
    }
    std::size_t sep_size = 2;
    auto sep = piece.find("..");
    if (sep == std::string_view::npos) {
      sep = piece.find('-'); // systemd's older range syntax
      sep_size = 1;
    }
    const auto first_name = piece.substr(0, sep);
    const int first = find_weekday(first_name);
    if (first < 0) {
      return error("unknown weekday \"{}\" (use Mon, Tue, Wed, Thu, Fri, Sat, Sun or the "
                   "full names)",
                   first_name);
    }
    int last = first;
    if (sep != std::string_view::npos) {
      const auto last_name = piece.substr(sep + sep_size);
      last = find_weekday(last_name);
      if (last < 0) {
        return error(
            "unknown weekday \"{}\" (use Mon, Tue, Wed, Thu, Fri, Sat, Sun or the "
            "full names)",
            last_name);
      }
      if (last < first) {
        return error("weekday range \"{}\" runs backwards (weeks start on Monday: write "
                     "e.g. \"Mon,Sat..Sun\" instead of \"Sat..Mon\")",
                     piece);
      }
    }
    for (int day = first; day <= last; ++day) {
      mask = static_cast<std::uint8_t>(mask | (1U << day));
    }
  }
  return mask;
}

Result<DateFields> parse_date(std::string_view date_text, const CalendarErrors& error) {
  DateFields date;
  const auto tilde = date_text.find('~');
  if (tilde != std::string_view::npos &&
      date_text.find('-', tilde) != std::string_view::npos) {
    return error("\"~\" may only separate the month from the day, as in \"*-02~01\"");
  }
  std::string dashed(date_text);
  if (tilde != std::string_view::npos) {
    dashed[tilde] = '-';
    date.day_from_end = true;
  }
  const auto parts = split(dashed, '-');
  if (parts.size() != 2 && parts.size() != 3) {
    return error("the date \"{}\" must be YYYY-MM-DD or MM-DD", date_text);
  }
  const std::size_t offset = parts.size() == 3 ? 1 : 0;
  if (offset == 1) {
    date.year = STASIS_TRY(parse_component(parts[0], k_year, error));
  }
  date.month = STASIS_TRY(parse_component(parts[offset], k_month, error));
  date.day = STASIS_TRY(parse_component(parts[offset + 1], k_day, error));
  if (date.day_from_end) {
    for (const auto& item : date.day.items) {
      if (item.stop >= 0 && item.repeat > 0) {
        return error("a day counted from the month's end (\"~\") cannot combine a range "
                     "with a repetition");
      }
    }
    if (date.day.any()) {
      date.day_from_end = false;
    }
  }
  return date;
}

Result<TimeFields> parse_time(std::string_view time_text, const CalendarErrors& error) {
  TimeFields time;
  CalendarComponent zero;
  zero.items.push_back({});
  time.hour = time.minute = time.second = zero;
  if (!time_text.empty()) {
    const auto parts = split(time_text, ':');
    if (parts.size() != 2 && parts.size() != 3) {
      return error("the time \"{}\" must be HH:MM or HH:MM:SS", time_text);
    }
    time.hour = STASIS_TRY(parse_component(parts[0], k_hour, error));
    time.minute = STASIS_TRY(parse_component(parts[1], k_minute, error));
    if (parts.size() == 3) {
      time.second = STASIS_TRY(parse_component(parts[2], k_second, error));
    }
  }
  return time;
}

} // namespace stasis::policy::detail
