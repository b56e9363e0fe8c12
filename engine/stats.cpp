#include "engine/stats.hpp"

#include "engine/criu_rpc.pb.h"
#include "engine/read_file.hpp"

#include <cstring>

namespace stasis::engine {
namespace {

// Magic numbers at the head of CRIU images (criu/include/magic.h).
constexpr std::uint32_t k_img_service_magic = 0x55105940;
constexpr std::uint32_t k_stats_magic = 0x57093306;
constexpr std::size_t k_header_size = 3 * sizeof(std::uint32_t);

std::uint32_t read_u32(std::string_view bytes, std::size_t offset) {
  std::uint32_t value;
  std::memcpy(&value, bytes.data() + offset, sizeof(value)); // images are host-endian
  return value;
}

Result<wire::StatsEntry> parse_entry(std::string_view image) {
  if (image.size() < k_header_size) {
    return make_error("stats image is truncated ({} bytes)", image.size());
  }
  if (read_u32(image, 0) != k_img_service_magic || read_u32(image, 4) != k_stats_magic) {
    return make_error("not a CRIU stats image (magic {:#x} {:#x})", read_u32(image, 0),
                      read_u32(image, 4));
  }
  const std::uint32_t size = read_u32(image, 8);
  if (size > image.size() - k_header_size) {
    return make_error("stats image is truncated (entry of {} bytes, {} present)", size,
                      image.size() - k_header_size);
  }
  wire::StatsEntry entry;
  if (!entry.ParseFromArray(image.data() + k_header_size, static_cast<int>(size))) {
    return make_error("stats image holds no valid stats entry");
  }
  return entry;
}

} // namespace

Result<DumpStats> parse_dump_stats(std::string_view image) {
  auto entry = STASIS_TRY(parse_entry(image));
  if (!entry.has_dump()) {
    return make_error("stats image has no dump statistics");
  }
  const auto& d = entry.dump();
  DumpStats stats;
  stats.freezing_time = Micros(d.freezing_time());
  stats.frozen_time = Micros(d.frozen_time());
  stats.memdump_time = Micros(d.memdump_time());
  stats.memwrite_time = Micros(d.memwrite_time());
  stats.irmap_resolve = Micros(d.irmap_resolve());
  stats.pages_scanned = d.pages_scanned();
  stats.pages_skipped_parent = d.pages_skipped_parent();
  stats.pages_written = d.pages_written();
  stats.pages_lazy = d.pages_lazy();
  stats.page_pipes = d.page_pipes();
  stats.page_pipe_bufs = d.page_pipe_bufs();
  stats.shpages_scanned = d.shpages_scanned();
  stats.shpages_skipped_parent = d.shpages_skipped_parent();
  stats.shpages_written = d.shpages_written();
  return stats;
}

Result<RestoreStats> parse_restore_stats(std::string_view image) {
  auto entry = STASIS_TRY(parse_entry(image));
  if (!entry.has_restore()) {
    return make_error("stats image has no restore statistics");
  }
  const auto& r = entry.restore();
  RestoreStats stats;
  stats.forking_time = Micros(r.forking_time());
  stats.restore_time = Micros(r.restore_time());
  stats.pages_compared = r.pages_compared();
  stats.pages_skipped_cow = r.pages_skipped_cow();
  stats.pages_restored = r.pages_restored();
  return stats;
}

Result<DumpStats> read_dump_stats(const std::filesystem::path& images_dir) {
  const auto file = images_dir / k_dump_stats_file;
  auto bytes = STASIS_TRY(read_file(file, 1024 * 1024));
  auto stats = parse_dump_stats(bytes);
  if (!stats) {
    return make_error("{}: {}", file.string(), stats.error().message);
  }
  return stats;
}

Result<RestoreStats> read_restore_stats(const std::filesystem::path& images_dir) {
  const auto file = images_dir / k_restore_stats_file;
  auto bytes = STASIS_TRY(read_file(file, 1024 * 1024));
  auto stats = parse_restore_stats(bytes);
  if (!stats) {
    return make_error("{}: {}", file.string(), stats.error().message);
  }
  return stats;
}

} // namespace stasis::engine
