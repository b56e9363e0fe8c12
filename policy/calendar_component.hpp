// One field of a calendar expression: a year, month, day, hour, minute or
// second pattern (part of CalendarSpec, see calendar.hpp).
#pragma once

#include <string>
#include <vector>

namespace stasis::policy {

// A list of values, ranges and repetitions; empty means "*" (any value).
struct CalendarComponent {
  // "start", "start..stop", "start/repeat" or "start..stop/repeat".
  struct Item {
    int start = 0;
    int stop = -1;  // -1: no upper bound (single value unless repeat > 0)
    int repeat = 0; // 0: no repetition
    auto operator<=>(const Item&) const = default;
  };
  std::vector<Item> items;

  // True when the component matches every value ("*").
  bool any() const { return items.empty(); }
  // True when `value` is matched.
  bool matches(int value) const;
  // Sorts and deduplicates the items, trims range ends to the last value a
  // repetition reaches, and collapses to "*" when all of [min, max] matches.
  void normalize(int min, int max);
  // Formats as in systemd's normalized form, zero-padding values to `width`.
  std::string format(int width) const;

  bool operator==(const CalendarComponent&) const = default;
};

} // namespace stasis::policy
