// The seam between target resolution and the system: processes from /proc,
// cgroup members, and systemd units' main pids. Unit tests use a fake.
#pragma once

#include "util/result.hpp"

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace stasis::manager {

// Command lines are the processes' users' to choose (up to the kernel's 2 MB
// and more): only their first k_max_cmdline_bytes are read and matched.
inline constexpr std::size_t k_max_cmdline_bytes = 32 * 1024;

// One process as target resolution sees it.
struct ProcessEntry {
  pid_t pid = 0;
  pid_t ppid = 0;
  uid_t uid = 0;       // real uid
  std::string exe;     // /proc/PID/exe target; empty if unreadable
  std::string cmdline; // arguments joined with spaces, cut at k_max_cmdline_bytes
  bool kernel_thread = false;
};

class ProcessTable {
public:
  virtual ~ProcessTable() = default;

  // Every process of the system.
  virtual std::vector<ProcessEntry> processes() const = 0;

  // One process, or nothing if it does not exist.
  virtual std::optional<ProcessEntry> process(pid_t pid) const = 0;

  // The pids in a cgroup and its descendants. path is absolute under
  // /sys/fs/cgroup, or relative to the cgroup2 mount.
  virtual Result<std::vector<pid_t>> cgroup_members(const std::string& path) const = 0;

  // The MainPID of a systemd service unit, over the system bus.
  virtual Result<pid_t> systemd_main_pid(const std::string& unit) const = 0;

  // Succeeds when the process is uid's own as CheckpointProcess understands
  // it (check_own_process: all four uids, the host's user namespace).
  virtual Result<void> check_owned_by(pid_t pid, uid_t uid) const = 0;
};

// The real thing: /proc, the cgroup file system, systemd over D-Bus.
class LinuxProcessTable final : public ProcessTable {
public:
  explicit LinuxProcessTable(std::filesystem::path proc_root = "/proc")
      : m_proc(std::move(proc_root)) {}

  std::vector<ProcessEntry> processes() const override;
  std::optional<ProcessEntry> process(pid_t pid) const override;
  Result<std::vector<pid_t>> cgroup_members(const std::string& path) const override;
  Result<pid_t> systemd_main_pid(const std::string& unit) const override;
  Result<void> check_owned_by(pid_t pid, uid_t uid) const override;

  // Where cgroup2 is mounted (from mountinfo), else /sys/fs/cgroup.
  std::filesystem::path cgroup2_mount() const;

private:
  std::filesystem::path m_proc;
};

} // namespace stasis::manager
