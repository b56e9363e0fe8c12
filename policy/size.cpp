#include "policy/duration.hpp"

#include <array>
#include <cctype>
#include <limits>

#include <fmt/format.h>

namespace stasis::policy {
namespace {

constexpr std::string_view k_size_examples =
    "e.g. \"512\", \"10K\", \"1.5G\", \"2GiB\" or \"100MB\"";

struct SizeUnit {
  std::string_view name; // lower case
  std::uint64_t factor;
};

constexpr std::uint64_t k_kib = 1024;
constexpr std::uint64_t k_kb = 1000;

constexpr std::array<SizeUnit, 16> k_size_units = {{
    {"b", 1},
    {"k", k_kib},
    {"m", k_kib* k_kib},
    {"g", k_kib* k_kib* k_kib},
    {"t", k_kib* k_kib* k_kib* k_kib},
    {"p", k_kib* k_kib* k_kib* k_kib* k_kib},
    {"kib", k_kib},
    {"mib", k_kib* k_kib},
    {"gib", k_kib* k_kib* k_kib},
    {"tib", k_kib* k_kib* k_kib* k_kib},
    {"pib", k_kib* k_kib* k_kib* k_kib* k_kib},
    {"kb", k_kb},
    {"mb", k_kb* k_kb},
    {"gb", k_kb* k_kb* k_kb},
    {"tb", k_kb* k_kb* k_kb* k_kb},
    {"pb", k_kb* k_kb* k_kb* k_kb* k_kb},
}};

constexpr std::array<std::string_view, 6> k_binary_names = {"B",   "KiB", "MiB",
                                                            "GiB", "TiB", "PiB"};

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

} // namespace

Result<std::uint64_t> parse_size(std::string_view text) {
  std::size_t pos = 0;
  while (pos < text.size() && text[pos] == ' ') {
    ++pos;
  }
  while (!text.empty() && text.back() == ' ') {
    text.remove_suffix(1);
  }
  if (pos == text.size()) {
    return make_error("empty size: write a number with an optional unit, {}",
                      k_size_examples);
  }
  if (!is_digit(text[pos])) {
    return make_error("invalid size \"{}\": expected a number at \"{}\"; {}", text,
                      text.substr(pos), k_size_examples);
  }
  // The value is kept as an exact fraction: whole + digits / scale.
  unsigned __int128 mantissa = 0;
  unsigned __int128 scale = 1;
  constexpr unsigned __int128 k_limit = static_cast<unsigned __int128>(1) << 70;
  while (pos < text.size() && is_digit(text[pos])) {
    mantissa = mantissa * 10 + static_cast<unsigned>(text[pos] - '0');
    if (mantissa > k_limit) {
      return make_error("invalid size \"{}\": the number is too large", text);
    }
    ++pos;
  }
  bool fraction = false;
  if (pos < text.size() && text[pos] == '.') {
    fraction = true;
    ++pos;
    if (pos == text.size() || !is_digit(text[pos])) {
      return make_error(
          "invalid size \"{}\": expected digits after the decimal point; {}", text,
          k_size_examples);
    }
    while (pos < text.size() && is_digit(text[pos])) {
      if (scale < k_limit / 10 && mantissa < k_limit / 10) {
        mantissa = mantissa * 10 + static_cast<unsigned>(text[pos] - '0');
        scale *= 10;
      }
      ++pos;
    }
  }
  if (pos < text.size() && text[pos] == ' ') {
    ++pos;
  }
  std::string unit;
  for (; pos < text.size(); ++pos) {
    unit += static_cast<char>(std::tolower(static_cast<unsigned char>(text[pos])));
  }
  std::uint64_t factor = 0;
  if (unit.empty()) {
    factor = 1;
  } else {
    for (const auto& candidate : k_size_units) {
      if (candidate.name == unit) {
        factor = candidate.factor;
      }
    }
  }
  if (factor == 0) {
    return make_error("invalid size \"{}\": unknown unit \"{}\" (use B, K/M/G/T/P or "
                      "KiB/MiB/GiB/TiB/PiB for powers of 1024, KB/MB/GB/TB/PB for "
                      "powers of 1000); {}",
                      text, text.substr(text.size() - unit.size()), k_size_examples);
  }
  if (fraction && factor == 1) {
    return make_error("invalid size \"{}\": a byte count must be a whole number; use a "
                      "unit for fractions, e.g. \"1.5G\"",
                      text);
  }
  const unsigned __int128 bytes = mantissa * factor / scale;
  if (bytes > std::numeric_limits<std::uint64_t>::max()) {
    return make_error("invalid size \"{}\": larger than the largest size (16 EiB)", text);
  }
  return static_cast<std::uint64_t>(bytes);
}

std::string format_size(std::uint64_t bytes) {
  std::size_t index = 0;
  long double value = static_cast<long double>(bytes);
  while (index + 1 < k_binary_names.size() && value >= 1024.0L) {
    value /= 1024.0L;
    ++index;
  }
  if (index == 0) {
    return fmt::format("{} B", bytes);
  }
  // Two decimals, trailing zeros dropped; rounding up to 1024 moves one unit up.
  std::string number = fmt::format("{:.2f}", static_cast<double>(value));
  if (number == "1024.00" && index + 1 < k_binary_names.size()) {
    number = "1.00";
    ++index;
  }
  while (number.back() == '0') {
    number.pop_back();
  }
  if (number.back() == '.') {
    number.pop_back();
  }
  return fmt::format("{} {}", number, k_binary_names[index]);
}

} // namespace stasis::policy
