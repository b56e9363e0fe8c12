// Internal: resolves zone names to date::time_zone objects (policy/ only).
#pragma once

#include <date/tz.h>
#include <string_view>

namespace stasis::policy::detail {

// Returns the zone for `name`: "" is the system's local zone (TZ, then
// /etc/localtime, then UTC), "utc" in any case is UTC, anything else an IANA
// name. Returns nullptr for unknown names.
const date::time_zone* find_time_zone(std::string_view name);

} // namespace stasis::policy::detail
