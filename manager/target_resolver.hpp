// Resolving a job's target to the root pid of the process tree to checkpoint.
// (runc/lxc/podman targets are resolved by those runtimes' adapters.)
#pragma once

#include "manager/process_table.hpp"
#include "util/result.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <sys/types.h>
#include <variant>

namespace stasis::manager {

// A process by id; it must exist.
struct PidTarget {
  pid_t pid = 0;
};

// A pid read from a file (e.g. /run/foo.pid); it must exist.
struct PidfileTarget {
  std::filesystem::path path;
};

// Processes matched by ECMAScript regexes searched (not anchored, like pgrep -f)
// in the executable path and the command line, and optionally by user. Among
// the matches, those whose ancestor also matches are dropped; exactly one
// tree root must remain.
struct ProcessTarget {
  std::string exe;     // empty = any executable
  std::string cmdline; // empty = any command line
  std::optional<std::string> user;
};

// The processes of a cgroup (and its sub-cgroups): path absolute under
// /sys/fs/cgroup or relative to the cgroup2 mount. Exactly one member's parent
// must lie outside the cgroup: that is the root.
struct CgroupTarget {
  std::string path;
};

// The MainPID of a systemd service.
struct SystemdUnitTarget {
  std::string unit;
};

using Target = std::variant<PidTarget, PidfileTarget, ProcessTarget, CgroupTarget,
                            SystemdUnitTarget>;

// "pid 42", "pidfile /run/x.pid", "process exe=~nginx user=www", ...
std::string describe(const Target& target);

// Resolves a target to one root pid, or explains why not (listing candidates
// when there are several).
Result<pid_t> resolve_target(const Target& target, const ProcessTable& table);

} // namespace stasis::manager
