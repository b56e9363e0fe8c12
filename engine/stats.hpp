// Statistics CRIU writes next to the images (stats-dump, stats-restore).
#pragma once

#include "util/result.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string_view>

namespace stasis::engine {

using Micros = std::chrono::microseconds;

// What a dump or pre-dump cost and wrote.
struct DumpStats {
  Micros freezing_time{0}; // time to freeze the tree
  Micros frozen_time{0};   // how long the tree stayed frozen
  Micros memdump_time{0};  // time to collect memory
  Micros memwrite_time{0}; // time to write memory to the images
  Micros irmap_resolve{0};
  std::uint64_t pages_scanned = 0;
  std::uint64_t pages_skipped_parent = 0; // unchanged since the parent images
  std::uint64_t pages_written = 0;
  std::uint64_t pages_lazy = 0;
  std::uint64_t page_pipes = 0;
  std::uint64_t page_pipe_bufs = 0;
  std::uint64_t shpages_scanned = 0;
  std::uint64_t shpages_skipped_parent = 0;
  std::uint64_t shpages_written = 0;
};

// What a restore cost.
struct RestoreStats {
  Micros forking_time{0}; // time to recreate the process tree
  Micros restore_time{0}; // total restore time
  std::uint64_t pages_compared = 0;
  std::uint64_t pages_skipped_cow = 0;
  std::uint64_t pages_restored = 0;
};

// Image file names CRIU uses for the statistics.
inline constexpr std::string_view k_dump_stats_file = "stats-dump";
inline constexpr std::string_view k_restore_stats_file = "stats-restore";

// Parses the bytes of a stats image: two u32 magics (image service, stats),
// a u32 size, then one StatsEntry message.
Result<DumpStats> parse_dump_stats(std::string_view image);
Result<RestoreStats> parse_restore_stats(std::string_view image);

// Reads images_dir/stats-dump or images_dir/stats-restore.
Result<DumpStats> read_dump_stats(const std::filesystem::path& images_dir);
Result<RestoreStats> read_restore_stats(const std::filesystem::path& images_dir);

} // namespace stasis::engine
