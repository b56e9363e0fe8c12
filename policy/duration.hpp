// Durations and sizes as written in policies.
//
// Duration grammar (whitespace between parts is allowed and ignored):
//
//   duration := "0" | part { part }
//   part     := digits unit
//   digits   := [0-9]+
//   unit     := "ms" | "msec"                              milliseconds
//             | "s"  | "sec"  | "second" | "seconds"        seconds
//             | "m"  | "min"  | "minute" | "minutes"        minutes
//             | "h"  | "hr"   | "hour"   | "hours"          hours
//             | "d"  | "day"  | "days"                      days (24 h)
//             | "w"  | "week" | "weeks"                     weeks (7 d)
//
// Parts are added up, so "1h30m" == "90m" == "5400s". Units are lower case.
// There are no fractions ("1.5h": write "1h30m"), no signs, and no months or
// years (they have no fixed length: use days, or a calendar schedule).
// A bare number other than "0" is an error (the unit must be explicit).
// The canonical form (format_duration) lists w d h m s ms from largest to
// smallest without spaces, skipping zero parts: "1w2d3h4m5s6ms", "0".
//
// Size grammar:
//
//   size   := number [" "] [unit]
//   number := digits ["." digits]
//   unit   := "B"                               bytes (also no unit)
//           | "K" | "M" | "G" | "T" | "P"       powers of 1024
//           | "KiB" | "MiB" | "GiB" | "TiB" | "PiB"   powers of 1024
//           | "KB" | "MB" | "GB" | "TB" | "PB"  powers of 1000
//
// Unit letters are case-insensitive ("10k", "2gib", "100mb"). Fractions are
// allowed with a unit and rounded down to whole bytes ("1.5G" is 1610612736).
#pragma once

#include "util/result.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace stasis::policy {

// Parses a duration such as "90s", "1h30m", "2d" or "500ms" (grammar above).
// Errors name the offending part and show valid examples.
Result<std::chrono::milliseconds> parse_duration(std::string_view text);

// Formats a duration canonically ("1h30m", "0"); parse_duration reads it back
// to the same value. Negative durations get a leading '-' (not parseable).
std::string format_duration(std::chrono::milliseconds duration);

// Parses a size such as "512", "10K", "1.5G", "2GiB" or "100MB" into bytes
// (grammar above). Errors name the offending part and show valid examples.
Result<std::uint64_t> parse_size(std::string_view text);

// Formats a byte count for people with binary units and at most two decimals:
// "512 B", "1.5 GiB", "10 MiB". parse_size reads it back (exactly when the
// value has at most two decimals in that unit).
std::string format_size(std::uint64_t bytes);

} // namespace stasis::policy
