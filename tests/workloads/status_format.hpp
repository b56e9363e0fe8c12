// The on-disk form of a workload's status file, shared by the workloads (writer)
// and tests/support (reader).
//
// The file always has exactly k_status_size bytes: `key=value` lines, then an
// `end=<checksum of the lines before it>` line, then '\n' padding. A workload
// rewrites it in place (open, pwrite, close) and never renames or truncates it,
// so a dump that freezes the workload while the file is open records a path
// that still exists with the same size at restore time. (A temp file renamed
// into place would be gone by then, and CRIU refuses a restore whose open file
// is missing or changed size.) A reader that catches a write half done sees a
// checksum mismatch and reads again.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace stasis::workloads {

inline constexpr std::size_t k_status_size = 4096;
inline constexpr std::string_view k_status_end_key = "end=";

// FNV-1a over the text; written in hex after "end=".
inline std::string status_checksum(std::string_view text) {
  std::uint64_t h = 14695981039346656037ULL;
  for (const char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = digits[h & 0xf];
    h >>= 4;
  }
  return out;
}

} // namespace stasis::workloads
