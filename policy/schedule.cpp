#include "policy/schedule.hpp"

namespace stasis::policy {
namespace {

// The interval in whole seconds, at least one.
std::chrono::seconds interval_seconds(std::chrono::milliseconds every) {
  const auto seconds = std::chrono::ceil<std::chrono::seconds>(every);
  return seconds.count() < 1 ? std::chrono::seconds{1} : seconds;
}

} // namespace

std::optional<std::chrono::sys_seconds>
Schedule::next_after(std::chrono::sys_seconds after,
                     std::optional<std::chrono::sys_seconds> last_run) const {
  switch (kind) {
  case Kind::OnDemand:
    return std::nullopt;
  case Kind::Every: {
    if (!last_run) {
      return after;
    }
    const auto step = interval_seconds(every);
    if (*last_run + step > after) {
      return *last_run + step;
    }
    const auto periods = (after - *last_run) / step + 1;
    return *last_run + periods * step;
  }
  case Kind::Calendar:
    if (!calendar) {
      return std::nullopt;
    }
    return calendar->next_after(after);
  }
  return std::nullopt;
}

bool Schedule::missed_run(std::optional<std::chrono::sys_seconds> last_run,
                          std::chrono::sys_seconds now) const {
  if (!persistent || !last_run) {
    return false;
  }
  switch (kind) {
  case Kind::OnDemand:
    return false;
  case Kind::Every:
    return *last_run + interval_seconds(every) <= now;
  case Kind::Calendar: {
    if (!calendar) {
      return false;
    }
    const auto due = calendar->next_after(*last_run);
    return due && *due <= now;
  }
  }
  return false;
}

} // namespace stasis::policy
