#include "policy/duration.hpp"

#include <array>
#include <cctype>
#include <limits>

namespace stasis::policy {
namespace {

using std::chrono::milliseconds;

constexpr std::string_view k_duration_examples =
    "e.g. \"90s\", \"5m\", \"1h30m\", \"2d\", "
    "\"1w\", \"500ms\" or \"0\"";

struct Unit {
  std::string_view name;
  std::int64_t ms;
};

constexpr std::int64_t k_second = 1000;
constexpr std::int64_t k_minute = 60 * k_second;
constexpr std::int64_t k_hour = 60 * k_minute;
constexpr std::int64_t k_day = 24 * k_hour;
constexpr std::int64_t k_week = 7 * k_day;

constexpr std::array<Unit, 20> k_units = {{
    {"ms", 1},
    {"msec", 1},
    {"s", k_second},
    {"sec", k_second},
    {"second", k_second},
    {"seconds", k_second},
    {"m", k_minute},
    {"min", k_minute},
    {"minute", k_minute},
    {"minutes", k_minute},
    {"h", k_hour},
    {"hr", k_hour},
    {"hour", k_hour},
    {"hours", k_hour},
    {"d", k_day},
    {"day", k_day},
    {"days", k_day},
    {"w", k_week},
    {"week", k_week},
    {"weeks", k_week},
}};

// Canonical units for formatting, largest first.
constexpr std::array<Unit, 6> k_canonical = {{
    {"w", k_week},
    {"d", k_day},
    {"h", k_hour},
    {"m", k_minute},
    {"s", k_second},
    {"ms", 1},
}};

const Unit* find_unit(std::string_view name) {
  for (const auto& unit : k_units) {
    if (unit.name == name) {
      return &unit;
    }
  }
  return nullptr;
}

bool is_space(char c) {
  return std::isspace(static_cast<unsigned char>(c)) != 0;
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alpha(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) != 0;
}

} // namespace

Result<milliseconds> parse_duration(std::string_view text) {
  std::size_t pos = 0;
  const auto skip_space = [&] {
    while (pos < text.size() && is_space(text[pos])) {
      ++pos;
    }
  };
  skip_space();
  if (pos == text.size()) {
    return make_error("empty duration: write a number with a unit, {}",
                      k_duration_examples);
  }
  std::int64_t total = 0;
  bool any = false;
  while (pos < text.size()) {
    const std::size_t start = pos;
    if (text[pos] == '-' || text[pos] == '+') {
      return make_error("invalid duration \"{}\": durations have no sign; {}", text,
                        k_duration_examples);
    }
    if (!is_digit(text[pos])) {
      return make_error("invalid duration \"{}\": expected a number at \"{}\"; {}", text,
                        text.substr(pos), k_duration_examples);
    }
    std::int64_t value = 0;
    while (pos < text.size() && is_digit(text[pos])) {
      if (value > (std::numeric_limits<std::int64_t>::max() - 9) / 10) {
        return make_error("invalid duration \"{}\": the number is too large", text);
      }
      value = value * 10 + (text[pos] - '0');
      ++pos;
    }
    if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
      return make_error("invalid duration \"{}\": fractions are not supported; combine "
                        "units instead, e.g. \"1h30m\" rather than \"1.5h\"",
                        text);
    }
    skip_space();
    const std::size_t unit_start = pos;
    while (pos < text.size() && is_alpha(text[pos])) {
      ++pos;
    }
    const std::string_view unit_name = text.substr(unit_start, pos - unit_start);
    if (unit_name.empty()) {
      if (value == 0 && !any && pos == text.size()) {
        return milliseconds(0);
      }
      return make_error(
          "invalid duration \"{}\": \"{}\" needs a unit (ms, s, m, h, d, w); {}", text,
          text.substr(start, unit_start - start), k_duration_examples);
    }
    const Unit* unit = find_unit(unit_name);
    if (unit == nullptr) {
      if (unit_name == "M" || unit_name.starts_with("mon") || unit_name == "y" ||
          unit_name.starts_with("year")) {
        return make_error(
            "invalid duration \"{}\": months and years have no fixed length; "
            "use days (e.g. \"30d\") or a calendar schedule",
            text);
      }
      return make_error(
          "invalid duration \"{}\": unknown unit \"{}\" (use ms, s, m, h, d or "
          "w); {}",
          text, unit_name, k_duration_examples);
    }
    if (value > (std::numeric_limits<std::int64_t>::max() - total) / unit->ms) {
      return make_error("invalid duration \"{}\": the duration is too large", text);
    }
    total += value * unit->ms;
    any = true;
    skip_space();
  }
  return milliseconds(total);
}

std::string format_duration(milliseconds duration) {
  if (duration.count() == 0) {
    return "0";
  }
  std::string out;
  // Work on the magnitude as unsigned so that the minimum value formats too.
  std::uint64_t rest = static_cast<std::uint64_t>(duration.count());
  if (duration.count() < 0) {
    out += '-';
    rest = ~rest + 1;
  }
  for (const auto& unit : k_canonical) {
    const auto size = static_cast<std::uint64_t>(unit.ms);
    if (rest >= size) {
      out += std::to_string(rest / size);
      out += unit.name;
      rest %= size;
    }
  }
  return out;
}

} // namespace stasis::policy
