// The runs' scratch dirs in the state dir, and the lease a daemon holds on it.
//
//   <state>/work/<run>/   a run's work dir: CRIU's images (a dump of a non-root
//                         target is written there by that user), lazy-restore
//                         images while their pages are served
//   <state>/logs/<run>/   CRIU's logs of the run (kept when the run fails)
//   <state>/daemon.lock   flock held by the stasisd that uses the state dir
//
// A run removes its work dir when it ends. A daemon killed meanwhile leaves
// it behind (hundreds of MB of images), with the run's logs: the next daemon
// removes both at its start (no run is in flight then), and fsck does when
// no daemon holds the state dir.
#pragma once

#include "store/fs_util.hpp"

#include <optional>
#include <vector>

namespace stasis::store {

inline constexpr std::string_view k_work_dir_name = "work";
inline constexpr std::string_view k_logs_dir_name = "logs";
inline constexpr std::string_view k_daemon_lock_name = "daemon.lock";

// Deepest directory tree remove_tree() descends into (a user may build any
// tree in the dump dir they own).
inline constexpr int k_max_remove_depth = 64;

// Removes path and everything below it without ever following a symlink:
// each directory is opened relative to its parent with O_NOFOLLOW, symlinks
// are removed as links, and other filesystems mounted below are not entered.
// A missing path is not an error. Returns the bytes freed.
Result<std::uint64_t> remove_tree(const fs::path& path);

// The lease on a state dir that the daemon using it holds for its lifetime:
// while it is held, the state dir's runs may be in flight.
class DaemonLease {
public:
  // Takes the lease without waiting; an error names the process holding it.
  static Result<DaemonLease> acquire(const fs::path& state_dir);
  // The lease, or nullopt while someone else holds it.
  static Result<std::optional<DaemonLease>> try_acquire(const fs::path& state_dir);

  DaemonLease() = default;

private:
  explicit DaemonLease(util::UniqueFd fd) : m_fd(std::move(fd)) {}
  util::UniqueFd m_fd;
};

// What remove_leftover_runs() removed.
struct LeftoverRuns {
  std::vector<std::string> runs; // ids of the runs whose dirs were removed
  std::uint64_t bytes = 0;       // bytes freed
  std::vector<std::string> problems;
};

// Removes the dirs of runs that are not in flight: every work/<run> and the
// logs/<run> of those runs (logs of runs that ended are kept). The lease
// proves that no daemon has runs in flight in state_dir.
LeftoverRuns remove_leftover_runs(const fs::path& state_dir, const DaemonLease& lease);

// The run dirs under state_dir/work (for reporting while a daemon runs).
std::vector<std::string> run_dirs(const fs::path& state_dir);

} // namespace stasis::store
