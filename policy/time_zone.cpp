#include "policy/time_zone.hpp"

#include "policy/time_zone_internal.hpp"

#include <cstdlib>
#include <exception>
#include <string>

namespace stasis::policy {
namespace {

bool is_utc(std::string_view name) {
  if (name.size() != 3) {
    return false;
  }
  for (std::size_t i = 0; i < 3; ++i) {
    if ((name[i] | 0x20) != "utc"[i]) {
      return false;
    }
  }
  return true;
}

const date::time_zone* locate(std::string_view name) {
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    return nullptr;
  }
}

const date::time_zone* local_zone() {
  // Like libc (and systemd), honour TZ before the system setting.
  if (const char* tz = std::getenv("TZ"); tz != nullptr && *tz != '\0') {
    std::string_view name = tz;
    if (name.front() == ':') {
      name.remove_prefix(1);
    }
    if (const auto* zone = locate(name)) {
      return zone;
    }
  }
  try {
    return date::current_zone();
  } catch (const std::exception&) {
    return locate("UTC");
  }
}

} // namespace

namespace detail {

const date::time_zone* find_time_zone(std::string_view name) {
  if (name.empty()) {
    return local_zone();
  }
  if (is_utc(name)) {
    return locate("UTC");
  }
  return locate(name);
}

} // namespace detail

Result<std::string> check_time_zone(std::string_view name) {
  if (name.empty()) {
    return std::string();
  }
  if (is_utc(name)) {
    return std::string("UTC");
  }
  if (detail::find_time_zone(name) == nullptr) {
    return make_error("unknown time zone \"{}\": use UTC or an IANA name from "
                      "/usr/share/zoneinfo such as Europe/Berlin or America/New_York",
                      name);
  }
  return std::string(name);
}

LocalTime to_local_time(std::chrono::sys_seconds t, std::string_view zone) {
  const auto* tz = detail::find_time_zone(zone);
  if (tz == nullptr) {
    tz = detail::find_time_zone("UTC");
  }
  const auto local = tz->to_local(t);
  const auto day = date::floor<date::days>(local);
  const date::year_month_day ymd{day};
  const date::hh_mm_ss tod{local - day};
  return LocalTime{static_cast<int>(ymd.year()),
                   static_cast<unsigned>(ymd.month()),
                   static_cast<unsigned>(ymd.day()),
                   static_cast<unsigned>(tod.hours().count()),
                   static_cast<unsigned>(tod.minutes().count()),
                   static_cast<unsigned>(tod.seconds().count())};
}

} // namespace stasis::policy
