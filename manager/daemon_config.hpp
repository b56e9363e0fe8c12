// How stasisd builds its manager: the daemon parses its options (and its
// config file) into a DaemonConfig and asks make_manager() for the ManagerApi
// it exports on D-Bus.
#pragma once

#include "manager/api.hpp"
#include "policy/retention.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>

namespace stasis::manager {

// Names of the settings that limit what users other than root may make
// stasisd do: each is a stasisd option (--NAME) and a key of its config file.
// Errors caused by a limit name its setting.
inline constexpr const char* k_setting_adhoc = "adhoc-checkpoints";
inline constexpr const char* k_setting_max_queued = "max-queued-per-user";
inline constexpr const char* k_setting_max_checkpoints = "max-checkpoints-per-user";
inline constexpr const char* k_setting_max_stored = "max-stored-bytes-per-user";
// The admin setting of what happens to the checkpoints of jobs no policy
// names any more (orphans).
inline constexpr const char* k_setting_orphan_retention = "orphan-retention";
// The admin setting naming the metrics file.
inline constexpr const char* k_setting_metrics_file = "metrics-file";

// The daemon's config file, read when it exists (--config names another).
inline constexpr const char* k_default_config_file = "/etc/stasis/stasisd.conf";

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

  // Whether users other than root may use CheckpointProcess.
  bool adhoc_checkpoints = true;
  // How many runs one user other than root may have queued (not yet running).
  unsigned max_queued_runs_per_user = 8;
  // How many checkpoints a user's ad-hoc job keeps (its retention keep-last),
  // and how many of them the user may pin.
  unsigned max_checkpoints_per_user = 10;
  // How many bytes a user's ad-hoc job may take in the store; 0 = no limit.
  std::uint64_t max_stored_bytes_per_user = 0;

  // Which checkpoints of orphans (jobs of the store no policy names, not
  // ad-hoc jobs) stasisd keeps, applied at start and after each reload;
  // empty = keep them all (keep-all).
  policy::RetentionRules orphan_retention;

  // Where stasisd writes its metrics (Prometheus text format) after every run
  // and change of checkpoints, atomically, for node_exporter's textfile
  // collector; unset = no file.
  std::optional<std::filesystem::path> metrics_file;
};

// Parses the orphan-retention setting: "keep-all" (no rules), "keep-last:N"
// (1..k_max_orphan_keep_last) or "keep-within:DURATION" ("30d").
Result<policy::RetentionRules> parse_orphan_retention(const std::string& text);
// The most checkpoints per orphan the setting may keep by count.
inline constexpr unsigned k_max_orphan_keep_last = 1000;

// Builds the manager of a daemon: loads the policies and opens the store.
// Returns nullptr when the manager cannot start at all (the reason is logged
// on the "manager" logger); stasisd then exits with a failure.
std::unique_ptr<ManagerApi> make_manager(const DaemonConfig& config);

} // namespace stasis::manager
