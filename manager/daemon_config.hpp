// How stasisd builds its manager: the daemon parses its options into a
// DaemonConfig and asks make_manager() for the ManagerApi it exports on D-Bus.
#pragma once

#include "manager/api.hpp"

#include <filesystem>
#include <memory>
#include <optional>

namespace stasis::manager {

// The daemon's settings that the manager needs.
struct DaemonConfig {
  // Directory of job policies (*.yaml), read at start and on Reload.
  std::filesystem::path policy_dir;
  // Directory of the checkpoint store and run history (StateDirectory=stasis).
  std::filesystem::path state_dir;
  // CRIU binary; unset = STASIS_CRIU, the private prefix, then PATH.
  std::optional<std::filesystem::path> criu_path;
  // How many checkpoint/restore runs may execute at the same time.
  unsigned max_concurrent_runs = 2;
};

// Builds the manager of a daemon: loads the policies and opens the store.
// Returns nullptr when the manager cannot start at all (the reason is logged
// on the "manager" logger); stasisd then exits with a failure.
std::unique_ptr<ManagerApi> make_manager(const DaemonConfig& config);

} // namespace stasis::manager
