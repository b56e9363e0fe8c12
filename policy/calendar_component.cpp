#include "policy/calendar_component.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace stasis::policy {
namespace {

bool item_matches(const CalendarComponent::Item& item, int value) {
  if (value < item.start) {
    return false;
  }
  if (item.stop >= 0 && value > item.stop) {
    return false;
  }
  if (item.repeat > 0) {
    return (value - item.start) % item.repeat == 0;
  }
  return item.stop >= 0 || value == item.start;
}

} // namespace

bool CalendarComponent::matches(int value) const {
  if (items.empty()) {
    return true;
  }
  return std::any_of(items.begin(), items.end(),
                     [value](const Item& item) { return item_matches(item, value); });
}

void CalendarComponent::normalize(int min, int max) {
  for (auto& item : items) {
    if (item.stop >= 0 && item.repeat > 0) {
      item.stop = item.start + (item.stop - item.start) / item.repeat * item.repeat;
    }
    if (item.stop >= 0 && item.repeat == 1) {
      item.repeat = 0;
    }
    if (item.stop == item.start) {
      item.stop = -1;
      item.repeat = 0;
    }
  }
  std::sort(items.begin(), items.end());
  items.erase(std::unique(items.begin(), items.end()), items.end());
  bool all = true;
  for (int value = min; value <= max && all; ++value) {
    all = matches(value);
  }
  if (all) {
    items.clear();
  }
}

std::string CalendarComponent::format(int width) const {
  if (items.empty()) {
    return "*";
  }
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) {
      out += ',';
    }
    out += fmt::format("{:0{}}", item.start, width);
    if (item.stop >= 0) {
      out += fmt::format("..{:0{}}", item.stop, width);
    }
    if (item.repeat > 0) {
      out += fmt::format("/{}", item.repeat);
    }
  }
  return out;
}

} // namespace stasis::policy
