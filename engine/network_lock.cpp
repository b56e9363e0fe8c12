#include "engine/network_lock.hpp"

#include <system_error>

#include <fmt/format.h>

namespace stasis::engine {

bool dump_needs_network_lock(const DumpOptions& options) {
  if (options.tcp_established) {
    return true;
  }
  std::error_code ours_ec;
  std::error_code theirs_ec;
  const auto ours = std::filesystem::read_symlink("/proc/self/ns/net", ours_ec);
  const auto theirs = std::filesystem::read_symlink(
      fmt::format("/proc/{}/ns/net", options.pid), theirs_ec);
  // When in doubt, lock.
  return ours_ec || theirs_ec || ours != theirs;
}

bool restore_needs_network_lock(const RestoreOptions& options) {
  if (options.tcp_established) {
    return true;
  }
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(options.images_dir, ec)) {
    const auto name = entry.path().filename().string();
    if (name.starts_with("netns-") || name.starts_with("tcp-stream-")) {
      return true;
    }
  }
  return static_cast<bool>(ec);
}

} // namespace stasis::engine
