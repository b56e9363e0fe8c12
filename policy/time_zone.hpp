// Time zone lookup shared by calendar schedules and retention.
//
// Zones come from the operating system's tz database (/usr/share/zoneinfo,
// Debian package tzdata) through Howard Hinnant's date/tz library.
#pragma once

#include "util/result.hpp"

#include <chrono>
#include <string>
#include <string_view>

namespace stasis::policy {

// Checks that `name` names a time zone: "" (the system's local zone), "UTC"
// (any case) or an IANA name such as "Europe/Berlin". Returns the canonical
// spelling ("UTC" for any case of utc, the name unchanged otherwise).
Result<std::string> check_time_zone(std::string_view name);

// A broken-down wall-clock time in some zone.
struct LocalTime {
  int year = 1970;
  unsigned month = 1, day = 1, hour = 0, minute = 0, second = 0;
};

// Converts an instant to the wall-clock time in `zone` ("" = local, see
// check_time_zone). An unknown zone falls back to UTC; validate names with
// check_time_zone first.
LocalTime to_local_time(std::chrono::sys_seconds t, std::string_view zone);

} // namespace stasis::policy
